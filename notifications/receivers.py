"""Listeners for domain events: each channel hooks in here, never inside `incidents`."""

from django.dispatch import receiver

from incidents.events import DomainEvent, domain_event

from . import live


@receiver(domain_event, dispatch_uid="notifications.on_domain_event")
def on_domain_event(sender, event: DomainEvent, **kwargs):
    """Fan an event out to the channels (websocket push, email outbox) as they land."""
    live.push_event(event)
