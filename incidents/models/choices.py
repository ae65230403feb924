"""The vocabularies (Statuspage's): component and incident statuses, impact, page indicator."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ComponentStatus(models.TextChoices):
    OPERATIONAL = "operational", _("Operational")
    DEGRADED_PERFORMANCE = "degraded_performance", _("Degraded performance")
    PARTIAL_OUTAGE = "partial_outage", _("Partial outage")
    MAJOR_OUTAGE = "major_outage", _("Major outage")
    UNDER_MAINTENANCE = "under_maintenance", _("Under maintenance")


# How bad each component status is, for "the worst current state".
COMPONENT_SEVERITY: dict[str, int] = {
    ComponentStatus.OPERATIONAL: 0,
    ComponentStatus.UNDER_MAINTENANCE: 1,
    ComponentStatus.DEGRADED_PERFORMANCE: 2,
    ComponentStatus.PARTIAL_OUTAGE: 3,
    ComponentStatus.MAJOR_OUTAGE: 4,
}


class IncidentStatus(models.TextChoices):
    INVESTIGATING = "investigating", _("Investigating")
    IDENTIFIED = "identified", _("Identified")
    MONITORING = "monitoring", _("Monitoring")
    RESOLVED = "resolved", _("Resolved")
    # Scheduled maintenance shares the incident table, as in Statuspage.
    SCHEDULED = "scheduled", _("Scheduled")
    IN_PROGRESS = "in_progress", _("In progress")
    VERIFYING = "verifying", _("Verifying")
    COMPLETED = "completed", _("Completed")


INCIDENT_OPEN_STATUSES = (
    IncidentStatus.INVESTIGATING,
    IncidentStatus.IDENTIFIED,
    IncidentStatus.MONITORING,
)
INCIDENT_STATUSES = (*INCIDENT_OPEN_STATUSES, IncidentStatus.RESOLVED)
MAINTENANCE_STATUSES = (
    IncidentStatus.SCHEDULED,
    IncidentStatus.IN_PROGRESS,
    IncidentStatus.VERIFYING,
    IncidentStatus.COMPLETED,
)
CLOSED_STATUSES = (IncidentStatus.RESOLVED, IncidentStatus.COMPLETED)


class Impact(models.TextChoices):
    NONE = "none", _("None")
    MINOR = "minor", _("Minor")
    MAJOR = "major", _("Major")
    CRITICAL = "critical", _("Critical")
    MAINTENANCE = "maintenance", _("Maintenance")


class Indicator(models.TextChoices):
    NONE = "none", _("All systems operational")
    MINOR = "minor", _("Minor service outage")
    MAJOR = "major", _("Partial system outage")
    CRITICAL = "critical", _("Major system outage")
    MAINTENANCE = "maintenance", _("Service under maintenance")
