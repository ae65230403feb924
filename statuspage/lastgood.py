"""The public reads outlive PostgreSQL and Redis: each process keeps the last good rendering.

`last_good` wraps a public read view (page, incident page, history, v2 JSON, live.json, feeds,
phone line, handout). Every 200 it answers is remembered per (page address, path, language) in
memory and on local disk. The view runs under a time budget (`PUBLIC_READ_SECONDS`, in a small
thread pool, so a hanging socket cannot hold the visitor); when it fails because a part is down
or hangs, or while the database's circuit breaker is open, the visitor gets the last good copy,
saying how old it is ("Last updated 14:05 — we are having trouble updating this page"), and
proxies/CDNs are allowed `stale-if-error`. With no copy at all the answer is a 503 that says so,
never a 500.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import functools
import gzip
import hashlib
import json
import logging
import os
import pickle
import tempfile
import threading
import time
import zoneinfo
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections, connection
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control
from django.utils.html import escape
from django.utils.translation import gettext as _

from . import resilience
from .pages import visitor_language

log = logging.getLogger(__name__)

# The HTML templates leave this comment where the stale notice goes (base.html).
NOTICE_MARK = b"<!--stale-notice-->"
MEMORY_ENTRIES = 2000
DISK_REFRESH_SECONDS = 60


@dataclass
class Copy:
    """One remembered response: what a visitor in `language` got for one address."""

    body: bytes
    content_type: str
    encoding: str  # "" or "gzip"
    language: str
    time_zone: str
    built_at: float  # when a fresh build last produced (or confirmed) this body
    written_at: float = 0.0  # when it last went to disk


@dataclass
class Place:
    """The copies of one address (page and path), by language, and the page's default one."""

    default_language: str = "en"
    copies: dict[str, Copy] = field(default_factory=dict)


_memory: OrderedDict[str, Place] = OrderedDict()
_lock = threading.Lock()
_pool: concurrent.futures.ThreadPoolExecutor | None = None
_in_flight = 0


def forget() -> None:
    """Drop this process's copies (tests)."""
    with _lock:
        _memory.clear()


def address(request, slug: str | None) -> str:
    """The key of a public address: `/p/<slug>/...` anywhere, the host too for root routes."""
    path = request.get_full_path()
    return path if slug is not None else f"{request.get_host().lower()}{path}"


def _storable(request) -> bool:
    # Only the addresses a page links to: a query string other than ?lang= is not remembered
    # (anyone could otherwise fill the disk with made-up ones).
    query = request.META.get("QUERY_STRING", "")
    return not query or (query.startswith("lang=") and len(query) <= 10)


# --- the two stores ------------------------------------------------------------------------


def _disk_path(key: str) -> Path:
    name = hashlib.blake2s(key.encode(), digest_size=16).hexdigest()
    return Path(settings.LAST_GOOD_DIR) / name[:2] / f"{name}.pickle"


def _load(key: str) -> Place | None:
    with _lock:
        place = _memory.get(key)
        if place is not None:
            _memory.move_to_end(key)
            return place
    try:
        with open(_disk_path(key), "rb") as file:
            place = pickle.load(file)  # noqa: S301 - our own files, written below
    except FileNotFoundError:
        return None
    except Exception:  # noqa: BLE001 - a damaged file is no copy, never an error page
        log.warning("unreadable last good copy for %s", key, exc_info=True)
        return None
    with _lock:
        _memory[key] = place
    return place


def _write(key: str, place: Place) -> None:
    path = _disk_path(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as file:
            pickle.dump(place, file, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(file.name, path)  # atomic: a reader sees the old copy or the new one
    except OSError:
        log.warning("could not keep the last good copy of %s on disk", key, exc_info=True)


def remember(key: str, request, response) -> None:
    """Keep a fresh 200 as this address's last good copy (disk at most once a minute)."""
    if response.status_code != 200 or response.streaming or not _storable(request):
        return
    page = getattr(request, "status_page", None)
    language = response.get("Content-Language") or getattr(request, "LANGUAGE_CODE", "en")
    now = time.time()
    with _lock:
        place = _memory.get(key)
        if place is None:
            place = _memory[key] = Place()
            if len(_memory) > MEMORY_ENTRIES:
                _memory.popitem(last=False)
        _memory.move_to_end(key)
        if page is not None:
            place.default_language = page.default_language
        copy = place.copies.get(language)
        if copy is not None and copy.body == response.content:
            copy.built_at = now
            if now - copy.written_at < DISK_REFRESH_SECONDS:
                return
        else:
            copy = place.copies[language] = Copy(
                body=response.content,
                content_type=response.get("Content-Type", "text/html; charset=utf-8"),
                encoding=response.get("Content-Encoding", ""),
                language=language,
                time_zone=page.time_zone if page is not None else "UTC",
                built_at=now,
            )
        copy.written_at = now
        snapshot = Place(default_language=place.default_language, copies=dict(place.copies))
    _write(key, snapshot)


# --- serving a copy ------------------------------------------------------------------------


def notice(copy: Copy, language: str) -> tuple[str, str]:
    """("HH:MM" in the page's time zone, the sentence in the visitor's `language`)."""
    tz: dt.tzinfo
    try:
        tz = zoneinfo.ZoneInfo(copy.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = dt.UTC
    built = dt.datetime.fromtimestamp(copy.built_at, tz=dt.UTC).astimezone(tz)
    minute = built.strftime("%H:%M")
    if built.date() != timezone.now().astimezone(tz).date():
        minute = built.strftime("%Y-%m-%d %H:%M")
    with translation.override(language):
        text = _("Last updated %(time)s — we are having trouble updating this page") % {
            "time": minute
        }
    return minute, text


def _body(copy: Copy, language: str, gzip_ok: bool) -> tuple[bytes, str]:
    """The copy's body with the notice in it (HTML, JSON), and its encoding for this client."""
    _minute, sentence = notice(copy, language)
    body, encoding = copy.body, copy.encoding
    kind = copy.content_type.split(";")[0].strip()
    if kind in ("text/html", "application/json"):
        if encoding == "gzip":
            body, encoding = gzip.decompress(body), ""
        if kind == "text/html":
            banner = (
                f'<p class="stale-notice" role="status" lang="{language}">{escape(sentence)}</p>'
            )
            body = body.replace(NOTICE_MARK, banner.encode(), 1)
        else:
            try:
                document = json.loads(body)
            except ValueError:
                document = None
            if isinstance(document, dict):
                built = dt.datetime.fromtimestamp(copy.built_at, tz=dt.UTC)
                document["stale"] = {"last_updated": built.isoformat(), "message": sentence}
                body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    if encoding == "gzip" and not gzip_ok:
        body, encoding = gzip.decompress(body), ""
    return body, encoding


def stale_response(request, key: str) -> HttpResponse | None:
    """The last good copy of this address for this visitor, marked as stale; None if none."""
    place = _load(key)
    if place is None or not place.copies:
        return None
    language = visitor_language(request, place.default_language)
    copy = place.copies.get(language) or next(iter(place.copies.values()))
    gzip_ok = "gzip" in request.headers.get("Accept-Encoding", "")
    body, encoding = _body(copy, language, gzip_ok)
    response = HttpResponse(body, content_type=copy.content_type)
    if encoding:
        response["Content-Encoding"] = encoding
    built = dt.datetime.fromtimestamp(copy.built_at, tz=dt.UTC)
    response["Content-Language"] = copy.language
    response["Last-Modified"] = built.strftime("%a, %d %b %Y %H:%M:%S GMT")
    response["Age"] = str(max(0, int(time.time() - copy.built_at)))
    response["X-Status-Page-Stale"] = built.isoformat()
    response["Vary"] = "Accept-Encoding, Accept-Language, Cookie"
    # A copy we know is old: shared caches keep it only briefly, then ask us again.
    response["Cache-Control"] = (
        f"public, max-age=0, s-maxage=5, stale-if-error={settings.STALE_IF_ERROR_SECONDS}"
    )
    return response


def unavailable_response(request) -> HttpResponse:
    """No copy anywhere: say so (503 with Retry-After), in the visitor's language."""
    language = visitor_language(request, settings.LANGUAGE_CODE)
    with translation.override(language):
        message = _(
            "This status page cannot be shown right now because we are having trouble with "
            "our own systems. Please try again in a minute."
        )
        response: HttpResponse
        if request.path.endswith(".json"):
            response = JsonResponse({"message": message, "code": "unavailable"}, status=503)
        elif request.path.endswith(".txt"):
            response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
        else:
            response = HttpResponse(
                render_to_string("statuspage/unavailable.html", {"message": message}),
                status=503,
            )
    response["Retry-After"] = "30"
    response["Cache-Control"] = "no-store"
    response["Content-Language"] = language
    return response


# --- running the view under a time budget ---------------------------------------------------


def _executor() -> concurrent.futures.ThreadPoolExecutor:
    global _pool
    if _pool is None:
        with _lock:
            if _pool is None:
                _pool = concurrent.futures.ThreadPoolExecutor(
                    max_workers=settings.PUBLIC_READ_THREADS, thread_name_prefix="public-read"
                )
    return _pool


def _in_pool(key: str, language: str, view, request, args, kwargs):
    global _in_flight
    close_old_connections()  # as at the start and end of a request
    try:
        with translation.override(language):
            response = view(request, *args, **kwargs)
        # Kept even when the visitor stopped waiting: the next one gets it fresh.
        remember(key, request, response)
        return response
    finally:
        close_old_connections()
        with _lock:
            _in_flight -= 1


class Late(resilience.ReadTimeout):
    """The build did not finish within the budget; `future` may still bring it."""

    def __init__(self, message: str, future: concurrent.futures.Future):
        super().__init__(message)
        self.future = future


def _build(key: str, view, request, args, kwargs):
    """Run the view, within `PUBLIC_READ_SECONDS` unless it must run inline.

    Inline when the budget is 0, or inside a transaction (a test's), whose data another
    thread's connection could not see.
    """
    global _in_flight
    budget = settings.PUBLIC_READ_SECONDS
    if not budget or connection.in_atomic_block:
        response = view(request, *args, **kwargs)
        remember(key, request, response)
        return response
    with _lock:
        if _in_flight >= settings.PUBLIC_READ_THREADS:
            # Every builder is stuck on a hanging part: do not queue behind them.
            raise resilience.ReadTimeout("every public-read thread is busy")
        _in_flight += 1
    language = translation.get_language()
    try:
        future = _executor().submit(_in_pool, key, language, view, request, args, kwargs)
    except RuntimeError:  # interpreter shutting down
        with _lock:
            _in_flight -= 1
        return view(request, *args, **kwargs)
    try:
        return future.result(timeout=budget)
    except concurrent.futures.TimeoutError as exc:
        raise Late(f"not built within {budget}s", future) from exc


def last_good(view):
    """Serve a public read view fresh when the parts answer, else from its last good copy."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        key = address(request, kwargs.get("slug"))
        breaker = resilience.database
        if breaker.opened:
            # Known to be down: do not make the visitor wait for it (with no copy, try).
            stale = stale_response(request, key)
            if stale is not None:
                return stale
        try:
            response = _build(key, view, request, args, kwargs)
        except resilience.PART_DOWN as exc:
            if isinstance(exc, resilience.DATABASE_DOWN):
                resilience.failed(breaker, exc)
            else:
                log.warning("public read of %s: %s", key, exc)
            stale = stale_response(request, key)
            if stale is not None:
                return stale
            if not isinstance(exc, Late):
                return unavailable_response(request)
            # Nothing to fall back on (a cold process): better late than a 503.
            try:
                response = exc.future.result(timeout=settings.PUBLIC_READ_PATIENCE_SECONDS)
            except (concurrent.futures.TimeoutError, *resilience.PART_DOWN):
                return unavailable_response(request)
        if not breaker.closed:
            resilience.succeeded(breaker)
        if response.status_code in (200, 304):  # a 304 refreshes the 200's headers in caches
            patch_cache_control(response, stale_if_error=settings.STALE_IF_ERROR_SECONDS)
        return response

    return wrapper
