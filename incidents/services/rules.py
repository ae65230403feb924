"""The domain's rules, each defined once: impacts, incident status transitions, the maintenance
state machine and the default texts of an update. Services, forms and the API all ask here."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from incidents.models import (
    COMPONENT_SEVERITY,
    INCIDENT_OPEN_STATUSES,
    INCIDENT_STATUSES,
    MAINTENANCE_STATUSES,
    ComponentStatus,
    Impact,
    Incident,
    IncidentStatus,
)

from .base import ServiceError, TransitionError

# --- Impact -------------------------------------------------------------------------------

# An incident's impact; `maintenance` belongs to maintenance only (it is set, never chosen).
INCIDENT_IMPACTS = (Impact.NONE, Impact.MINOR, Impact.MAJOR, Impact.CRITICAL)

# The component status an impact stands for (the inverse of `impact_for`).
STATUS_FOR_IMPACT: dict[str, str] = {
    Impact.MINOR: ComponentStatus.DEGRADED_PERFORMANCE,
    Impact.MAJOR: ComponentStatus.PARTIAL_OUTAGE,
    Impact.CRITICAL: ComponentStatus.MAJOR_OUTAGE,
}


def validate_impact(impact: str, *, maintenance: bool = False, field: str = "impact") -> str:
    """An incident's impact is none, minor, major or critical; maintenance's is `maintenance`."""
    if maintenance:
        if impact != Impact.MAINTENANCE:
            raise ServiceError(_("Maintenance always has the impact “maintenance”."), field=field)
        return impact
    if impact not in INCIDENT_IMPACTS:
        raise ServiceError(
            _("Impact must be one of: none, minor, major, critical."), code="invalid", field=field
        )
    return impact


def impact_for(statuses: list[str]) -> str:
    """The impact Statuspage derives from the worst component status an incident sets."""
    worst = max((COMPONENT_SEVERITY[s] for s in statuses), default=0)
    if worst >= COMPONENT_SEVERITY[ComponentStatus.MAJOR_OUTAGE]:
        return Impact.CRITICAL
    if worst >= COMPONENT_SEVERITY[ComponentStatus.PARTIAL_OUTAGE]:
        return Impact.MAJOR
    if worst >= COMPONENT_SEVERITY[ComponentStatus.DEGRADED_PERFORMANCE]:
        return Impact.MINOR
    return Impact.NONE


# --- Incident statuses ----------------------------------------------------------------------


def validate_new_incident_status(status: str) -> str:
    """The status an incident is opened with (resolved too: an incident recorded afterwards)."""
    if status not in INCIDENT_STATUSES:
        raise TransitionError(
            _("A new incident's status must be one of: %(choices)s.")
            % {"choices": ", ".join(INCIDENT_STATUSES)}
        )
    return status


def validate_reopen_status(status: str) -> str:
    if status not in INCIDENT_OPEN_STATUSES:
        raise TransitionError(
            _("A reopened incident is investigating, identified or monitoring, not %(status)s.")
            % {"status": status}
        )
    return status


# --- The maintenance state machine -----------------------------------------------------------

# Which maintenance status may follow which.
MAINTENANCE_TRANSITIONS: dict[str, set[str]] = {
    IncidentStatus.SCHEDULED: {IncidentStatus.IN_PROGRESS, IncidentStatus.COMPLETED},
    IncidentStatus.IN_PROGRESS: {IncidentStatus.VERIFYING, IncidentStatus.COMPLETED},
    IncidentStatus.VERIFYING: {IncidentStatus.IN_PROGRESS, IncidentStatus.COMPLETED},
    IncidentStatus.COMPLETED: set(),
}
# Maintenance in these states holds its components under maintenance.
ACTIVE_MAINTENANCE_STATUSES = (IncidentStatus.IN_PROGRESS, IncidentStatus.VERIFYING)


def maintenance_path(target: str) -> list[str]:
    """The steps new maintenance goes through to be created in `target` (scheduled first)."""
    paths: dict[str, list[str]] = {
        IncidentStatus.SCHEDULED: [],
        IncidentStatus.IN_PROGRESS: [IncidentStatus.IN_PROGRESS],
        IncidentStatus.VERIFYING: [IncidentStatus.IN_PROGRESS, IncidentStatus.VERIFYING],
        IncidentStatus.COMPLETED: [IncidentStatus.COMPLETED],
    }
    if target not in paths:
        raise TransitionError(
            _("Maintenance status must be one of: %(choices)s.")
            % {"choices": ", ".join(MAINTENANCE_STATUSES)}
        )
    return paths[target]


def validate_transition(incident: Incident, new_status: str) -> None:
    """Refuse a status the incident (or maintenance) may not move to from where it is."""
    if incident.is_maintenance:
        if new_status not in MAINTENANCE_STATUSES:
            raise TransitionError(
                _("Maintenance status must be one of: %(choices)s.")
                % {"choices": ", ".join(MAINTENANCE_STATUSES)}
            )
        if incident.status == IncidentStatus.COMPLETED:
            raise TransitionError(_("This maintenance is completed; it cannot change any more."))
        if (
            new_status != incident.status
            and new_status not in MAINTENANCE_TRANSITIONS[incident.status]
        ):
            raise TransitionError(
                _("Maintenance that is %(current)s cannot become %(new)s.")
                % {"current": incident.get_status_display().lower(), "new": new_status}
            )
        return
    if new_status not in INCIDENT_STATUSES:
        raise TransitionError(
            _("Incident status must be one of: %(choices)s.")
            % {"choices": ", ".join(INCIDENT_STATUSES)}
        )
    if incident.status == IncidentStatus.RESOLVED:
        raise TransitionError(_("This incident is resolved. Reopen it first to post a new status."))


# --- Default texts -----------------------------------------------------------------------------

# Statuspage's default messages, for a status change sent without a body.
DEFAULT_BODIES: dict[str, str] = {
    IncidentStatus.INVESTIGATING: gettext_noop("We are currently investigating this issue."),
    IncidentStatus.IDENTIFIED: gettext_noop(
        "The issue has been identified and a fix is being implemented."
    ),
    IncidentStatus.MONITORING: gettext_noop(
        "A fix has been implemented and we are monitoring the results."
    ),
    IncidentStatus.RESOLVED: gettext_noop("This incident has been resolved."),
    IncidentStatus.SCHEDULED: gettext_noop("Scheduled maintenance."),
    IncidentStatus.IN_PROGRESS: gettext_noop("Scheduled maintenance is now in progress."),
    IncidentStatus.VERIFYING: gettext_noop(
        "Verification is currently underway for the maintenance items."
    ),
    IncidentStatus.COMPLETED: gettext_noop("The scheduled maintenance has been completed."),
}
CANCELLED_BODY = gettext_noop("The scheduled maintenance has been cancelled.")


def default_body(language: str, status: str, *, cancelled: bool = False) -> str:
    """The message of an update posted without one, in the page's language."""
    with translation.override(language):
        return _(CANCELLED_BODY if cancelled else DEFAULT_BODIES[status])
