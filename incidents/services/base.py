"""What every write shares: actors, errors, the page version and the one way events leave."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F

from incidents import relay
from incidents.events import DomainEvent
from incidents.models import Page

logger = logging.getLogger(__name__)


class ServiceError(Exception):
    """A write that was refused, with a message for the person who asked for it.

    `code` is stable for machines (the API returns it); `field` names the input at fault.
    """

    status_code = 422

    def __init__(self, message: str, *, code: str = "invalid", field: str | None = None):
        super().__init__(message)
        self.message = str(message)
        self.code = code
        self.field = field


class TransitionError(ServiceError):
    """The requested lifecycle step is not allowed from the current state."""

    status_code = 409

    def __init__(self, message: str, *, field: str | None = "status"):
        super().__init__(message, code="invalid_transition", field=field)


@dataclass(frozen=True)
class System:
    """An actor that is not a person: the maintenance clock, a monitor, an import."""

    name: str

    def __str__(self) -> str:
        return self.name


def actor_fields(actor: Any) -> tuple[AbstractBaseUser | None, str]:
    """The (user, name) pair stored in history for an actor of any kind."""
    if actor is None:
        return None, "system"
    if isinstance(actor, AbstractBaseUser):
        return actor, actor.get_username()
    return None, str(actor)[:150]


def bump_version(page: Page) -> int:
    """Advance the page's version (inside the caller's transaction) and return the new one."""
    Page.objects.filter(pk=page.pk).update(version=F("version") + 1)
    page.version = Page.objects.values_list("version", flat=True).get(pk=page.pk)
    return page.version


def publish_event(page: Page, event_type: str, data: dict[str, Any]) -> None:
    """Bump the page version and send one domain event after the transaction commits.

    Every channel (websocket push, notifications, caches) listens to `domain_event`; nothing is
    sent for a transaction that rolls back, and nothing committed is lost when a channel fails.
    """
    version = bump_version(page)
    event = DomainEvent(
        page_id=page.pk, page_slug=page.slug, version=version, type=event_type, data=data
    )
    # The transactional outbox: the event row commits with the change; listeners hear of it
    # after commit, off the response's path, and again until they all took it (relay.py).
    relay.publish_on_commit(event)
