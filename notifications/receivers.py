"""Listeners for domain events: each channel hooks in here, never inside `incidents`."""

import logging

from django.dispatch import receiver

from incidents.events import DomainEvent, domain_event

from . import live

log = logging.getLogger(__name__)


@receiver(domain_event, dispatch_uid="notifications.on_domain_event")
def on_domain_event(sender, event: DomainEvent, **kwargs):
    """Record the email notification of an event and queue its fan-out. Raises when it could
    not (the relay hands the event again; recording is idempotent)."""
    _email(event)


@receiver(domain_event, dispatch_uid="notifications.push_domain_event")
def push_domain_event(sender, event: DomainEvent, **kwargs):
    """Push an event to the page's open websocket clients (raises when Redis cannot take it:
    the relay pushes again, clients ignore versions they already have)."""
    live.push_event(event)


def _email(event: DomainEvent) -> None:
    """Record the notification once (its key makes a repeated event a no-op) and queue the
    fan-out; a notification already fanned out is not queued again."""
    from . import outbox, tasks
    from .models import Subscriber

    if not outbox.event_key(event):
        return
    if not Subscriber.objects.filter(page_id=event.page_id, confirmed_at__isnull=False).exists():
        return  # nobody to tell: no outbox rows, no task
    notification = outbox.record_notification(event)
    if notification is None or notification.fanned_out_at is not None:
        return
    # Bounded by the broker's timeouts and publish retry policy (settings); a failure raises
    # and the relay queues it again, the sweep (`requeue_deliveries`) being the last resort.
    tasks.fan_out_notification.delay(notification.pk)
