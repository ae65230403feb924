"""Listeners for domain events: each channel hooks in here, never inside `incidents`."""

import logging
from collections.abc import Sequence

from django.dispatch import receiver

from incidents.events import COMPONENT_UPDATED, DomainEvent, domain_event
from incidents.relay import in_relay_thread

from . import live

log = logging.getLogger(__name__)


@receiver(domain_event, dispatch_uid="notifications.push_domain_event")
def push_domain_event(sender, event: DomainEvent, **kwargs):
    """Push an event to the page's open websocket clients (raises when Redis cannot take it:
    the relay pushes again, clients ignore versions they already have). Connected first: the
    open pages hear of a change before anything slower runs (receivers run in this order)."""
    live.push_event(event)


@receiver(domain_event, dispatch_uid="notifications.push_customer_event")
def push_customer_event(sender, event: DomainEvent, **kwargs):
    """Tell the open customer overviews (/my/) whose services the event touches."""
    from .customer_live import push_to_customers

    push_to_customers(event)


@receiver(domain_event, dispatch_uid="notifications.on_domain_event")
def on_domain_event(sender, event: DomainEvent, **kwargs):
    """Record the notification of an event (email, webhooks, chats) and queue its fan-out.
    Raises when it could not (the relay hands the event again; recording is idempotent)."""
    _outbox(event)


@receiver(domain_event, dispatch_uid="notifications.mirror_domain_event")
def mirror_domain_event(sender, event: DomainEvent, **kwargs):
    """Republish the static mirror (debounced: a burst of changes gives one publish)."""
    from incidents.events import PAGE_UPDATED
    from statuspage.mirror.publish import schedule_publish

    # A page's own change touches only its files; a page's name or settings show on the others
    # (a merged event lists its steps).
    steps = {event.type, *(event.data.get("steps") or [])}
    schedule_publish(None if PAGE_UPDATED in steps else event.page_slug)


def _outbox(event: DomainEvent) -> None:
    """Record the notification once (its key makes a repeated event a no-op) and queue the
    fan-out to every channel (email, webhooks, chats); a notification already fanned out is
    not queued again."""
    from . import outbox, tasks
    from .models import Notification, Subscriber

    confirmed = Subscriber.objects.filter(page_id=event.page_id, confirmed_at__isnull=False)
    if outbox.event_key(event):
        if not confirmed.exists():
            return  # nobody to tell: no outbox rows, no task
        notifications: Sequence[Notification | None] = [outbox.record_notification(event)]
    elif event.type == COMPONENT_UPDATED:
        # Component changes are news for webhooks and chats only.
        if not confirmed.exclude(kind=Subscriber.Kind.EMAIL).exists():
            return
        notifications = outbox.record_component_notifications(event)
    else:
        return
    for notification in notifications:
        if notification is None or notification.fanned_out_at is not None:
            continue
        # Bounded by the broker's timeouts and publish retry policy (settings); a failure raises
        # and the relay queues it again, the sweep (`requeue_deliveries`) being the last resort.
        # In-process mode (no worker): the relay thread hands the fan-out to this process's
        # delivery thread, so the next event's push never waits for this one's deliveries.
        if tasks.in_process() and in_relay_thread():
            tasks.in_process_worker.fan_out(notification.pk)
        else:
            tasks.fan_out_notification.delay(notification.pk)
