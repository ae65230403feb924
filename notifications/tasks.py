"""Celery tasks for the email outbox: thin, each loads ids and calls `notifications.outbox`.

`fan_out_notification` inserts delivery rows in batches and queues one `send_deliveries` per
batch; `send_deliveries` claims due rows, sends them over one connection and schedules a retry
with backoff for transient failures; `requeue_deliveries` (beat) picks up whatever a dead worker
left: rows whose lease ran out, retries that are due, fan-outs that never finished.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from celery import shared_task
from django.conf import settings
from django.db import close_old_connections, connection

from . import outbox, services
from .models import Notification

log = logging.getLogger(__name__)


def _eager() -> bool:
    from statuspage.celery import app

    return bool(app.conf.task_always_eager)


def in_process() -> bool:
    """Tasks run in this process (embedded mode, or a benchmark's single process)."""
    return _eager()


class InProcessWorker:
    """In-process mode's stand-in for a Celery worker, for work handed over by the relay
    thread: one daemon thread that fans notifications out and sends them (eagerly, as
    `task_always_eager` does), one at a time. What it has not done when the process dies is
    what `requeue_deliveries` finds (a notification not fanned out, rows still due)."""

    def __init__(self) -> None:
        self.jobs: queue.Queue[int] = queue.Queue()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.busy = 0

    def fan_out(self, notification_id: int) -> None:
        with self.lock:
            self.busy += 1
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="deliveries", daemon=True)
                self.thread.start()
        self.jobs.put(notification_id)

    def _run(self) -> None:
        while True:
            notification_id = self.jobs.get()
            try:
                close_old_connections()
                fan_out_notification.apply(args=(notification_id,))
            except Exception:  # noqa: BLE001 - logged; the sweep finds what was left
                log.exception("in-process fan-out of notification %s failed", notification_id)
            finally:
                connection.close()
                with self.lock:
                    self.busy -= 1

    def wait_idle(self, timeout: float = 30) -> bool:
        """Wait until every handed-over fan-out is done (tests, benchmarks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.busy == 0:
                    return True
            time.sleep(0.02)
        return False


in_process_worker = InProcessWorker()


@shared_task(ignore_result=True)
def fan_out_notification(notification_id: int) -> int:
    notification = Notification.objects.filter(pk=notification_id).first()
    if notification is None:
        return 0
    batches = 0
    for first, last in outbox.fan_out(notification):
        send_deliveries.delay(notification_id, first, last)
        batches += 1
    return batches


@shared_task(ignore_result=True)
def send_deliveries(notification_id: int, first: int | None = None, last: int | None = None):
    notification = Notification.objects.filter(pk=notification_id).first()
    if notification is None:
        return 0
    token, won = outbox.claim(notification_id, first=first, last=last)
    if not won:
        return 0
    result = outbox.send_claimed(notification, token)
    if result.retry:
        log.warning(
            "notification %s: %d deliveries to retry in %.0fs",
            notification_id,
            len(result.retry),
            result.retry_in,
        )
        if not _eager():  # in-process mode has no clock: the next sweep or event retries
            send_deliveries.apply_async((notification_id, first, last), countdown=result.retry_in)
    if first is None and won >= settings.NOTIFICATIONS_BATCH_SIZE:
        send_deliveries.delay(notification_id)  # more due rows may be waiting
    return result.sent


@shared_task(ignore_result=True)
def requeue_deliveries() -> dict:
    work = outbox.stale_work()
    for notification_id in work["fan_out"]:
        fan_out_notification.delay(notification_id)
    for notification_id in work["send"]:
        send_deliveries.delay(notification_id)
    return work


@shared_task(ignore_result=True)
def send_subscription_mail(subscriber_id: int, kind: str, site: str | None = None) -> None:
    services.send_subscription_mail(subscriber_id, kind, site)


@shared_task(ignore_result=True)
def send_disabled_notice(subscriber_id: int, error: str) -> None:
    services.send_disabled_notice(subscriber_id, error)
