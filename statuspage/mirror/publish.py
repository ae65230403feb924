"""Publishing the mirror: build once, write to every target, record each target's outcome;
the debounced trigger the domain-event listener calls; the emergency notice (no database)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections, connection
from django.template.loader import render_to_string
from django.utils import timezone, translation

from .site import (
    HEARTBEAT_FILE,
    HOSTS_DIR,
    MirrorFile,
    Site,
    build_site,
    heartbeat_document,
    heartbeat_file,
    with_compressed,
)
from .targets import PublishResult, Target, TargetError, target_for

log = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 30
QUEUED_KEY = "mirror:queued"
RUNNING_KEY = "mirror:running"


@dataclass
class TargetOutcome:
    url: str
    result: PublishResult | None
    error: str = ""
    seconds: float = 0.0


def configured_targets() -> list[Target]:
    return [target_for(url) for url in settings.MIRROR_TARGETS if url.strip()]


def publish_mirror(
    *, pages: Iterable[str] | None = None, targets: Iterable[str] | None = None
) -> list[TargetOutcome]:
    """Build the public site once and publish it to each target (all configured by default).

    A failing target is recorded (error, failures in a row, next retry) and never stops the
    others; a page that does not render raises MirrorBuildError before anything is written.
    """
    chosen = configured_targets()
    if targets is not None:
        wanted = set(targets)
        chosen = [t for t in chosen if t.url in wanted] or [target_for(u) for u in wanted]
    if not chosen:
        return []
    site = build_site(pages)
    return [publish_site(site, target) for target in chosen]


def publish_site(site: Site, target: Target) -> TargetOutcome:
    from .models import MirrorTarget

    started = time.monotonic()
    attempted = timezone.now()
    try:
        previous = _heartbeat_of(target) if site.only is not None else None
        document = heartbeat_document(site, previous)
        files = dict(site.files)
        files[HEARTBEAT_FILE] = heartbeat_file(document)
        for host in site.hosts:  # each custom host's tree has the heartbeat at its root too
            files[f"{HOSTS_DIR}/{host}/{HEARTBEAT_FILE}"] = files[HEARTBEAT_FILE]
        result = target.publish(
            files, keep=_kept(site), default_slug=site.default_slug, hosts=site.hosts
        )
    except (TargetError, OSError) as error:
        seconds = time.monotonic() - started
        row, _ = MirrorTarget.objects.get_or_create(url=target.url)
        failures = row.failures + 1
        delay = min(settings.MIRROR_RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** (failures - 1))
        MirrorTarget.objects.filter(pk=row.pk).update(
            attempted_at=attempted,
            error=str(error)[:2000],
            failures=failures,
            retry_at=attempted + dt.timedelta(seconds=delay),
            duration=seconds,
        )
        log.warning("mirror %s failed (%d in a row): %s", target.url, failures, error)
        _retry_later(target.url, delay)
        return TargetOutcome(target.url, None, str(error), seconds)
    seconds = time.monotonic() - started
    MirrorTarget.objects.update_or_create(
        url=target.url,
        defaults={
            "published_at": site.published_at,
            "versions": document["versions"],
            "files": result.files,
            "uploaded": result.written,
            "uploaded_bytes": result.written_bytes,
            "duration": seconds,
            "attempted_at": attempted,
            "error": "",
            "failures": 0,
            "retry_at": None,
        },
    )
    return TargetOutcome(target.url, result, "", seconds)


def _kept(site: Site) -> frozenset[str] | None:
    """The pages whose files a partial publish leaves as they are."""
    if site.only is None:
        return None
    return frozenset(site.versions) - site.only


def _heartbeat_of(target: Target) -> dict | None:
    body = target.read(HEARTBEAT_FILE)
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


# --- When to publish ------------------------------------------------------------------------
def _eager() -> bool:
    from statuspage.celery import app

    return bool(app.conf.task_always_eager)


def schedule_publish(page_slug: str | None = None) -> None:
    """Ask for a publish of one page's files soon (None: the whole site); a burst of changes
    within MIRROR_DEBOUNCE_SECONDS gives one publish.

    With a broker: one queued Celery task per page at a time (a cache key says it is queued).
    Embedded (tasks in-process): a thread in this process. Never raises: the change that
    triggered it has committed, and the heartbeat publishes anyway.
    """
    if not settings.MIRROR_TARGETS:
        return
    try:
        if _eager():
            _debouncer.poke(page_slug)
        else:
            _queue_task(page_slug)
    except Exception:  # noqa: BLE001 - a publish trigger never fails a committed write
        log.exception("could not schedule a mirror publish")


def _queue_task(page_slug: str | None) -> None:
    from django.core.cache import cache

    from . import tasks

    key = f"{QUEUED_KEY}:{page_slug or '*'}"
    try:
        queued = cache.add(key, 1, timeout=settings.MIRROR_DEBOUNCE_SECONDS + 300)
    except Exception:  # noqa: BLE001 - no cache: queue anyway (publishes are idempotent)
        queued = True
    if queued:
        pages = [page_slug] if page_slug else None
        tasks.publish.apply_async(
            kwargs={"pages": pages, "queued_key": key},
            countdown=settings.MIRROR_DEBOUNCE_SECONDS,
        )


def _retry_later(url: str, delay: float) -> None:
    if _eager() or not settings.MIRROR_TARGETS:
        return  # in-process: the heartbeat (or the next change) tries again
    from . import tasks

    try:
        tasks.publish.apply_async(kwargs={"targets": [url]}, countdown=delay)
    except Exception:  # noqa: BLE001 - the heartbeat retries
        log.exception("could not queue the retry of %s", url)


FULL = "*"


class _Debouncer:
    """Embedded mode: one publishing thread per process, woken by changes, that waits for the
    burst to settle and publishes the pages that changed; a change during a publish gives one
    more publish."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pending: set[str] = set()
        self.busy = False
        self.last_poke = 0.0
        self.thread: threading.Thread | None = None

    def poke(self, page_slug: str | None) -> None:
        with self.lock:
            self.pending.add(page_slug or FULL)
            self.last_poke = time.monotonic()
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="mirror", daemon=True)
                self.thread.start()

    def _run(self) -> None:
        while True:
            # Wait for a quiet spell (no change for the debounce time), at most 10 of them.
            quiet = settings.MIRROR_DEBOUNCE_SECONDS
            started = time.monotonic()
            while True:
                left = self.last_poke + quiet - time.monotonic()
                if left <= 0 or time.monotonic() - started >= 10 * quiet:
                    break
                time.sleep(left)
            with self.lock:
                pending, self.pending = self.pending, set()
                if not pending:
                    self.thread = None
                    return
                self.busy = True
            try:
                close_old_connections()
                publish_mirror(pages=None if FULL in pending else sorted(pending))
            except Exception:  # noqa: BLE001 - logged; the next change or heartbeat retries
                log.exception("mirror publish failed")
            finally:
                connection.close()
                with self.lock:
                    self.busy = False

    def wait_idle(self, timeout: float = 60) -> bool:
        """Wait until nothing is pending or publishing (tests, benchmarks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not self.pending and not self.busy and self.thread is None:
                    return True
            time.sleep(0.02)
        return False


_debouncer = _Debouncer()


# --- The emergency notice (no database) -----------------------------------------------------
NOTICE = re.compile(r"<!-- mirror:notice -->.*?<!-- /mirror:notice -->", re.S)


def add_notice(files: dict[str, MirrorFile], text: str, *, now: dt.datetime) -> dict:
    """Put an engineer's notice on every page of a published copy (banner, summary.json,
    phone.txt, mirror.json) and return the files to publish; reads and writes no database."""
    text = " ".join(text.split())
    if not text:
        raise ValueError("The notice is empty: say what customers should know.")
    stamp = now.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    result = {}
    for path, item in files.items():
        body = item.body
        if item.content_type.startswith("text/html") and b"<!-- mirror:notice -->" in body:
            page = body.decode()
            found = re.search(r'<html lang="([a-z]{2})', page)
            with translation.override(found.group(1) if found else "en"):
                banner = render_to_string("mirror/notice.html", {"text": text, "at": now})
            block = f"<!-- mirror:notice -->{banner}<!-- /mirror:notice -->"
            previous = NOTICE.search(page)
            if previous:  # replace the marked block (the banner's text is not a pattern)
                page = page[: previous.start()] + block + page[previous.end() :]
            body = page.encode()
        elif path.endswith("api/v2/summary.json") or path.endswith("api/v2/status.json"):
            document = json.loads(body)
            document["notice"] = {"body": text, "created_at": stamp}
            body = json.dumps(document).encode()
        elif path.endswith("phone.txt"):
            lines = body.decode().split("\n")
            marker = "NOTICE: "
            lines = [line for line in lines if not line.startswith(marker)]
            body = "\n".join([marker + text, *lines]).encode()
        elif path == HEARTBEAT_FILE or path.endswith("/" + HEARTBEAT_FILE):
            document = json.loads(body)
            document["notice"] = {"body": text, "created_at": stamp}
            body = json.dumps(document, indent=1, sort_keys=True).encode()
        result[path] = MirrorFile(body, item.content_type)
    heartbeats = {p: f for p, f in result.items() if p.split("/")[-1] == HEARTBEAT_FILE}
    return with_compressed({p: f for p, f in result.items() if p not in heartbeats}) | heartbeats


def publish_notice(target: Target, text: str) -> int:
    """Read the last published copy from the target, add the notice, publish it back.

    The heartbeat's time stays what it was: the data is as old as it was, and the stale
    warning keeps saying so. Returns the number of files written.
    """
    files = target.read_all()
    if HEARTBEAT_FILE not in files:
        raise TargetError(f"{target.url}: no mirror.json, so nothing was published here")
    updated = add_notice(files, text, now=timezone.now())
    heartbeat = json.loads(updated[HEARTBEAT_FILE].body)
    return target.publish(
        updated,
        keep=None,
        default_slug=heartbeat.get("default_page", ""),
        hosts=heartbeat.get("hosts") or {},
    ).written
