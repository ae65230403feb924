"""Domain events: what happened to a page, sent once after the write commits.

`incidents` only sends; listeners (notifications, websockets) connect in their AppConfig.ready,
so this app never imports them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from django.dispatch import Signal

# Receivers get `event=DomainEvent`.
domain_event = Signal()

INCIDENT_CREATED = "incident.created"
INCIDENT_UPDATED = "incident.updated"
INCIDENT_RESOLVED = "incident.resolved"
INCIDENT_REOPENED = "incident.reopened"
INCIDENT_CHANGED = "incident.changed"  # details edited (title, impact, postmortem): no notice
INCIDENT_DELETED = "incident.deleted"
INCIDENT_UPDATE_EDITED = "incident_update.edited"
POSTMORTEM_EDITED = "incident.postmortem_edited"  # the draft: nothing public changes
POSTMORTEM_PUBLISHED = "incident.postmortem_published"  # notifies when asked to
POSTMORTEM_REVERTED = "incident.postmortem_reverted"
INCIDENT_IMPORTED = "incident.imported"  # a past incident copied in: never notifies
PAGE_IMPORTED = "page.imported"  # the one event of an import (import_statuspage): never notifies
COMPONENT_UPDATED = "component.updated"
COMPONENT_DELETED = "component.deleted"
PAGE_UPDATED = "page.updated"
# A customer (page access group), its services or its people changed: nothing public changes.
CUSTOMER_UPDATED = "customer.updated"
MAINTENANCE_SCHEDULED = "maintenance.scheduled"
MAINTENANCE_STARTED = "maintenance.started"
MAINTENANCE_UPDATED = "maintenance.updated"
MAINTENANCE_COMPLETED = "maintenance.completed"
MAINTENANCE_REMINDER = "maintenance.reminder"

# Events that tell subscribers something new about an incident or maintenance.
NOTIFYING_EVENTS = frozenset(
    {
        INCIDENT_CREATED,
        INCIDENT_UPDATED,
        INCIDENT_RESOLVED,
        INCIDENT_REOPENED,
        MAINTENANCE_SCHEDULED,
        MAINTENANCE_STARTED,
        MAINTENANCE_UPDATED,
        MAINTENANCE_COMPLETED,
        MAINTENANCE_REMINDER,
        POSTMORTEM_PUBLISHED,
    }
)


@dataclass(frozen=True)
class DomainEvent:
    page_id: int
    page_slug: str
    version: int
    type: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
