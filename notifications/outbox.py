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
from django.db.models import CharField, Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.expressions import Combinable
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from psycopg import pq

from incidents import visibility
from incidents.events import COMPONENT_UPDATED, NOTIFYING_EVENTS, DomainEvent
from incidents.models import ComponentStatusChange

from .models import Delivery, Notification, Subscriber
from .transports import BatchTransport, EmailTransport, TransportError, transport_for

log = logging.getLogger(__name__)

State = Delivery.State


def event_key(event: DomainEvent) -> str | None:
    """The idempotency key of a notifying event, or None when it must not notify."""
    if event.type not in NOTIFYING_EVENTS:
        return None
    postmortem = event.data.get("postmortem")
    if postmortem is not None and not postmortem.get("deliver_notifications"):
        return None  # published without notifying
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


# A component's status change is news for webhooks and chats (Statuspage sends it to them);
# a notice this old is not sent any more (an event that only renamed the component).
COMPONENT_NOTICE_MAX_AGE = dt.timedelta(minutes=10)


def record_component_notifications(event: DomainEvent) -> list[Notification]:
    """One notification per component whose status this event changed, keyed on the status
    history row (so a later event about the same change is a no-op)."""
    if event.type != COMPONENT_UPDATED:
        return []
    data = event.data
    listed = data.get("components") or ([data["component"]] if data.get("component") else [])
    ids = [c["id"] for c in listed if c.get("id")]
    if not ids:
        return []
    recent = timezone.now() - COMPONENT_NOTICE_MAX_AGE
    latest: dict[int, ComponentStatusChange] = {}
    for change in ComponentStatusChange.objects.filter(
        component_id__in=ids, changed_at__gte=recent, component__is_visible=True
    ).exclude(old_status=""):
        known = latest.get(change.component_id)
        if known is None or (change.changed_at, change.pk) > (known.changed_at, known.pk):
            latest[change.component_id] = change
    notifications = []
    for component_id, change in latest.items():
        notification, _created = Notification.objects.get_or_create(
            key=f"{COMPONENT_UPDATED}:change-{change.pk}",
            defaults={
                "page_id": event.page_id,
                "event_type": COMPONENT_UPDATED,
                "data": {"change_id": change.pk, "component_id": component_id},
                "component_ids": [component_id],
            },
        )
        notifications.append(notification)
    return notifications


def category(notification: Notification) -> str:
    """Which of a subscriber's event choices a notification falls under."""
    if notification.event_type == COMPONENT_UPDATED:
        return Subscriber.Event.COMPONENT
    if notification.event_type.startswith("maintenance."):
        return Subscriber.Event.MAINTENANCE
    return Subscriber.Event.INCIDENT


def audience(notification: Notification) -> frozenset[int] | None:
    """Who may hear of a notification (`incidents.visibility`): None for everyone, else the ids
    of the customers who may see it (an incident by the components it touches now, a status
    change by its component)."""
    if notification.incident_id is not None:
        return visibility.incident_audience(notification.incident_id)
    return visibility.customers_seeing(notification.component_ids)


def recipients(notification: Notification) -> QuerySet[Subscriber]:
    """Confirmed, active subscribers of the page who follow an affected component (or all);
    for a customer-only item only the subscribers of the customers who may see it.

    Component changes go to webhooks and chats only (email stays about incidents)."""
    follows = Subscriber.components.through.objects.filter(subscriber_id=OuterRef("pk"))
    matches: Combinable | Q = ~Exists(follows)
    if notification.component_ids:
        matches = matches | Exists(follows.filter(component_id__in=notification.component_ids))
    found = Subscriber.objects.filter(
        matches,
        page_id=notification.page_id,
        confirmed_at__isnull=False,
        unsubscribed_at__isnull=True,
        flagged_at__isnull=True,
    )
    if notification.event_type == COMPONENT_UPDATED:
        found = found.exclude(kind=Subscriber.Kind.EMAIL)
    customers = audience(notification)
    if customers is not None:
        found = found.filter(customer_id__in=customers)
    return found


def fan_out(notification: Notification, *, batch_size: int | None = None) -> Iterator[tuple]:
    """Insert delivery rows batch by batch (2 queries a batch); yield each batch's id range.

    The caller enqueues a send per range. Safe to run again after a crash: existing rows are
    kept as they are.
    """
    batch_size = batch_size or settings.NOTIFICATIONS_BATCH_SIZE
    candidates = recipients(notification).order_by("pk").values_list("pk", "kind", "events")
    wanted = category(notification)
    last = 0
    while True:
        rows = list(candidates.filter(pk__gt=last)[:batch_size])
        if not rows:
            break
        # Chats and webhooks may follow only some kinds of event (a JSON list: filtered here,
        # SQLite has no JSON containment lookup).
        Delivery.objects.bulk_create(
            [
                Delivery(notification=notification, subscriber_id=pk, channel=kind)
                for pk, kind, events in rows
                if not events or wanted in events
            ],
            ignore_conflicts=True,
        )
        last = rows[-1][0]
        yield rows[0][0], last
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
    uncertain: int = 0  # sent again: the connection dropped around the final dot


def send_claimed(notification: Notification, token: str) -> BatchResult:
    """Send the rows claimed under `token` over one transport connection and mark each."""
    deliveries = list(
        Delivery.objects.filter(claim=token, state=State.SENDING).select_related("subscriber")
    )
    result = BatchResult()
    # Whoever unsubscribed (or bounced out) since the fan-out gets nothing; nor does one who
    # may no longer see it (a component made customer-only, a customer unassigned since).
    gone = [d.pk for d in deliveries if not d.subscriber.is_active]
    if gone:
        Delivery.objects.filter(pk__in=gone, claim=token).update(
            state=State.FAILED, last_error="subscriber no longer active", lease_until=None
        )
        deliveries = [d for d in deliveries if d.pk not in set(gone)]
    customers = audience(notification) if deliveries else None
    if customers is not None:
        hidden = [d.pk for d in deliveries if d.subscriber.customer_id not in customers]
        if hidden:
            Delivery.objects.filter(pk__in=hidden, claim=token).update(
                state=State.FAILED, last_error="not visible to this subscriber", lease_until=None
            )
            deliveries = [d for d in deliveries if d.pk not in set(hidden)]
    if not deliveries:
        return result
    by_channel: dict[str, list[Delivery]] = {}
    for delivery in deliveries:
        by_channel.setdefault(delivery.channel, []).append(delivery)
    for channel, batch in by_channel.items():
        if channel != "email":
            _merge(result, _send_batch(notification, token, channel, batch))
    deliveries = by_channel.get("email", [])
    if not deliveries:
        return result
    _merge(result, _send_email(notification, token, deliveries))
    return result


def _merge(total: BatchResult, part: BatchResult) -> None:
    total.sent += part.sent
    total.failed += part.failed
    total.retry += part.retry
    total.uncertain += part.uncertain
    if part.retry_in is not None:
        total.retry_in = min(part.retry_in, total.retry_in or part.retry_in)


def _send_batch(
    notification: Notification, token: str, channel: str, deliveries: list[Delivery]
) -> BatchResult:
    """Webhooks and chats: every request of the batch at once, then each row marked."""
    transport = transport_for(channel)(notification)
    assert isinstance(transport, BatchTransport)
    result = BatchResult()
    outcomes = transport.send_batch(deliveries)
    retry: list[Delivery] = []
    errors = []
    now = timezone.now()
    sent: list[Delivery] = []
    for delivery, outcome in zip(deliveries, outcomes, strict=True):
        if outcome.ok:
            delivery.duration = outcome.duration
            sent.append(delivery)
        elif outcome.permanent and not outcome.blame:
            Delivery.objects.filter(pk=delivery.pk, claim=token).update(
                state=State.FAILED, last_error=outcome.error[:2000], lease_until=None
            )
            result.failed += 1
        elif outcome.permanent:
            _fail(delivery, token, outcome.error)
            result.failed += 1
        else:
            retry.append(delivery)
            errors.append(outcome.error)
    if sent:
        # Two statements for the whole batch (one commit each, not one per row): mark the rows
        # this worker still holds, then record how long each request took.
        result.sent = Delivery.objects.filter(
            pk__in=[d.pk for d in sent], claim=token, state=State.SENDING
        ).update(
            state=State.SENT,
            sent_at=now,
            message_id=Concat(
                Value(f"msg_{notification.pk}_"), Cast("pk", CharField()), output_field=CharField()
            ),
            lease_until=None,
            last_error="",
        )
        Delivery.objects.bulk_update(sent, ["duration"], batch_size=1000)
    ok = [d.subscriber_id for d, o in zip(deliveries, outcomes, strict=True) if o.ok]
    if ok:  # consecutive failures disable an endpoint; a success starts the count again
        Subscriber.objects.filter(pk__in=ok, bounce_count__gt=0).update(bounce_count=0)
    if retry:
        _release(retry, token, errors[-1])
        result.retry = [d.pk for d in retry]
        result.retry_in = _retry_in(retry)
    return result


def _send_email(notification: Notification, token: str, deliveries: list[Delivery]) -> BatchResult:
    result = BatchResult()
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
    heartbeat = Heartbeat(token)
    try:
        for index, delivery in enumerate(deliveries):
            heartbeat.beat()
            started = time.monotonic()

            def mark_sent(message_id: str, delivery=delivery, started=started):
                return _mark_sent(delivery, token, message_id, time.monotonic() - started)

            try:
                transport.notify(delivery, mark_sent=mark_sent)
                result.sent += 1
            except TransportError as exc:
                if exc.unknown_outcome:
                    # Marked sent before the final dot; back to "sending" under our claim,
                    # counted, and released below for another attempt (same Message-ID).
                    Delivery.objects.filter(pk=delivery.pk, claim=token).update(
                        state=State.SENDING,
                        sent_at=None,
                        uncertain_sends=F("uncertain_sends") + 1,
                    )
                    result.uncertain += 1
                    retry.append(delivery)
                    last_error = exc.message
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


class Heartbeat:
    """Renews the lease of a batch while it is being sent: a short lease (a killed worker's
    rows are free again within `NOTIFICATIONS_LEASE_SECONDS`) that a live worker never loses."""

    def __init__(self, token: str):
        self.token = token
        self.every = settings.NOTIFICATIONS_LEASE_SECONDS / 4
        self.last = time.monotonic()

    def beat(self) -> None:
        now = time.monotonic()
        if now - self.last < self.every:
            return
        self.last = now
        Delivery.objects.filter(claim=self.token, state=State.SENDING).update(
            lease_until=timezone.now() + dt.timedelta(seconds=settings.NOTIFICATIONS_LEASE_SECONDS)
        )


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
    _count_failure(delivery, error)


def _count_failure(delivery: Delivery, error: str) -> None:
    Subscriber.objects.filter(pk=delivery.subscriber_id).update(bounce_count=F("bounce_count") + 1)
    disabled = Subscriber.objects.filter(
        pk=delivery.subscriber_id,
        bounce_count__gte=settings.NOTIFICATIONS_BOUNCE_LIMIT,
        flagged_at__isnull=True,
    ).update(flagged_at=timezone.now())
    if disabled and delivery.channel != "email":
        _tell_disabled(delivery.subscriber_id, error)


def _tell_disabled(subscriber_id: int, error: str) -> None:
    """Tell a webhook's or chat's owner (its email) that we stopped sending to it."""
    from .tasks import send_disabled_notice

    transaction.on_commit(lambda: send_disabled_notice.delay(subscriber_id, error[:500]))


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
            endpoints = [d for d in deliveries if d.pk in ids and d.channel != "email"]
            rows.update(state=State.FAILED, last_error=error[:2000], lease_until=None)
            for delivery in endpoints:  # a webhook out of attempts counts as one failure
                _count_failure(delivery, error)
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
    # Rows a live worker would have taken by now: leases that ran out (a killed worker), and
    # pending rows due for longer than a lease (their queued task was lost with a worker).
    # Rows due just now are left to the tasks already queued for them.
    forgotten = Q(state=State.SENDING, lease_until__lt=now) | Q(
        Q(next_attempt_at__lte=grace)
        | Q(next_attempt_at__isnull=True, notification__fanned_out_at__lt=grace),
        state=State.PENDING,
    )
    due = (
        Delivery.objects.filter(forgotten)
        .values_list("notification_id", flat=True)
        .distinct()
        .order_by()
    )
    unfinished = Notification.objects.filter(fanned_out_at__isnull=True, created_at__lt=grace)
    return {
        "send": sorted(set(due)),
        "fan_out": list(unfinished.values_list("pk", flat=True)),
    }
