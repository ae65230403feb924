"""Listeners for domain events: each channel hooks in here, never inside `incidents`."""

import logging

from django.dispatch import receiver

from incidents.events import DomainEvent, domain_event

from . import live

log = logging.getLogger(__name__)


@receiver(domain_event, dispatch_uid="notifications.on_domain_event")
def on_domain_event(sender, event: DomainEvent, **kwargs):
    """Fan an event out to the channels (websocket push, email outbox) as they land."""
    live.push_event(event)
    _mirror(event)
    _email(event)


def _mirror(event: DomainEvent) -> None:
    """Republish the static mirror (debounced: a burst of changes gives one publish)."""
    from incidents.events import PAGE_UPDATED
    from statuspage.mirror.publish import schedule_publish

    # A page's own change touches only its files; a page's name or settings show on the others
    # (a merged event lists its steps).
    steps = {event.type, *(event.data.get("steps") or [])}
    schedule_publish(None if PAGE_UPDATED in steps else event.page_slug)


def _email(event: DomainEvent) -> None:
    """Record the notification once (its key makes a repeated event a no-op) and queue the
    fan-out. If the broker is unreachable the row stays unfanned and the periodic sweep
    (`requeue_deliveries`) queues it later."""
    from . import outbox, tasks
    from .models import Subscriber

    if not outbox.event_key(event):
        return
    if not Subscriber.objects.filter(page_id=event.page_id, confirmed_at__isnull=False).exists():
        return  # nobody to tell: no outbox rows, no task
    notification = outbox.record_notification(event)
    if notification is None or notification.fanned_out_at is not None:
        return
    try:
        tasks.fan_out_notification.delay(notification.pk)
    except Exception:  # noqa: BLE001 - the publishing write has committed; never fail it
        log.exception("could not queue the email fan-out of %s", notification.key)
