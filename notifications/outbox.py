"""The outbox: record a notifying event once, fan it out to delivery rows, claim and send them.

Every step is safe to repeat. Recording uses the event's key; fan-out inserts with
`ignore_conflicts` against the (notification, subscriber, channel) constraint; a worker claims
rows with one conditional UPDATE (only pending rows that are due, or rows whose lease ran out)
and marks each row sent under its claim, so two workers never send the same row.
"""

from __future__ import annotations

import datetime as dt
import logging
import select
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import cast

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.expressions import Combinable
from django.utils import timezone
from psycopg import pq

from incidents.events import NOTIFYING_EVENTS, DomainEvent

from .models import Delivery, Notification, Subscriber
from .transports import EmailTransport, TransportError, transport_for

log = logging.getLogger(__name__)

State = Delivery.State


def event_key(event: DomainEvent) -> str | None:
    """The idempotency key of a notifying event, or None when it must not notify."""
    if event.type not in NOTIFYING_EVENTS:
        return None
    update = event.data.get("update")
    if update is not None:
        if not update.get("deliver_notifications", True):
            return None
        return f"{event.type}:update-{update['id']}"
    incident = event.data.get("incident") or {}
    if "reminder_hours" in event.data:  # one per window and reminder, however often sent
        window, hours = event.data.get("scheduled_for", ""), event.data["reminder_hours"]
        return f"{event.type}:incident-{incident.get('id')}:{window}:{hours}h"
    # Other notices without an update: one per incident and page version.
    return f"{event.type}:incident-{incident.get('id')}:v{event.version}"


def record_notification(event: DomainEvent) -> Notification | None:
    """The notification for this event, created on first sight (None: nothing to send)."""
    key = event_key(event)
    if key is None:
        return None
    incident_id = (event.data.get("incident") or {}).get("id")
    notification, _created = Notification.objects.get_or_create(
        key=key,
        defaults={
            "page_id": event.page_id,
            "incident_id": incident_id,
            "event_type": event.type,
            "data": event.data,
            "component_ids": list(event.data.get("component_ids") or []),
        },
    )
    return notification


def recipients(notification: Notification) -> QuerySet[Subscriber]:
    """Confirmed, active subscribers of the page who follow an affected component (or all)."""
    follows = Subscriber.components.through.objects.filter(subscriber_id=OuterRef("pk"))
    matches: Combinable | Q = ~Exists(follows)
    if notification.component_ids:
        matches = matches | Exists(follows.filter(component_id__in=notification.component_ids))
    return Subscriber.objects.filter(
        matches,
        page_id=notification.page_id,
        confirmed_at__isnull=False,
        unsubscribed_at__isnull=True,
        flagged_at__isnull=True,
    )


def fan_out(notification: Notification, *, batch_size: int | None = None) -> Iterator[tuple]:
    """Insert delivery rows batch by batch (2 queries a batch); yield each batch's id range.

    The caller enqueues a send per range. Safe to run again after a crash: existing rows are
    kept as they are.
    """
    batch_size = batch_size or settings.NOTIFICATIONS_BATCH_SIZE
    candidates = recipients(notification).order_by("pk").values_list("pk", flat=True)
    last = 0
    while True:
        ids = list(candidates.filter(pk__gt=last)[:batch_size])
        if not ids:
            break
        Delivery.objects.bulk_create(
            [Delivery(notification=notification, subscriber_id=i, channel="email") for i in ids],
            ignore_conflicts=True,
        )
        last = ids[-1]
        yield ids[0], ids[-1]
    Notification.objects.filter(pk=notification.pk).update(fanned_out_at=timezone.now())


def _due(now: dt.datetime) -> Q:
    pending = Q(state=State.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    return pending | Q(state=State.SENDING, lease_until__lt=now)


def claim(
    notification_id: int, *, first: int | None = None, last: int | None = None, limit: int = 0
) -> tuple[str, int]:
    """Claim due rows of a notification (optionally one subscriber id range) for this worker.

    One conditional UPDATE; its row count says how many this worker won. Returns (claim, count).
    """
    now = timezone.now()
    token = uuid.uuid4().hex
    rows = Delivery.objects.filter(_due(now), notification_id=notification_id)
    if first is not None:
        rows = rows.filter(subscriber_id__gte=first, subscriber_id__lte=last)
    candidates = rows.order_by("pk").values("pk")[: limit or settings.NOTIFICATIONS_BATCH_SIZE]
    if connection.vendor == "postgresql":
        candidates = candidates.select_for_update(skip_locked=True)
    with transaction.atomic():
        won = Delivery.objects.filter(_due(now), pk__in=candidates).update(
            state=State.SENDING,
            claim=token,
            lease_until=now + dt.timedelta(seconds=settings.NOTIFICATIONS_LEASE_SECONDS),
            attempts=F("attempts") + 1,
        )
    return token, won


def backoff(attempts: int) -> dt.timedelta:
    """Exponential: base, 2×base, 4×base … capped at an hour."""
    base = settings.NOTIFICATIONS_RETRY_BASE_SECONDS
    return dt.timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600))


@dataclass
class BatchResult:
    sent: int = 0
    failed: int = 0
    retry: list[int] = field(default_factory=list)
    retry_in: float | None = None


def send_claimed(notification: Notification, token: str) -> BatchResult:
    """Send the rows claimed under `token` over one transport connection and mark each."""
    deliveries = list(
        Delivery.objects.filter(claim=token, state=State.SENDING).select_related("subscriber")
    )
    result = BatchResult()
    # Whoever unsubscribed (or bounced out) since the fan-out gets nothing.
    gone = [d.pk for d in deliveries if not d.subscriber.is_active]
    if gone:
        Delivery.objects.filter(pk__in=gone, claim=token).update(
            state=State.FAILED, last_error="subscriber no longer active", lease_until=None
        )
        deliveries = [d for d in deliveries if d.pk not in set(gone)]
    if not deliveries:
        return result
    transport = cast(EmailTransport, transport_for("email")(notification))
    transport.variants = _variants(notification, [d.subscriber_id for d in deliveries])
    retry: list[Delivery] = []
    last_error = ""
    if connection.vendor == "postgresql":
        # Each row is marked sent in its own commit, right before its message is released.
        # Not waiting for that commit's WAL flush keeps a worker crash covered (PostgreSQL has
        # the UPDATE) and only a crash of PostgreSQL itself could resend the last few hundred
        # milliseconds of messages; waiting would cost a disk flush per message.
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")
    try:
        transport.open()
    except TransportError as exc:
        _release(deliveries, token, exc.message)
        return BatchResult(retry=[d.pk for d in deliveries], retry_in=_retry_in(deliveries))
    try:
        for index, delivery in enumerate(deliveries):
            started = time.monotonic()

            def mark_sent(message_id: str, delivery=delivery, started=started):
                return _mark_sent(delivery, token, message_id, time.monotonic() - started)

            try:
                transport.notify(delivery, mark_sent=mark_sent)
                result.sent += 1
            except TransportError as exc:
                if exc.keep_sent:
                    Delivery.objects.filter(pk=delivery.pk).update(last_error=exc.message[:2000])
                    result.sent += 1
                elif exc.permanent:
                    _fail(delivery, token, exc.message)
                    result.failed += 1
                else:
                    retry.append(delivery)
                    last_error = exc.message
                if exc.connection_lost:
                    # The rest cannot use this connection; try once to reconnect, else retry all.
                    try:
                        transport.open()
                    except TransportError as reopen:
                        retry.extend(deliveries[index + 1 :])
                        last_error = reopen.message
                        break
    finally:
        transport.close()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
    if retry:
        _release(retry, token, last_error)
        result.retry = [d.pk for d in retry]
        result.retry_in = _retry_in(retry)
    return result


def _variants(notification: Notification, subscriber_ids: list[int]) -> dict[int, tuple]:
    """Per subscriber who follows chosen components: the affected ones they follow (1 query)."""
    through = Subscriber.components.through
    followed: dict[int, set[int]] = {}
    for subscriber_id, component_id in through.objects.filter(
        subscriber_id__in=subscriber_ids
    ).values_list("subscriber_id", "component_id"):
        followed.setdefault(subscriber_id, set()).add(component_id)
    affected = set(notification.component_ids)
    return {s: tuple(sorted(c & affected)) for s, c in followed.items()}


def _mark_sent(delivery: Delivery, token: str, message_id: str, duration: float):
    """Start marking one row sent (only while this worker holds its claim); return a callable
    that waits for the answer. On PostgreSQL the UPDATE is written to the socket without
    waiting, so the transport can send its final byte right after it."""
    now = timezone.now()
    if connection.vendor != "postgresql":
        won = Delivery.objects.filter(pk=delivery.pk, claim=token, state=State.SENDING).update(
            state=State.SENT,
            sent_at=now,
            message_id=message_id,
            duration=duration,
            lease_until=None,
            last_error="",
        )
        return lambda: bool(won)
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    # The prepared statement's connection, remembered on Django's wrapper (an attribute of ours).
    if getattr(connection, "_mark_sent_prepared", None) is not pgconn:
        # Prepared once per connection: PostgreSQL parses and plans it once, not per message.
        result = pgconn.prepare(_MARK_SENT_NAME, _MARK_SENT_SQL)
        if result.status != pq.ExecStatus.COMMAND_OK:
            raise DatabaseError(result.error_message.decode(errors="replace"))
        setattr(connection, "_mark_sent_prepared", pgconn)  # noqa: B010  (not a declared attribute)
    pgconn.send_query_prepared(
        _MARK_SENT_NAME,
        [
            now.isoformat().encode(),
            message_id.encode(),
            repr(duration).encode(),
            str(delivery.pk).encode(),
            token.encode(),
        ],
    )
    while pgconn.flush():
        select.select([], [pgconn.socket], [])

    def wait() -> bool:
        last = None
        while True:
            while pgconn.is_busy():
                select.select([pgconn.socket], [], [])
                pgconn.consume_input()
            result = pgconn.get_result()
            if result is None:
                break
            last = result
        if last is None or last.status != pq.ExecStatus.COMMAND_OK:
            message = last.error_message.decode(errors="replace") if last else "no result"
            raise DatabaseError(f"marking delivery {delivery.pk} sent failed: {message}")
        return int(last.command_tuples or 0) == 1

    return wait


_MARK_SENT_NAME = b"notifications_mark_sent"
_MARK_SENT_SQL = (
    f"UPDATE {Delivery._meta.db_table} SET state = 'sent', sent_at = $1, message_id = $2, "
    "duration = $3, lease_until = NULL, last_error = '' "
    "WHERE id = $4 AND claim = $5 AND state = 'sending'"
).encode()


def _fail(delivery: Delivery, token: str, error: str) -> None:
    """A permanent failure: record it, count a bounce, flag the address after repeated ones."""
    Delivery.objects.filter(pk=delivery.pk, claim=token).update(
        state=State.FAILED, last_error=error[:2000], lease_until=None
    )
    Subscriber.objects.filter(pk=delivery.subscriber_id).update(bounce_count=F("bounce_count") + 1)
    Subscriber.objects.filter(
        pk=delivery.subscriber_id,
        bounce_count__gte=settings.NOTIFICATIONS_BOUNCE_LIMIT,
        flagged_at__isnull=True,
    ).update(flagged_at=timezone.now())


def _release(deliveries: list[Delivery], token: str, error: str) -> None:
    """Give rows back for a later attempt with backoff, or fail those out of attempts."""
    now = timezone.now()
    by_attempts: dict[int, list[int]] = {}
    for delivery in deliveries:
        by_attempts.setdefault(delivery.attempts, []).append(delivery.pk)
    for attempts, ids in by_attempts.items():
        # Only rows still under our claim (a row another worker took over is theirs).
        rows = Delivery.objects.filter(pk__in=ids, claim=token)
        if attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS:
            rows.update(state=State.FAILED, last_error=error[:2000], lease_until=None)
        else:
            rows.update(
                state=State.PENDING,
                claim="",
                lease_until=None,
                last_error=error[:2000],
                next_attempt_at=now + backoff(attempts),
            )


def _retry_in(deliveries: list[Delivery]) -> float:
    return min(backoff(d.attempts) for d in deliveries).total_seconds()


def stale_work(now: dt.datetime | None = None) -> dict[str, list[int]]:
    """What the periodic sweep re-queues: notifications with due or lease-expired rows, and
    notifications whose fan-out never finished (a worker died during it)."""
    now = now or timezone.now()
    grace = now - dt.timedelta(seconds=settings.NOTIFICATIONS_LEASE_SECONDS)
    due = (
        Delivery.objects.filter(_due(now))
        .values_list("notification_id", flat=True)
        .distinct()
        .order_by()
    )
    unfinished = Notification.objects.filter(fanned_out_at__isnull=True, created_at__lt=grace)
    return {
        "send": sorted(set(due)),
        "fan_out": list(unfinished.values_list("pk", flat=True)),
    }
