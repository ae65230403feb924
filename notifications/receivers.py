"""Listeners for domain events: each channel hooks in here, never inside `incidents`."""

import logging

from django.dispatch import receiver

from incidents.events import COMPONENT_UPDATED, DomainEvent, domain_event

from . import live

log = logging.getLogger(__name__)


@receiver(domain_event, dispatch_uid="notifications.on_domain_event")
def on_domain_event(sender, event: DomainEvent, **kwargs):
    """Fan an event out to the channels (websocket push, email outbox) as they land."""
    live.push_event(event)
    _outbox(event)


def _outbox(event: DomainEvent) -> None:
    """Record the notification once (its key makes a repeated event a no-op) and queue the
    fan-out to every channel (email, webhooks, chats). If the broker is unreachable the row
    stays unfanned and the periodic sweep (`requeue_deliveries`) queues it later."""
    from . import outbox, tasks
    from .models import Subscriber

    confirmed = Subscriber.objects.filter(page_id=event.page_id, confirmed_at__isnull=False)
    if outbox.event_key(event):
        if not confirmed.exists():
            return  # nobody to tell: no outbox rows, no task
        notifications = [outbox.record_notification(event)]
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
        try:
            tasks.fan_out_notification.delay(notification.pk)
        except Exception:  # noqa: BLE001 - the publishing write has committed; never fail it
            log.exception("could not queue the fan-out of %s", notification.key)
