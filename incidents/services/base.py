"""What every write shares: actors, errors, the page version and the one way events leave."""

from __future__ import annotations

import copy
import functools
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F

from incidents import events, relay
from incidents.events import DomainEvent
from incidents.models import Page
from incidents.snapshot import stamp_version

if TYPE_CHECKING:
    from django.contrib.auth.models import User

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


class PermissionRefused(ServiceError):
    """The actor may not make this change (the API answers 403)."""

    status_code = 403

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message, code="forbidden", field=field)


class TransitionError(ServiceError):
    """The requested lifecycle step is not allowed from the current state."""

    status_code = 409

    def __init__(self, message: str, *, field: str | None = "status"):
        super().__init__(message, code="invalid_transition", field=field)


@dataclass(frozen=True)
class System:
    """An actor that is not a person: the maintenance clock, a monitor, an import.

    `kind` is its actor type in the audit trail: "clock", "command", "integration", "system".
    """

    name: str
    kind: str = "system"

    def __str__(self) -> str:
        return self.name


def actor_fields(actor: Any) -> tuple[User | None, str]:
    """The (user, name) pair stored in history for an actor of any kind."""
    from .audit import Actor

    if actor is None:
        return None, "system"
    if isinstance(actor, Actor):
        return actor.user, actor.name[:150]
    if isinstance(actor, get_user_model()):
        return actor, actor.get_username()
    return None, str(actor)[:150]


def bump_version(page: Page) -> int:
    """Advance the page's version (inside the caller's transaction) and return the new one."""
    Page.objects.filter(pk=page.pk).update(version=F("version") + 1)
    page.version = Page.objects.values_list("version", flat=True).get(pk=page.pk)
    # The public pages' fast path stops answering the old rendering now (another process's
    # slow path cannot build the new one before the commit) and again on commit (in case a
    # slow request stamped the old version in between).
    stamp_version(page)
    transaction.on_commit(functools.partial(stamp_version, copy.copy(page)))
    return page.version


def publish_event(page: Page, event_type: str, data: dict[str, Any]) -> None:
    """Record a domain event; one merged event per page goes out after the transaction commits.

    The first event of a page in a transaction bumps its version (with `F()`, never from a
    loaded object); later ones in the same transaction join it (see `merge_events`), so one
    intent is one version bump and one event, however many steps it took. Every channel
    (websocket push, notifications, caches) listens to `domain_event`; nothing is sent for a
    transaction that rolls back, and nothing committed is lost when a channel fails: the merged
    event is written to the outbox in the same transaction (`_Batch.record`).
    """
    connection = transaction.get_connection()
    batches: dict[int, _Batch] = connection.__dict__.setdefault("_statuspage_events", {})
    scope = _transaction_scope(connection)
    batch = batches.get(page.pk)
    if batch is not None and batch.is_open(connection, scope):
        batch.events.append((event_type, data))
        batch.record()
        page.version = batch.version
        return
    batch = _Batch(page_id=page.pk, page_slug=page.slug, version=bump_version(page), scope=scope)
    batch.events.append((event_type, data))
    batch.record()
    batches[page.pk] = batch
    transaction.on_commit(batch.deliver)


def _transaction_scope(connection) -> Any:
    """What identifies the current transaction: the savepoint of the outermost atomic block
    that is not a test case's (tests run inside one rolled-back transaction; each service call
    in a test is its own transaction, as it is in production)."""
    for index, block in enumerate(connection.atomic_blocks):
        if not getattr(block, "_from_testcase", False):
            return None if index == 0 else (index, connection.savepoint_ids[index - 1])
    return "autocommit"


# Which event of a merged transaction names it: an import first, then removals, then what a
# subscriber must hear first (a new incident or maintenance), then the end of one, then progress.
_HEADLINE_RANK = {
    # An import's steps (components, incidents, history) are one event that tells nobody.
    events.PAGE_IMPORTED: 10,
    events.INCIDENT_DELETED: 9,
    events.COMPONENT_DELETED: 8,
    events.INCIDENT_CREATED: 7,
    events.MAINTENANCE_SCHEDULED: 7,
    events.INCIDENT_RESOLVED: 6,
    events.MAINTENANCE_COMPLETED: 6,
    events.INCIDENT_REOPENED: 5,
    events.MAINTENANCE_STARTED: 4,
    events.INCIDENT_UPDATED: 3,
    events.MAINTENANCE_UPDATED: 3,
    events.MAINTENANCE_REMINDER: 2,
    events.INCIDENT_CHANGED: 1,
    events.INCIDENT_UPDATE_EDITED: 1,
    events.COMPONENT_UPDATED: 1,
}


def merge_events(steps: list[tuple[str, dict[str, Any]]]) -> tuple[str, dict[str, Any]]:
    """One event for the steps of one transaction on one page.

    The type is the step that matters most to a reader (`_HEADLINE_RANK`; the earliest wins a
    tie); the data is that step's, except that an incident's latest update (and state) is the
    last step's that carried an update for the same incident, so subscribers hear the final
    word once. `component_ids` is the union of all steps'; `steps` lists every step's type.
    """
    if len(steps) == 1:
        return steps[0]
    headline = max(range(len(steps)), key=lambda i: (_HEADLINE_RANK.get(steps[i][0], 0), -i))
    event_type, data = steps[headline]
    incident_id = (data.get("incident") or {}).get("id")
    if incident_id is not None and event_type != events.INCIDENT_DELETED:
        for _type, later in reversed(steps[headline:]):
            same = (later.get("incident") or {}).get("id") == incident_id
            if same and later.get("update") is not None:
                data = {**later, "incident": {**data["incident"], **later["incident"]}}
                break
    component_ids = sorted({i for _type, step in steps for i in step.get("component_ids") or ()})
    if component_ids or "component_ids" in data:
        data = {**data, "component_ids": component_ids}
    return event_type, {**data, "steps": [step_type for step_type, _data in steps]}


@dataclass(eq=False)
class _Batch:
    """The events of one page in one transaction, delivered as one on commit."""

    page_id: int
    page_slug: str
    version: int
    scope: Any
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    delivered: bool = False
    row_id: int | None = None  # its outbox row

    def is_open(self, connection, scope) -> bool:
        """Still collecting: same transaction, not delivered, its commit hook not rolled back."""
        return (
            not self.delivered
            and connection.in_atomic_block
            and scope == self.scope
            and any(hook == self.deliver for _ids, hook, _robust in connection.run_on_commit)
        )

    def event(self) -> DomainEvent:
        """The one event this transaction's steps make (merged)."""
        event_type, data = merge_events(self.events)
        return DomainEvent(
            page_id=self.page_id,
            page_slug=self.page_slug,
            version=self.version,
            type=event_type,
            data=data,
        )

    def record(self) -> None:
        """Write (or rewrite) the merged event into the outbox, inside the transaction: the
        transactional outbox, one row per page per transaction (incidents/relay.py)."""
        if self.row_id is None:
            self.row_id = relay.record(self.event()).pk
        else:
            relay.rewrite(self.row_id, self.event())

    def deliver(self) -> None:
        """On commit: the relay publishes the row off the response's path, and again until
        every listener took it."""
        self.delivered = True
        assert self.row_id is not None  # recorded with the first step
        relay.after_commit(self.row_id)
