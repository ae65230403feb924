"""Who did what: the actor of a write, and the audit row every intent appends.

An `Actor` is a small value object: a person in the admin, an API key, the maintenance clock,
a management command; later an integration or an SSO sign-in adds a type, not a new argument.
Services take `actor=` (an `Actor`, or for convenience a user, an API key, a `System` or None,
which `as_actor` turns into one) and are wrapped by `@intent("name")`: the outermost intent of a
call records one `AuditEntry` in the same transaction, with the fields it changed.
"""

from __future__ import annotations

import contextvars
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from incidents.models import APIKey, AuditEntry, Page

if TYPE_CHECKING:
    from django.contrib.auth.models import User

ActorType = AuditEntry.ActorType
Channel = AuditEntry.Channel

# Fields that change with every write and say nothing about who meant what.
# (An object's public id is its `object.id` in the row already.) Secrets stay out too.
_NOISE = {
    "token",
    "secret",
    "ip_hash",
    "version",
    "updated_at",
    "created_at",
    "last_used_at",
    "hashed_key",
    "password",
    "public_id",
}
# Personal data stays out: an append-only log could not forget it when a subscriber or a
# reporter asks (the row names the object; its own table holds, and can erase, the rest).
_PERSONAL = {
    "subscriber": {"email", "endpoint"},
    "problemreport": {"email", "phone", "contact_name", "company", "description", "since"},
    "customermember": {"email"},
}


@dataclass(frozen=True)
class Actor:
    """Who asks for a write (`type`, `name`), through which door (`channel`)."""

    type: str
    name: str
    channel: str
    user: User | None = None
    api_key: APIKey | None = None

    @classmethod
    def for_user(cls, user: User, *, channel: str = Channel.ADMIN) -> Actor:
        return cls(ActorType.USER, user.get_username(), channel, user=user)

    @classmethod
    def for_api_key(cls, key: APIKey) -> Actor:
        return cls(ActorType.API_KEY, key.name, Channel.API, api_key=key)

    @classmethod
    def clock(cls, name: str = "maintenance clock") -> Actor:
        return cls(ActorType.CLOCK, name, Channel.CLOCK)

    @classmethod
    def command(cls, name: str) -> Actor:
        return cls(ActorType.COMMAND, name, Channel.COMMAND)

    @classmethod
    def visitor(cls) -> Actor:
        """Someone on the public pages (a problem report, a new subscription): not named, as
        the log is append-only and keeps no personal data."""
        return cls(ActorType.VISITOR, "visitor", Channel.PUBLIC)

    @classmethod
    def subscriber(cls, subscriber: Any) -> Actor:
        """A subscriber acting through their own link (confirm, preferences, unsubscribe),
        named by public id, not by address."""
        return cls(ActorType.SUBSCRIBER, f"subscriber {subscriber.public_id}", Channel.PUBLIC)

    def __str__(self) -> str:
        return self.name


def as_actor(actor: Any) -> Actor:
    """An `Actor` for what callers pass: an Actor, a user, an API key, a `System`, or None."""
    from .base import System

    if isinstance(actor, Actor):
        return actor
    if isinstance(actor, get_user_model()):
        return Actor.for_user(actor)
    if isinstance(actor, APIKey):
        return Actor.for_api_key(actor)
    if isinstance(actor, System):
        channel: dict[str, str] = {
            ActorType.CLOCK: Channel.CLOCK,
            ActorType.COMMAND: Channel.COMMAND,
        }
        return Actor(actor.kind, actor.name, channel.get(actor.kind, Channel.SYSTEM))
    if actor is None:
        return Actor(ActorType.SYSTEM, "system", Channel.SYSTEM)
    return Actor(ActorType.SYSTEM, str(actor)[:150], Channel.SYSTEM)


# --- Recording -----------------------------------------------------------------------------

# The intent being carried out in this context: its name and the notes its steps add.
_current_intent: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "statuspage_intent", default=None
)


def note(key: str, value: Any) -> None:
    """Add a detail to the audit row of the intent under way (e.g. the update it posted)."""
    current = _current_intent.get()
    if current is not None:
        current["notes"][key] = json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def set_actor(actor: Actor) -> None:
    """Name the actor of the intent under way when only its steps know it (a subscriber found
    by the link they followed)."""
    current = _current_intent.get()
    if current is not None:
        current["actor"] = actor


def field_values(obj: models.Model | None) -> dict[str, Any]:
    """The object's own fields as JSON values (foreign keys by id), without noise."""
    if obj is None:
        return {}
    values = {}
    personal = _PERSONAL.get(obj._meta.model_name or "", set())
    for f in obj._meta.concrete_fields:
        if f.primary_key or f.name in _NOISE or f.name in personal:
            continue
        values[f.attname] = getattr(obj, f.attname)
    return json.loads(json.dumps(values, cls=DjangoJSONEncoder))


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`{field: {"before": old, "after": new}}` for every field that differs."""
    return {
        name: {"before": before.get(name), "after": after.get(name)}
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }


def page_of(obj: Any) -> Page | None:
    if isinstance(obj, Page):
        return obj
    page = getattr(obj, "page", None)
    if isinstance(page, Page):
        return page
    incident = getattr(obj, "incident", None)
    if incident is not None:
        return getattr(incident, "page", None)
    customer = getattr(obj, "customer", None)  # a customer's person: its customer's page
    return getattr(customer, "page", None)


def record(
    actor: Any,
    *,
    action: str,
    obj: models.Model | None,
    page: Page | None = None,
    changes: dict[str, Any] | None = None,
    object_type: str | None = None,
    object_id: Any = None,
) -> AuditEntry:
    """Append one audit row (call inside the write's transaction)."""
    who = as_actor(actor)
    return AuditEntry.objects.create(
        page=page if page is not None else page_of(obj),
        created_at=timezone.now(),
        actor_type=who.type,
        actor_name=who.name[:150],
        actor_user=who.user,
        actor_api_key=who.api_key,
        channel=who.channel,
        action=action,
        object_type=object_type or _model_name(obj),
        object_id=str(object_id if object_id is not None else _object_id(obj)),
        object_repr=str(obj)[:200] if obj is not None else "",
        changes=changes or {},
    )


def intent(action: str) -> Callable[[Callable], Callable]:
    """Make a service function one audited intent, run in one transaction.

    Only the outermost intent of a call records a row (an intent made of smaller ones, like
    scheduling maintenance that is already under way, is one row). The object is the first
    argument when it is a saved instance the intent changes (a page for page settings; a page
    passed as the parent of something new is not), else what the function returns. `changes`
    holds its fields before and after, plus what its steps `note` (the update it posted).
    """

    def decorate(function: Callable) -> Callable:
        @functools.wraps(function)
        def run(*args, **kwargs):
            if _current_intent.get() is not None:
                return function(*args, **kwargs)
            current: dict[str, Any] = {"action": action, "notes": {}}
            token = _current_intent.set(current)
            try:
                with transaction.atomic():
                    target = args[0] if args and isinstance(args[0], models.Model) else None
                    if isinstance(target, Page) and function.__name__ not in _PAGE_INTENTS:
                        target = None  # the parent of what is created
                    before = _reload(target)
                    result = function(*args, **kwargs)
                    made = result[0] if isinstance(result, tuple) and result else result
                    obj = target if before is not None else made
                    if not isinstance(obj, models.Model):
                        obj = target
                    changes = diff(field_values(before), field_values(_reload(obj)))
                    changes.update(current["notes"])
                    record(
                        current.get("actor") or kwargs.get("actor"),
                        action=action,
                        obj=obj,
                        page=page_of(obj) or page_of(target) or page_of(made),
                        changes=changes,
                    )
                    return result
            finally:
                _current_intent.reset(token)

        run.intent = action  # type: ignore[attr-defined]
        return run

    return decorate


# Intents whose first argument is the page they change (elsewhere a page is a parent).
_PAGE_INTENTS = {"save_page", "touch_page", "replace_support_hours"}


def _reload(obj: models.Model | None) -> models.Model | None:
    """A fresh copy from the database (None once deleted or never saved)."""
    if obj is None or obj.pk is None:
        return None
    return type(obj)._base_manager.filter(pk=obj.pk).first()


def _object_id(obj: models.Model | None) -> str:
    """The id the API shows for the object: its public id where it has one."""
    if obj is None:
        return ""
    return str(getattr(obj, "public_id", None) or obj.pk or "")


def _model_name(obj: models.Model | None) -> str:
    """The audited object's type: its concrete model's name (maintenance is an incident)."""
    model = obj._meta.concrete_model if obj is not None else None
    return (model._meta.model_name or "") if model is not None else ""
