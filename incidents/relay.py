"""The relay: committed outbox events to their listeners, after commit, never in the response.

`record` writes a page's event into the outbox inside the change's transaction (so no failure
after commit can lose a notification). On commit the event is handed to a background thread
of this process, which calls every listener (websocket push, email outbox) with their own
short timeouts and marks the row published once all succeeded. A row that failed (Redis down
or hanging) is handed again every `RETRY_SECONDS` by that thread while the process lives, and
by the `incidents.relay_events` beat task for rows a process left behind, so open pages catch
up within seconds of Redis coming back. Listeners are idempotent (a notification has a key,
pages ignore versions they have), so handing an event twice is harmless.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import F
from django.utils import timezone

from incidents.events import DomainEvent, domain_event
from incidents.models import OutboxEvent

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0
BATCH = 100
# Rows the beat task takes over: older than this, so it does not race the writing process.
ORPHAN_SECONDS = 10


def record(event: DomainEvent) -> OutboxEvent:
    """Write the event into the outbox (call inside the change's transaction)."""
    return OutboxEvent.objects.create(
        page_id=event.page_id,
        page_slug=event.page_slug,
        version=event.version,
        type=event.type,
        data=event.data,
    )


def rewrite(row_id: int, event: DomainEvent) -> None:
    """Replace a recorded event by the merged one (a later step of the same transaction)."""
    OutboxEvent.objects.filter(pk=row_id).update(type=event.type, data=event.data)


def as_event(row: OutboxEvent) -> DomainEvent:
    return DomainEvent(
        page_id=row.page_id, page_slug=row.page_slug, version=row.version, type=row.type,
        data=row.data,
    )  # fmt: skip


def publish(row: OutboxEvent) -> bool:
    """Hand one event to every listener; mark it published when none failed."""
    event = as_event(row)
    errors = []
    for receiver, result in domain_event.send_robust(sender=DomainEvent, event=event):
        if isinstance(result, Exception):
            errors.append(f"{getattr(receiver, '__qualname__', receiver)}: {result}")
            log.warning(
                "Listener %r failed on %s (page %s, version %s); the relay tries again",
                receiver, event.type, event.page_slug, event.version, exc_info=result,
            )  # fmt: skip
    rows = OutboxEvent.objects.filter(pk=row.pk)
    if errors:
        rows.update(attempts=F("attempts") + 1, last_error="\n".join(errors)[:2000])
        return False
    rows.update(published_at=timezone.now(), attempts=F("attempts") + 1, last_error="")
    return True


def relay_pending(*, older_than: float = 0, limit: int = BATCH) -> tuple[int, int]:
    """Publish unpublished events, oldest first; (published, still failing)."""
    rows = OutboxEvent.objects.filter(published_at__isnull=True).order_by("pk")
    if older_than:
        rows = rows.filter(created_at__lt=timezone.now() - dt.timedelta(seconds=older_than))
    done = failed = 0
    for row in rows[:limit]:
        if publish(row):
            done += 1
        else:
            failed += 1
    return done, failed


def after_commit(row_id: int) -> None:
    """The commit hook of a recorded event: publish it without holding up the response.

    Published here and now instead inside an enclosing transaction (a test's, whose rows no
    other thread can see), and in embedded mode: its in-memory channel layer lives on the
    server's event loop, which a push from another thread would not wake, and nothing there
    can hang. What fails here is left to the relay thread.
    """
    if connection.in_atomic_block or _embedded():
        row = OutboxEvent.objects.filter(pk=row_id, published_at__isnull=True).first()
        if row is None or publish(row):
            return
    _relay.wake()


def _embedded() -> bool:
    layer: dict[str, Any] = settings.CHANNEL_LAYERS.get("default", {})
    return str(layer.get("BACKEND", "")).endswith("InMemoryChannelLayer")


class _Relay:
    """One daemon thread per process: publishes what was committed, retries what failed."""

    def __init__(self):
        self.lock = threading.Lock()
        self.signal = threading.Event()
        self.thread: threading.Thread | None = None

    def wake(self) -> None:
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="event-relay", daemon=True)
                self.thread.start()
        self.signal.set()

    def stop(self, timeout: float = 5) -> None:
        """End the thread (tests: its database connection must not outlive the test)."""
        with self.lock:
            thread, self.thread = self.thread, None
        if thread is not None and thread.is_alive():
            self.stopping = thread
            self.signal.set()
            thread.join(timeout)

    def _run(self) -> None:
        failing = False
        while True:
            if getattr(self, "stopping", None) is threading.current_thread():
                connection.close()
                return
            # Waiting for new work; while something fails, trying again every RETRY_SECONDS.
            self.signal.wait(timeout=RETRY_SECONDS if failing else 60)
            self.signal.clear()
            if getattr(self, "stopping", None) is threading.current_thread():
                connection.close()
                return
            close_old_connections()
            try:
                _done, failed = relay_pending()
                failing = failed > 0
            except Exception:  # noqa: BLE001 - the database itself may be down: later
                log.exception("the event relay could not run; trying again")
                failing = True
            finally:
                close_old_connections()


_relay = _Relay()


def in_relay_thread() -> bool:
    """Whether the caller runs on this process's relay thread (a listener may then hand slow
    in-process work to a thread of its own, so the relay never waits for it)."""
    return threading.current_thread() is _relay.thread


def stop_relay() -> None:
    """Stop this process's relay thread (tests); the next commit starts it again."""
    _relay.stop()
