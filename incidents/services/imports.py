"""Writes of an import: an incident with its whole past timeline, and the source-id mapping.

A live incident is written by `open_incident` and `post_update`, which stamp "now", change
component statuses and notify. An imported incident already happened: it keeps its own times,
leaves the components as the source has them now, and tells nobody. One incident (with its
updates, affected components and postmortem) is one transaction and one event.

The components' status history (the time series uptime is computed from) is rebuilt from the
imported updates as if they had been posted live: each update's affected components change
status at the update's time (`display_at`), linked to the incident; `import_component_history`
then starts each component's history when it started at the source. The importer runs all of
it in one transaction whose one event is `page.imported` (`record_import`): history and uptime
send nothing of their own.
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
    ComponentDailyStatus,
    ComponentStatus,
    ComponentStatusChange,
    Impact,
    ImportedObject,
    Incident,
    IncidentComponent,
    IncidentUpdate,
    Page,
)
from incidents.uptime import local_day

from .audit import intent, note
from .base import ServiceError, actor_fields, publish_event
from .incidents import MAX_BODY, MAX_TITLE, _clean_text
from .postmortems import _clean_body
from .uptime import roll_up_component


def recall(
    source: str, kind: str, source_id: Any, queryset: models.QuerySet, *, page: Page | None = None
):
    """Our object (of `page`, when given) imported from this source object before, or None
    (also when it was deleted here since: the next import makes it again)."""
    mapped = ImportedObject.objects.filter(source=source, kind=kind, source_id=str(source_id))
    if page is not None:
        mapped = mapped.filter(page=page)
    for object_id in mapped.values_list("object_id", flat=True):
        found = queryset.filter(pk=object_id).first()
        if found is not None:
            return found
    return None


def remember(page: Page, source: str, kind: str, source_id: Any, obj: models.Model) -> None:
    """Record (or re-point) which of our objects a source object became."""
    ImportedObject.objects.update_or_create(
        page=page,
        source=source,
        kind=kind,
        source_id=str(source_id),
        defaults={"object_id": str(obj.pk)},
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
    page: Page, *, actor: Any, source: str, past: PastIncident, roll_up: bool = True
) -> tuple[Incident, str, dict[int, dt.datetime]]:
    """Create or bring up to date the incident a source incident became, with its timeline
    and the status changes its updates made in the components' history.

    Returns the incident, "created", "updated" or "unchanged", and for each component whose
    history changed the earliest moment that changed. Their daily uptime rows are recomputed
    from then, unless `roll_up` is False: an importer of many incidents does that once per
    component afterwards (`import_component_history(changed_since=...)`). Emits
    `incident.imported` (which notifies nobody) when anything changed.
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
    if _sync_postmortem(incident, past) and outcome == "unchanged":
        outcome = "updated"
    touched = _sync_history(incident, past, actor)
    if touched and outcome == "unchanged":
        outcome = "updated"
    for component_id, since in touched.items() if roll_up else ():
        roll_up_component(component_id, rebuild_from=local_day(since, page.tz))
    if outcome != "unchanged":
        publish_event(
            page,
            events.INCIDENT_IMPORTED,
            {"incident": {"id": incident.pk, "kind": incident.kind, "name": incident.name}},
        )
    return incident, outcome, touched


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


def _history_changes(past: PastIncident) -> list[tuple[int, dt.datetime, str, str]]:
    """(component id, when, old status, new status) for every status change an update made."""
    changes = []
    for update in past.updates:
        for item in update.affected_components:
            new = item.get("new_status")
            old = item.get("old_status")
            if new not in ComponentStatus.values or old == new:
                continue
            old = old if old in ComponentStatus.values else ComponentStatus.OPERATIONAL
            changes.append((int(item["code"]), update.display_at, old, new))
    return sorted(changes)


def _sync_history(incident: Incident, past: PastIncident, actor: Any) -> dict[int, dt.datetime]:
    """Make the history rows of this incident's imported updates what the source says; rows
    written here since (a live update to the imported incident) stay. Returns, for each
    component whose history changed, the earliest moment that changed."""
    user, name = actor_fields(actor)
    wanted = _history_changes(past)
    rows = ComponentStatusChange.objects.filter(incident=incident, actor=user, actor_name=name)
    have = sorted(rows.values_list("component_id", "changed_at", "old_status", "new_status"))
    if have == wanted:
        return {}
    touched: dict[int, dt.datetime] = {}
    for component_id, at, _old, _new in set(have) ^ set(wanted):
        touched[component_id] = min(at, touched.get(component_id, at))
    rows.delete()
    ComponentStatusChange.objects.bulk_create(
        ComponentStatusChange(
            component_id=component_id,
            old_status=old,
            new_status=new,
            changed_at=at,
            actor=user,
            actor_name=name,
            incident=incident,
        )
        for component_id, at, old, new in wanted
    )
    return touched


@intent("import_component_history")
@transaction.atomic
def import_component_history(
    component: Component,
    *,
    actor: Any,
    started_at: dt.datetime | None,
    changed_since: dt.datetime | None = None,
) -> Component:
    """Start an imported component's history when it started at the source (`started_at`,
    or its first imported change if earlier), in the status it had before that change.

    Its first import created it "now" in the source's current status: that first row moves back
    to the start, and what it said becomes an ordinary change at the moment of the import (when
    the imported changes left the component in another status). Its daily uptime rows are then
    recomputed (from `changed_since` too: the earliest change imported incidents made without
    rolling up). Returns the component; sends no event (the import's `page.imported` carries
    it) and does nothing when the history already starts there and nothing changed since.
    """
    component = Component.objects.select_for_update().select_related("page").get(pk=component.pk)
    rows = list(component.status_changes.order_by("changed_at", "id"))
    first = next((row for row in rows if row.old_status == ""), None)
    later = [row for row in rows if row is not first]
    candidates = [t for t in (started_at, component.created_at) if t is not None]
    if later:
        candidates.append(later[0].changed_at)
    begin = min(candidates)
    initial = later[0].old_status if later and later[0].old_status else component.status
    tz = component.page.tz
    if first is not None and first.changed_at <= begin and first.new_status == initial:
        if changed_since is not None:
            roll_up_component(component, rebuild_from=local_day(changed_since, tz))
        return component
    if first is None:
        first = ComponentStatusChange(component=component, old_status="", changed_at=begin)
    elif first.changed_at > begin:
        # What the first row said (the status at the import) stays true from then on.
        before = [row for row in later if row.changed_at <= first.changed_at]
        status_then = before[-1].new_status if before else initial
        if status_then != first.new_status:
            ComponentStatusChange.objects.create(
                component=component,
                old_status=status_then,
                new_status=first.new_status,
                changed_at=first.changed_at,
                actor=first.actor,
                actor_name=first.actor_name,
            )
    first.changed_at = min(begin, first.changed_at) if first.pk else begin
    first.new_status = initial
    first.save()
    if component.created_at > first.changed_at:
        component.created_at = first.changed_at
        Component.objects.filter(pk=component.pk).update(created_at=first.changed_at)
    ComponentDailyStatus.objects.filter(component=component).delete()
    roll_up_component(component, rebuild_from=local_day(first.changed_at, tz))
    note("history_starts_at", first.changed_at)
    return component


@intent("record_import")
@transaction.atomic
def record_import(page: Page, *, actor: Any, source: str, counts: dict[str, Any]) -> Page:
    """The end of an import into `page`: one audit row with what it did, and the import's one
    event, `page.imported` (which notifies nobody and heads the steps merged into it)."""
    note("source", source)
    note("counts", counts)
    publish_event(page, events.PAGE_IMPORTED, {"page": {"id": page.pk, "slug": page.slug}})
    return page


def _import_name() -> str:
    return "import"


def _sync_postmortem(incident: Incident, past: PastIncident) -> bool:
    """The postmortem as the source has it (its change is in the import's audit row)."""
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
    return True
