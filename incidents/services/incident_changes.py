"""One change to an incident or maintenance that may touch several of its parts at once (the
API's PATCH, Statuspage's "update incident"): rename, new impact, new window, new status with a
message and component statuses, reopening. One intent: one transaction, one event, one audit row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction

from incidents.models import Incident, IncidentStatus

from .audit import intent
from .incidents import (
    ComponentStatuses,
    _messages,
    change_incident,
    post_update,
    reopen_incident,
)
from .maintenance import reschedule_maintenance
from .rules import DEFAULT_BODIES, default_body


@intent("update_incident")
@transaction.atomic
def update_incident(
    incident: Incident,
    *,
    actor: Any,
    name: str | None = None,
    impact: str | None = None,
    status: str | None = None,
    body: str = "",
    components: ComponentStatuses | None = None,
    scheduled_for: dt.datetime | None = None,
    scheduled_until: dt.datetime | None = None,
    deliver_notifications: bool = True,
    name_translations: Mapping[str, str] | None = None,
    body_translations: Mapping[str, str] | None = None,
) -> Incident:
    """Apply what was sent, and only that.

    A name (or an impact without an update) changes the incident's details; a window moves
    maintenance; a status, message or component statuses post an update. An open status sent
    to a resolved incident reopens it (with the component statuses sent). A status change sent
    without a message gets the status's default text; starting maintenance puts its components
    under maintenance. `name_translations` replace the title's translations;
    `body_translations` go with the update's message.
    """
    incident = Incident.objects.select_for_update().select_related("page").get(pk=incident.pk)
    components = dict(components or {})
    posts_update = bool(status or body or components)
    if name is not None or name_translations is not None or (impact and not posts_update):
        change_incident(
            incident, actor=actor, name=name, impact=impact, name_translations=name_translations
        )
    if incident.is_maintenance and (scheduled_for or scheduled_until):
        reschedule_maintenance(
            incident, actor=actor, scheduled_for=scheduled_for, scheduled_until=scheduled_until
        )
    if not posts_update:
        return incident
    incident.refresh_from_db()
    if (
        not incident.is_maintenance
        and incident.status == IncidentStatus.RESOLVED
        and status
        and status != IncidentStatus.RESOLVED
    ):
        reopen_incident(
            incident,
            actor=actor,
            body=body,
            status=status,
            components=components,
            deliver_notifications=deliver_notifications,
            body_translations=body_translations,
        )
        return incident
    if status and status != incident.status and not body and status in DEFAULT_BODIES:
        body = default_body(incident.page.default_language, status)
        body_translations = _messages(
            incident.page, body_translations, defaulted=True, status=status
        )
    if (
        incident.is_maintenance
        and status == IncidentStatus.IN_PROGRESS
        and incident.status == IncidentStatus.SCHEDULED
    ):
        held: dict[Any, str] = {
            link.component_id: "under_maintenance" for link in incident.affected.all()
        }
        components = {**held, **components}
    post_update(
        incident,
        actor=actor,
        status=status,
        body=body,
        components=components,
        deliver_notifications=deliver_notifications,
        impact=impact,
        body_translations=body_translations,
    )
    return incident
