"""The public site: the status page, an incident's permalink page, and the incident history."""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import hashlib
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseNotModified,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from incidents.hours import line_state
from incidents.models import Page, SupportHours
from incidents.snapshot import (
    PageSnapshot,
    incident_detail,
    incident_history,
    page_snapshot,
    version_stamp_key,
)

from .fastpath import Rendering
from .live import live_etag, live_state, status_sections
from .pages import RESOLVE_TTL, SUPPORTED, PageRequest, page_view


def hours_rows(snapshot: PageSnapshot) -> list[dict[str, Any]]:
    """Opening hours per weekday, e.g. {'day': 'Monday', 'office': ['08:00–17:30'], ...}."""
    hours = snapshot.page.support.hours
    return [
        {
            "day": label,
            **{
                line: [
                    f"{h.opens}–{h.closes}"
                    for h in hours
                    if h.line == line and h.weekday == weekday
                ]
                for line in SupportHours.Line.values
            },
        }
        for weekday, label in SupportHours.Weekday.choices
    ]


# How long the list of pages (with their versions) is kept: a sibling's status in a header
# is at most this much older than its own page (plus the page's one-minute HTML cache).
SIBLINGS_SECONDS = 10
# A page's indicator at one version never changes; kept a while for the other pages' headers.
INDICATOR_SECONDS = 3600


def _page_list() -> list[dict[str, Any]]:
    pages = cache.get("public:siblings")
    if pages is None:
        pages = list(
            Page.objects.order_by("name").values("pk", "slug", "name", "created_at", "version")
        )
        cache.set("public:siblings", pages, SIBLINGS_SECONDS)
    return pages


def other_pages(page: Page) -> list[dict[str, str]]:
    """Links to the installation's other pages (from the cached list of pages)."""
    return [{"slug": p["slug"], "name": p["name"]} for p in _page_list() if p["slug"] != page.slug]


def siblings_version() -> str:
    """Names the versions of all pages (from the cached list): part of a page's HTML cache
    key, so a sibling's change shows in the header within SIBLINGS_SECONDS."""
    return hashlib.blake2s(
        repr([(p["pk"], p["version"]) for p in _page_list()]).encode(), digest_size=6
    ).hexdigest()


def sibling_pages(page: Page, *, include_self: bool = False) -> list[dict[str, Any]]:
    """The installation's other pages with their overall status (indicator), for the header.

    No query per sibling on a cache hit: the list of pages is cached (one query every
    SIBLINGS_SECONDS), and each page's indicator is kept under its version beside its snapshot,
    all read in one `get_many`; a sibling's snapshot is read (or built) only on a miss.
    """
    from incidents.snapshot import _cache_key, _cached

    entries = [e for e in _page_list() if include_self or e["slug"] != page.slug]
    keys = {}
    for entry in entries:
        stub = Page(pk=entry["pk"], created_at=entry["created_at"], version=entry["version"])
        keys[entry["pk"]] = (stub, f"indicator:{stub.cache_key}")
    known = cache.get_many([key for _stub, key in keys.values()])
    siblings = []
    for entry in entries:
        stub, key = keys[entry["pk"]]
        indicator = known.get(key)
        if indicator is None:
            snapshot = _cached(_cache_key(stub, "page"), PageSnapshot)
            if snapshot is None:
                full = Page.objects.filter(pk=entry["pk"]).first()
                snapshot = page_snapshot(full) if full is not None else None
            indicator = snapshot.indicator if snapshot is not None else "none"
            cache.set(key, indicator, INDICATOR_SECONDS)
        siblings.append({"slug": entry["slug"], "name": entry["name"], "indicator": indicator})
    return siblings


def page_context(request: PageRequest, page: Page, snapshot: PageSnapshot) -> dict[str, Any]:
    """What every public page template gets: the snapshot and the pieces derived from it."""
    now = timezone.now()
    return {
        "page": snapshot.page,
        "snapshot": snapshot,
        "prefix": request.page_prefix,
        "indicator": snapshot.indicator,
        "office": line_state(snapshot.page, SupportHours.Line.OFFICE, now),
        "after_hours": line_state(snapshot.page, SupportHours.Line.AFTER_HOURS, now),
        "hours_rows": hours_rows(snapshot),
        "other_pages": sibling_pages(page),
        "languages": [(code, name) for code, name in settings.LANGUAGES if code in SUPPORTED],
    }


def cached_html(view):
    """Serve a public page's HTML rendered once per (page version, language, path, minute).

    The minute keeps time-relative parts (support desk open/closed, "recently resolved")
    current; the version makes any change visible at once. Browsers revalidate with the ETag
    (a 304 costs one query); shared caches may keep the page `PUBLIC_CACHE_SECONDS`.
    """

    @functools.wraps(view)
    def wrapper(request, page: Page, *args, **kwargs):
        minute = int(time.time() // 60)
        key = (
            f"html:{page.cache_key}:{translation.get_language()}:"
            f"{request.page_prefix}:{request.path}:{minute}:{siblings_version()}"
        )
        digest = hashlib.blake2s(key.encode(), digest_size=12).hexdigest()
        etag = f'"{digest}"'
        gzip_ok = "gzip" in request.headers.get("Accept-Encoding", "")
        response: HttpResponse
        if etag in request.headers.get("If-None-Match", ""):
            response = HttpResponseNotModified()
        else:
            bodies = cache.get(key)
            if bodies is None:
                rendered = view(request, page, *args, **kwargs)
                if rendered.status_code != 200:
                    return rendered
                # Compressed once here, not per request: the uptime bars make the HTML long
                # but very repetitive (150 KB -> about 8 KB).
                bodies = (rendered.content, gzip.compress(rendered.content, compresslevel=6))
                cache.set(key, bodies, 120)
            response = HttpResponse(bodies[gzip_ok], content_type="text/html; charset=utf-8")
            if gzip_ok:
                response["Content-Encoding"] = "gzip"
            # What the fast path (first middleware) may answer the next requests with.
            expires = float((minute + 1) * 60)
            if request.page_prefix == "/":  # a host's page: re-resolved as the lookup does
                expires = min(expires, time.time() + RESOLVE_TTL)
            response.public_rendering = Rendering(  # type: ignore[attr-defined]
                stamp_key=version_stamp_key(page),
                stamp=page.cache_key,
                default_language=page.default_language,
                language=translation.get_language(),
                etag=etag,
                expires=expires,
                plain=bodies[0],
                packed=bodies[1],
            )
        patch_vary_headers(response, ["Accept-Encoding"])
        response["ETag"] = etag
        response["Cache-Control"] = (
            f"public, max-age=0, s-maxage={settings.PUBLIC_CACHE_SECONDS}, "
            "stale-while-revalidate=30"
        )
        return response

    return wrapper


@page_view
@cached_html
def status_page(request, page: Page):
    snapshot = page_snapshot(page, request.LANGUAGE_CODE)
    context = page_context(request, page, snapshot)
    context.update(status_sections(snapshot))
    context["live_etag"] = live_etag(page, request.LANGUAGE_CODE)
    with timezone.override(page.tz):
        return render(request, "statuspage/status.html", context)


@page_view
@cached_html
def incident_page(request, page: Page, pk: int):
    incident = incident_detail(page, pk, request.LANGUAGE_CODE)
    if incident is None:
        raise Http404(_("No such incident on this page."))
    context = page_context(request, page, page_snapshot(page, request.LANGUAGE_CODE))
    context["incident"] = incident
    with timezone.override(page.tz):
        return render(request, "statuspage/incident.html", context)


@page_view
@cached_html
def history_page(request, page: Page, year: int | None = None, month: int | None = None):
    local_now = timezone.now().astimezone(page.tz)
    if year is None or month is None:  # /history/ itself; /history/2025/0/ is no month (a 404)
        year, month = local_now.year, local_now.month
    if not (1 <= month <= 12 and 2000 <= year <= 2100):
        raise Http404(_("No such month."))
    history = incident_history(page, year, month, request.LANGUAGE_CODE)
    context = page_context(request, page, page_snapshot(page, request.LANGUAGE_CODE))

    def month_of(iso):
        if not iso:
            return None
        moment = dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(page.tz)
        return {"year": moment.year, "month": moment.month, "date": moment.date()}

    context.update(
        history=history,
        month_start=dt.date(year, month, 1),
        older=month_of(history.older),
        newer=month_of(history.newer),
    )
    with timezone.override(page.tz):
        return render(request, "statuspage/history.html", context)


def choose_language(request, code: str):
    """Remember the visitor's language (a cookie) and go back: a plain link, no JavaScript."""
    target = request.GET.get("next", "/")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = "/"
    response = HttpResponseRedirect(target)
    if code in SUPPORTED:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            code,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
    return response


@page_view
def live_json(request, page: Page):
    """The live sections of the status page as JSON, for the page's script to catch up or poll.

    The ETag names the page version and language, so a poll with `If-None-Match` costs no
    rendering (and no snapshot) while nothing changed.
    """
    language = request.LANGUAGE_CODE
    etag = live_etag(page, language)
    response: HttpResponse
    if etag in {t.strip() for t in request.headers.get("If-None-Match", "").split(",")}:
        response = HttpResponseNotModified()
    else:
        snapshot = page_snapshot(page, language)
        state = live_state(page, snapshot, language=language, prefix=request.page_prefix)
        announce = _("The status page was brought up to date")
        response = JsonResponse({"type": "state", **state, "announce": announce})
    response["ETag"] = etag
    response["Cache-Control"] = "no-cache"
    return response
