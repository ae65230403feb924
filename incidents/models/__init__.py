"""The domain: status pages, their components, incidents, maintenance and status history.

Models hold data, constraints and small derived properties. Every write goes through
`incidents.services`; nothing here writes another model. One module per concept; import
from here.
"""

from .alerts import (
    AlertDraft,
    AlertRule,
    AlertState,
    status_for_severity,
)
from .api_keys import (
    APIKey,
    APIKeyPage,
    IdempotencyRecord,
)
from .audit import AuditEntry
from .choices import (
    CLOSED_STATUSES,
    COMPONENT_SEVERITY,
    INCIDENT_OPEN_STATUSES,
    INCIDENT_STATUSES,
    MAINTENANCE_STATUSES,
    ComponentStatus,
    Impact,
    IncidentStatus,
    Indicator,
)
from .customers import Contract, Customer, CustomerDomain, CustomerMember
from .imports import ImportedObject
from .incidents import (
    ComponentStatusChange,
    Incident,
    IncidentComponent,
    IncidentTemplate,
    IncidentUpdate,
    Maintenance,
    MaintenanceManager,
    MaintenanceReminder,
)
from .outbox import OutboxEvent
from .pages import (
    Component,
    ComponentGroup,
    Page,
    PageRole,
    Role,
    SupportHours,
    Visibility,
    hex_colour,
    validate_time_zone,
)
from .public_ids import is_public_id, new_public_id
from .reports import (
    Answer,
    ProblemReport,
    ReportAlert,
)
from .uptime import (
    ComponentDailyStatus,
)

__all__ = [
    "AlertDraft",
    "AlertRule",
    "AlertState",
    "OutboxEvent",
    "APIKey",
    "APIKeyPage",
    "Answer",
    "AuditEntry",
    "CLOSED_STATUSES",
    "COMPONENT_SEVERITY",
    "Component",
    "Contract",
    "Customer",
    "CustomerDomain",
    "CustomerMember",
    "ComponentDailyStatus",
    "ComponentGroup",
    "ComponentStatus",
    "ComponentStatusChange",
    "INCIDENT_OPEN_STATUSES",
    "INCIDENT_STATUSES",
    "IdempotencyRecord",
    "Impact",
    "ImportedObject",
    "Incident",
    "IncidentComponent",
    "IncidentStatus",
    "IncidentTemplate",
    "IncidentUpdate",
    "Indicator",
    "MAINTENANCE_STATUSES",
    "Maintenance",
    "MaintenanceManager",
    "MaintenanceReminder",
    "Page",
    "PageRole",
    "ProblemReport",
    "ReportAlert",
    "Role",
    "SupportHours",
    "Visibility",
    "hex_colour",
    "is_public_id",
    "new_public_id",
    "status_for_severity",
    "validate_time_zone",
]
