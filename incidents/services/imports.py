"""Writes of an import: an incident with its whole past timeline, and the source-id mapping.

A live incident is written by `open_incident` and `post_update`, which stamp "now", change
component statuses and notify. An imported incident already happened: it keeps its own times,
leaves the components as the source has them now, and tells nobody. One incident (with its
updates, affected components and postmortem) is one transaction and one event.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents import events
from incidents.models import (
    INCIDENT_STATUSES,
    MAINTENANCE_STATUSES,
    Component,
    ComponentStatus,
    Impact,
    ImportedObject,
    Incident,
    IncidentComponent,
    IncidentUpdate,
    Page,
    PostmortemRevision,
)

from .audit import intent
from .base import ServiceError, actor_fields, publish_event
from .incidents import MAX_BODY, MAX_TITLE, _clean_text
from .postmortems import _clean_body


def recall(
    source: str, kind: str, source_id: Any, queryset: models.QuerySet, *, page: Page | None = None
):
    """Our object (of `page`, when given) imported from this source object before, or None
    (also when it was deleted here since: the next import makes it again)."""
    mapped = ImportedObject.objects.filter(source=source, kind=kind, source_id=str(source_id))
    if page is not None:
        mapped = mapped.filter(page=page)
    for object_id in mapped.values_list("object_id", flat=True):
        found = queryset.filter(_our_id(queryset.model, object_id)).first()
        if found is not None:
            return found
    return None


def our_id(obj: models.Model) -> str:
    """How the mapping names our object: its public id where it has one (stable when the page
    moves to another installation), else its database id."""
    return str(getattr(obj, "public_id", None) or obj.pk)


def _our_id(model: type[models.Model], object_id: str) -> models.Q:
    # Mappings written before objects had public ids hold database ids (digits).
    if any(f.name == "public_id" for f in model._meta.concrete_fields) and not object_id.isdigit():
        return models.Q(public_id=object_id)
    return models.Q(pk=int(object_id)) if object_id.isdigit() else models.Q(pk__in=[])


def remember(page: Page, source: str, kind: str, source_id: Any, obj: models.Model) -> None:
    """Record (or re-point) which of our objects a source object became."""
    ImportedObject.objects.update_or_create(
        page=page,
        source=source,
        kind=kind,
        source_id=str(source_id),
        defaults={"object_id": our_id(obj)},
    )


@dataclass
class PastUpdate:
    source_id: str
    status: str
    body: str
    created_at: dt.datetime
    display_at: dt.datetime
    updated_at: dt.datetime
    deliver_notifications: bool = True
    # [{"code": our component id, "name", "old_status", "new_status"}]
    affected_components: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class PastIncident:
    """An incident or maintenance as it happened at the source, ids already translated."""

    source_id: str
    kind: str
    name: str
    status: str
    impact: str
    created_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime
    monitoring_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    scheduled_for: dt.datetime | None = None
    scheduled_until: dt.datetime | None = None
    scheduled_auto_in_progress: bool = True
    scheduled_auto_completed: bool = True
    components: dict[Component, str] = field(default_factory=dict)
    updates: list[PastUpdate] = field(default_factory=list)
    postmortem_draft: str = ""
    postmortem_published: str = ""
    postmortem_published_at: dt.datetime | None = None
    postmortem_notified_subscribers: bool = False


INCIDENT_FIELDS = (
    "kind", "name", "status", "impact", "created_at", "updated_at", "started_at",
    "monitoring_at", "resolved_at", "scheduled_for", "scheduled_until",
    "scheduled_auto_in_progress", "scheduled_auto_completed",
)  # fmt: skip
UPDATE_FIELDS = (
    "status", "body", "created_at", "display_at", "updated_at", "deliver_notifications",
    "affected_components",
)  # fmt: skip


def _validate(page: Page, past: PastIncident) -> None:
    statuses = MAINTENANCE_STATUSES if past.kind == Incident.Kind.MAINTENANCE else INCIDENT_STATUSES
    past.name = _clean_text(past.name, field="name", label=_("A title"), limit=MAX_TITLE)
    if past.status not in statuses:
        raise ServiceError(
            _("“%(status)s” is not a status of this kind of incident.") % {"status": past.status},
            field="status",
        )
    if past.impact not in Impact.values:
        raise ServiceError(_("Unknown impact “%(impact)s”.") % {"impact": past.impact})
    for update in past.updates:
        if update.status not in statuses:
            raise ServiceError(
                _("An update has the unknown status “%(status)s”.") % {"status": update.status},
                field="incident_updates",
            )
        update.body = _clean_text(update.body, field="body", label=_("A message"), limit=MAX_BODY)
    for component, status in past.components.items():
        if component.page_id != page.pk or status not in ComponentStatus.values:
            raise ServiceError(_("An affected component is not on this page."))
    if past.scheduled_for and past.scheduled_until and past.scheduled_until <= past.scheduled_for:
        raise ServiceError(_("The maintenance window ends before it starts."))
    past.postmortem_draft = _clean_body(past.postmortem_draft)
    past.postmortem_published = _clean_body(past.postmortem_published)


@intent("import_incident")
@transaction.atomic
def import_incident(
    page: Page, *, actor: Any, source: str, past: PastIncident
) -> tuple[Incident, str]:
    """Create or bring up to date the incident a source incident became, with its timeline.

    Returns the incident and "created", "updated" or "unchanged". Emits `incident.imported`
    (which notifies nobody) when anything changed.
    """
    _validate(page, past)
    incident = recall(
        source, "incident", past.source_id, Incident.objects.filter(page=page), page=page
    )
    values = {name: getattr(past, name) for name in INCIDENT_FIELDS}
    if incident is None:
        incident = Incident.objects.create(page=page, **values)
        outcome = "created"
    else:
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        changed = [name for name, value in values.items() if getattr(incident, name) != value]
        for name in changed:
            setattr(incident, name, values[name])
        if changed:
            incident.save(update_fields=changed)
        outcome = "updated" if changed else "unchanged"
    remember(page, source, "incident", past.source_id, incident)
    if _sync_components(incident, past.components):
        outcome = "updated" if outcome == "unchanged" else outcome
    for update in past.updates:
        if _sync_update(page, source, incident, update) and outcome == "unchanged":
            outcome = "updated"
    if _sync_postmortem(incident, past, actor) and outcome == "unchanged":
        outcome = "updated"
    if outcome != "unchanged":
        publish_event(
            page,
            events.INCIDENT_IMPORTED,
            {"incident": {"id": incident.pk, "kind": incident.kind, "name": incident.name}},
        )
    return incident, outcome


def _sync_components(incident: Incident, components: dict[Component, str]) -> bool:
    existing = {link.component_id: link for link in incident.affected.all()}
    changed = False
    for component, status in components.items():
        link = existing.pop(component.pk, None)
        if link is None:
            IncidentComponent.objects.create(
                incident=incident, component=component, status=status, status_before=status
            )
            changed = True
        elif link.status != status:
            link.status = status
            link.save(update_fields=["status"])
            changed = True
    if existing:
        IncidentComponent.objects.filter(pk__in=[link.pk for link in existing.values()]).delete()
        changed = True
    return changed


def _sync_update(page: Page, source: str, incident: Incident, past: PastUpdate) -> bool:
    values = {name: getattr(past, name) for name in UPDATE_FIELDS}
    update = recall(source, "incident_update", past.source_id, incident.updates.all(), page=page)
    if update is None:
        update = IncidentUpdate.objects.create(
            incident=incident, author_name=_import_name(), **values
        )
        remember(page, source, "incident_update", past.source_id, update)
        return True
    changed = [name for name, value in values.items() if getattr(update, name) != value]
    for name in changed:
        setattr(update, name, values[name])
    if changed:
        update.save(update_fields=changed)
    return bool(changed)


def _import_name() -> str:
    return "import"


def _sync_postmortem(incident: Incident, past: PastIncident, actor: Any) -> bool:
    wanted = {
        "postmortem": past.postmortem_draft,
        "postmortem_published": past.postmortem_published if past.postmortem_published_at else "",
        "postmortem_published_at": past.postmortem_published_at
        if past.postmortem_published
        else None,
        "postmortem_notified_subscribers": past.postmortem_notified_subscribers,
    }
    changed = [name for name, value in wanted.items() if getattr(incident, name) != value]
    if not changed:
        return False
    now = timezone.now()
    for name in changed:
        setattr(incident, name, wanted[name])
    incident.postmortem_updated_at = now if incident.postmortem else None
    incident.save(update_fields=[*changed, "postmortem_updated_at"])
    user, name = actor_fields(actor)
    PostmortemRevision.objects.create(
        incident=incident,
        action=PostmortemRevision.Action.PUBLISHED
        if incident.postmortem_published_at
        else PostmortemRevision.Action.EDITED,
        body=incident.postmortem,
        notified_subscribers=False,
        actor=user,
        actor_name=name,
        created_at=now,
    )
    return True
