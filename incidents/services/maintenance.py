"""Writes to scheduled maintenance: schedule, start, move to verifying, complete, reschedule."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents import events
from incidents.models import Impact, Incident, IncidentStatus, IncidentUpdate, Page

from .base import ServiceError, publish_event
from .incidents import (
    MAX_BODY,
    MAX_TITLE,
    ComponentStatuses,
    _append_update,
    _clean_text,
    _note_components,
    incident_data,
    post_update,
    resolve_components,
)


def _check_window(starts: dt.datetime | None, ends: dt.datetime | None) -> None:
    if starts is None or ends is None:
        raise ServiceError(
            _("Maintenance needs a start and an end."), code="required", field="scheduled_for"
        )
    if timezone.is_naive(starts) or timezone.is_naive(ends):
        raise ServiceError(_("Start and end need a time zone."), field="scheduled_for")
    if ends <= starts:
        raise ServiceError(
            _("The end of the maintenance must be after its start."),
            code="invalid",
            field="scheduled_until",
        )


@transaction.atomic
def schedule_maintenance(
    page: Page,
    *,
    actor: Any,
    name: str,
    body: str,
    scheduled_for: dt.datetime,
    scheduled_until: dt.datetime,
    components: ComponentStatuses | list | None = None,
    auto_start: bool = True,
    auto_complete: bool = True,
    deliver_notifications: bool = True,
) -> Incident:
    """Announce maintenance. Its components go under maintenance only when it starts."""
    name = _clean_text(name, field="name", label=_("A title"), limit=MAX_TITLE)
    body = _clean_text(body, field="body", label=_("A message"), limit=MAX_BODY)
    _check_window(scheduled_for, scheduled_until)
    if isinstance(components, list | tuple | set):
        components = {c: "under_maintenance" for c in components}
    statuses = resolve_components(page, components)
    now = timezone.now()
    incident = Incident.objects.create(
        page=page,
        kind=Incident.Kind.MAINTENANCE,
        name=name,
        status=IncidentStatus.SCHEDULED,
        impact=Impact.MAINTENANCE,
        created_at=now,
        updated_at=now,
        started_at=scheduled_for,
        scheduled_for=scheduled_for,
        scheduled_until=scheduled_until,
        scheduled_auto_in_progress=auto_start,
        scheduled_auto_completed=auto_complete,
    )
    affected = _note_components(incident, statuses)
    update = _append_update(
        incident,
        actor=actor,
        status=IncidentStatus.SCHEDULED,
        body=body,
        affected=affected,
        deliver_notifications=deliver_notifications,
        at=now,
    )
    publish_event(page, events.MAINTENANCE_SCHEDULED, incident_data(incident, update))
    return incident


def start_maintenance(
    maintenance: Incident, *, actor: Any, body: str = "", deliver_notifications: bool = True
) -> IncidentUpdate:
    """Begin maintenance (early or on time): its components go under maintenance."""
    if not body:
        with _page_language(maintenance):
            body = _("Scheduled maintenance is now in progress.")
    statuses = {link.component_id: "under_maintenance" for link in maintenance.affected.all()}
    return post_update(
        maintenance,
        actor=actor,
        status=IncidentStatus.IN_PROGRESS,
        body=body,
        components=statuses,
        deliver_notifications=deliver_notifications,
    )


def complete_maintenance(
    maintenance: Incident, *, actor: Any, body: str = "", deliver_notifications: bool = True
) -> IncidentUpdate:
    """End maintenance (or cancel it before it started): components get their status back."""
    if not body:
        with _page_language(maintenance):
            body = (
                _("The scheduled maintenance has been cancelled.")
                if maintenance.status == IncidentStatus.SCHEDULED
                else _("The scheduled maintenance has been completed.")
            )
    return post_update(
        maintenance,
        actor=actor,
        status=IncidentStatus.COMPLETED,
        body=body,
        deliver_notifications=deliver_notifications,
    )


@transaction.atomic
def reschedule_maintenance(
    maintenance: Incident,
    *,
    actor: Any,
    scheduled_for: dt.datetime | None = None,
    scheduled_until: dt.datetime | None = None,
) -> Incident:
    """Move or extend a maintenance window (recorded as an event, no notice on its own)."""
    maintenance = Incident.objects.select_for_update().select_related("page").get(pk=maintenance.pk)
    if not maintenance.is_maintenance or maintenance.is_resolved:
        raise ServiceError(
            _("Only open maintenance can be rescheduled."), code="invalid_transition"
        )
    starts = scheduled_for or maintenance.scheduled_for
    ends = scheduled_until or maintenance.scheduled_until
    _check_window(starts, ends)
    if maintenance.status != IncidentStatus.SCHEDULED and scheduled_for is not None:
        raise ServiceError(
            _("Maintenance that has started cannot move its start; extend its end instead."),
            code="invalid_transition",
            field="scheduled_for",
        )
    maintenance.scheduled_for, maintenance.scheduled_until = starts, ends
    if maintenance.status == IncidentStatus.SCHEDULED:
        maintenance.started_at = starts
    maintenance.updated_at = timezone.now()
    maintenance.save()
    publish_event(maintenance.page, events.INCIDENT_CHANGED, incident_data(maintenance))
    return maintenance


def _page_language(incident: Incident):
    from django.utils import translation

    return translation.override(incident.page.default_language)
