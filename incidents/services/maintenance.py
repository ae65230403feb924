"""Writes to scheduled maintenance: schedule, start, complete, cancel, reschedule, extend, and
the maintenance clock that starts, completes and reminds on time (Celery beat, every minute)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from incidents import events, validators
from incidents.models import (
    Impact,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    MaintenanceReminder,
    Page,
)

from .audit import intent
from .base import ServiceError, System, TransitionError, publish_event
from .incidents import (
    MAX_BODY,
    MAX_TITLE,
    ComponentStatuses,
    _append_update,
    _clean_text,
    _messages,
    _note_components,
    _titles,
    change_incident,
    incident_data,
    post_update,
    resolve_components,
)
from .rules import ACTIVE_MAINTENANCE_STATUSES, default_body, maintenance_path


def _check_window(
    starts: dt.datetime | None, ends: dt.datetime | None, *, changed: tuple[str, ...] = ()
) -> tuple[dt.datetime, dt.datetime]:
    """A maintenance window's (start, end), checked: both given, aware, end after start; the
    `changed` ones ("scheduled_for", "scheduled_until") within the sane range of now
    (validators.date_in_range)."""
    if starts is None or ends is None:
        raise ServiceError(
            _("Maintenance needs a start and an end."), code="required", field="scheduled_for"
        )
    if timezone.is_naive(starts) or timezone.is_naive(ends):
        raise ServiceError(_("Start and end need a time zone."), field="scheduled_for")
    if "scheduled_for" in changed:
        validators.date_in_range(starts, field="scheduled_for", label=_("The start"))
    if "scheduled_until" in changed:
        validators.date_in_range(ends, field="scheduled_until", label=_("The end"))
    if ends <= starts:
        raise ServiceError(
            _("The end of the maintenance must be after its start."),
            code="invalid",
            field="scheduled_until",
        )
    return starts, ends


@intent("schedule_maintenance")
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
    status: str = IncidentStatus.SCHEDULED,
    name_translations: Mapping[str, str] | None = None,
    body_translations: Mapping[str, str] | None = None,
) -> Incident:
    """Announce maintenance. Its components go under maintenance only when it starts.

    `status` other than scheduled records maintenance already under way (or done): it walks the
    state machine in the same transaction, so subscribers hear of it once (one event). Without a
    message the status's default text is posted (in every language); translations are
    checked as the texts they translate.
    """
    steps = maintenance_path(status)
    name = validators.one_line_text(name, field="name", label=_("A title"), limit=MAX_TITLE)
    titles = _titles(page, name_translations)
    messages = _messages(
        page, body_translations, defaulted=not body, status=IncidentStatus.SCHEDULED
    )
    body = _clean_text(
        body or default_body(page.default_language, IncidentStatus.SCHEDULED),
        field="body",
        label=_("A message"),
        limit=MAX_BODY,
    )
    _check_window(scheduled_for, scheduled_until, changed=("scheduled_for", "scheduled_until"))
    if isinstance(components, list | tuple | set):
        components = {c: "under_maintenance" for c in components}
    statuses = resolve_components(page, components)
    now = timezone.now()
    incident = Incident.objects.create(
        page=page,
        kind=Incident.Kind.MAINTENANCE,
        name=name,
        name_translations=titles,
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
        body_translations=messages,
    )
    publish_event(page, events.MAINTENANCE_SCHEDULED, incident_data(incident, update))
    for step in steps:
        if step == IncidentStatus.IN_PROGRESS:
            start_maintenance(incident, actor=actor, deliver_notifications=deliver_notifications)
        elif step == IncidentStatus.COMPLETED:
            complete_maintenance(incident, actor=actor, deliver_notifications=deliver_notifications)
        else:
            post_update(
                incident,
                actor=actor,
                status=step,
                body=default_body(page.default_language, step),
                deliver_notifications=deliver_notifications,
                body_translations=_messages(page, None, defaulted=True, status=step),
            )
    return incident


@intent("start_maintenance")
@transaction.atomic
def start_maintenance(
    maintenance: Incident, *, actor: Any, body: str = "", deliver_notifications: bool = True
) -> IncidentUpdate:
    """Begin maintenance (early or on time): its components go under maintenance."""
    locked = Incident.objects.select_for_update().filter(pk=maintenance.pk)
    if locked.values_list("kind", "status").first() != (
        Incident.Kind.MAINTENANCE,
        IncidentStatus.SCHEDULED,
    ):
        raise TransitionError(_("Only scheduled maintenance can be started."))
    translations = None
    if not body:
        body = default_body(maintenance.page.default_language, IncidentStatus.IN_PROGRESS)
        translations = _messages(
            maintenance.page, None, defaulted=True, status=IncidentStatus.IN_PROGRESS
        )
    statuses = {link.component_id: "under_maintenance" for link in maintenance.affected.all()}
    return post_update(
        maintenance,
        actor=actor,
        status=IncidentStatus.IN_PROGRESS,
        body=body,
        components=statuses,
        deliver_notifications=deliver_notifications,
        body_translations=translations,
    )


@intent("complete_maintenance")
def complete_maintenance(
    maintenance: Incident, *, actor: Any, body: str = "", deliver_notifications: bool = True
) -> IncidentUpdate:
    """End maintenance (or cancel it before it started): components get their status back."""
    translations = None
    if not body:
        cancelled = maintenance.status == IncidentStatus.SCHEDULED
        body = default_body(
            maintenance.page.default_language, IncidentStatus.COMPLETED, cancelled=cancelled
        )
        translations = _messages(
            maintenance.page,
            None,
            defaulted=True,
            status=IncidentStatus.COMPLETED,
            cancelled=cancelled,
        )
    return post_update(
        maintenance,
        actor=actor,
        status=IncidentStatus.COMPLETED,
        body=body,
        deliver_notifications=deliver_notifications,
        body_translations=translations,
    )


@intent("reschedule_maintenance")
@transaction.atomic
def reschedule_maintenance(
    maintenance: Incident,
    *,
    actor: Any,
    scheduled_for: dt.datetime | None = None,
    scheduled_until: dt.datetime | None = None,
    auto_start: bool | None = None,
    auto_complete: bool | None = None,
) -> Incident:
    """Move or extend a maintenance window, or switch its automatic start/completion.

    Recorded as an `incident.changed` event, no notice on its own (see `extend_maintenance`).
    """
    maintenance = Incident.objects.select_for_update().select_related("page").get(pk=maintenance.pk)
    if not maintenance.is_maintenance or maintenance.is_resolved:
        raise ServiceError(
            _("Only open maintenance can be rescheduled."), code="invalid_transition"
        )
    starts = scheduled_for or maintenance.scheduled_for
    ends = scheduled_until or maintenance.scheduled_until
    changed = ("scheduled_for",) * (scheduled_for is not None) + ("scheduled_until",) * (
        scheduled_until is not None
    )
    starts, ends = _check_window(starts, ends, changed=changed)
    if maintenance.status != IncidentStatus.SCHEDULED and scheduled_for is not None:
        raise ServiceError(
            _("Maintenance that has started cannot move its start; extend its end instead."),
            code="invalid_transition",
            field="scheduled_for",
        )
    maintenance.scheduled_for, maintenance.scheduled_until = starts, ends
    if auto_start is not None:
        maintenance.scheduled_auto_in_progress = auto_start
    if auto_complete is not None:
        maintenance.scheduled_auto_completed = auto_complete
    if maintenance.status == IncidentStatus.SCHEDULED:
        maintenance.started_at = starts
    maintenance.updated_at = timezone.now()
    maintenance.save()
    publish_event(maintenance.page, events.INCIDENT_CHANGED, incident_data(maintenance))
    return maintenance


@intent("cancel_maintenance")
@transaction.atomic
def cancel_maintenance(
    maintenance: Incident, *, actor: Any, body: str = "", deliver_notifications: bool = True
) -> IncidentUpdate:
    """Call off maintenance that has not started: it completes without touching components."""
    maintenance = Incident.objects.select_for_update().select_related("page").get(pk=maintenance.pk)
    if maintenance.status != IncidentStatus.SCHEDULED:
        raise TransitionError(
            _("Only maintenance that has not started can be cancelled; complete it instead.")
        )
    return complete_maintenance(
        maintenance, actor=actor, body=body, deliver_notifications=deliver_notifications
    )


@intent("extend_maintenance")
@transaction.atomic
def extend_maintenance(
    maintenance: Incident,
    *,
    actor: Any,
    until: dt.datetime,
    body: str = "",
    deliver_notifications: bool = True,
) -> IncidentUpdate:
    """Move the end of open maintenance later, and say so in an update (subscribers hear it)."""
    current = Incident.objects.select_for_update().select_related("page").get(pk=maintenance.pk)
    if current.is_maintenance and current.scheduled_until and until <= current.scheduled_until:
        raise ServiceError(
            _("An extension must end later than the current end of the maintenance."),
            code="invalid",
            field="scheduled_until",
        )
    current = reschedule_maintenance(current, actor=actor, scheduled_until=until)
    if not body:
        with _page_language(current), timezone.override(current.page.tz):
            body = _("The maintenance window has been extended until %(until)s.") % {
                "until": formats.date_format(timezone.localtime(until), "l j F Y H:i T")
            }
    return post_update(
        current,
        actor=actor,
        status=current.status,
        body=body,
        deliver_notifications=deliver_notifications,
    )


@intent("change_maintenance")
@transaction.atomic
def change_maintenance(
    maintenance: Incident,
    *,
    actor: Any,
    name: str | None = None,
    scheduled_for: dt.datetime | None = None,
    scheduled_until: dt.datetime | None = None,
    auto_start: bool | None = None,
    auto_complete: bool | None = None,
    deliver_notifications: bool = True,
    name_translations: Mapping[str, str] | None = None,
) -> Incident:
    """Change maintenance from one form (the admin's): its name and its translations, its
    window while it is only scheduled, a later end once it is under way (an update tells
    subscribers), its automatic start and completion. Only what differs is changed; one event,
    one audit row."""
    current = Incident.objects.select_for_update().select_related("page").get(pk=maintenance.pk)
    renamed = name is not None and name != current.name
    retitled = name_translations is not None and (
        _titles(current.page, name_translations) != current.name_translations
    )
    if renamed or retitled:
        change_incident(
            current,
            actor=actor,
            name=name if renamed else None,
            name_translations=name_translations if retitled else None,
        )
    started = current.status != IncidentStatus.SCHEDULED
    if started and scheduled_until is not None and scheduled_until != current.scheduled_until:
        extend_maintenance(
            current,
            actor=actor,
            until=scheduled_until,
            deliver_notifications=deliver_notifications,
        )
        current.refresh_from_db()
    window = (scheduled_for or current.scheduled_for, scheduled_until or current.scheduled_until)
    switches = (
        current.scheduled_auto_in_progress if auto_start is None else auto_start,
        current.scheduled_auto_completed if auto_complete is None else auto_complete,
    )
    if switches != (current.scheduled_auto_in_progress, current.scheduled_auto_completed) or (
        not started and window != (current.scheduled_for, current.scheduled_until)
    ):
        reschedule_maintenance(
            current,
            actor=actor,
            scheduled_for=None if started else window[0],
            scheduled_until=None if started else window[1],
            auto_start=switches[0],
            auto_complete=switches[1],
        )
    current.refresh_from_db()
    return current


# --- The maintenance clock ---------------------------------------------------------------

CLOCK = System("maintenance clock", kind="clock")


@dataclass
class ClockRun:
    """What one tick of the clock did (ids of maintenance, and (id, hours) reminders)."""

    started: list[int] = field(default_factory=list)
    completed: list[int] = field(default_factory=list)
    reminded: list[tuple[int, int]] = field(default_factory=list)


def run_maintenance_clock(now: dt.datetime | None = None) -> ClockRun:
    """Start due maintenance that starts automatically, complete due maintenance that completes
    automatically, and send due reminders (`maintenance.reminder`), each exactly once.

    Safe to run twice at once: every step locks the maintenance row and checks again that it is
    still due, and a reminder is claimed by inserting its unique `MaintenanceReminder` row.
    """
    now = now or timezone.now()
    run = ClockRun()
    maintenance = Incident.objects.filter(kind=Incident.Kind.MAINTENANCE)
    due_start = maintenance.filter(
        status=IncidentStatus.SCHEDULED, scheduled_auto_in_progress=True, scheduled_for__lte=now
    ).order_by("scheduled_for", "pk")
    for pk in due_start.values_list("pk", flat=True):
        if _start_if_due(pk, now):
            run.started.append(pk)
    due_end = maintenance.filter(
        status__in=ACTIVE_MAINTENANCE_STATUSES,
        scheduled_auto_completed=True,
        scheduled_until__lte=now,
    ).order_by("scheduled_until", "pk")
    for pk in due_end.values_list("pk", flat=True):
        if _complete_if_due(pk, now):
            run.completed.append(pk)
    upcoming = maintenance.filter(status=IncidentStatus.SCHEDULED, scheduled_for__gt=now)
    for item in upcoming.select_related("page").order_by("scheduled_for", "pk"):
        hours = _send_reminder_if_due(item, now)
        if hours is not None:
            run.reminded.append((item.pk, hours))
    return run


def _locked_maintenance(pk: int) -> Incident | None:
    return Incident.objects.select_for_update().select_related("page").filter(pk=pk).first()


@transaction.atomic
def _start_if_due(pk: int, now: dt.datetime) -> bool:
    item = _locked_maintenance(pk)
    if (
        item is None
        or item.status != IncidentStatus.SCHEDULED
        or not item.scheduled_auto_in_progress
        or item.scheduled_for is None
        or item.scheduled_for > now
    ):
        return False  # another tick, or an engineer, got there first
    start_maintenance(item, actor=CLOCK)
    return True


@transaction.atomic
def _complete_if_due(pk: int, now: dt.datetime) -> bool:
    item = _locked_maintenance(pk)
    if (
        item is None
        or item.status not in ACTIVE_MAINTENANCE_STATUSES
        or not item.scheduled_auto_completed
        or item.scheduled_until is None
        or item.scheduled_until > now
    ):
        return False
    complete_maintenance(item, actor=CLOCK)
    return True


def due_reminders(item: Incident, now: dt.datetime) -> list[int]:
    """The page's reminder lead times (hours) whose moment has come for this maintenance.

    A reminder whose moment passed before the maintenance was announced is never due: the
    announcement itself told subscribers.
    """
    due: list[int] = []
    starts = item.scheduled_for
    if starts is None:
        return due
    for hours in item.page.reminder_hours:
        moment = starts - dt.timedelta(hours=hours)
        if item.created_at <= moment <= now < starts:
            due.append(hours)
    return due


def _send_reminder_if_due(item: Incident, now: dt.datetime) -> int | None:
    """Claim and send the closest due reminder; older due ones are marked skipped, not sent."""
    due = due_reminders(item, now)
    if not due or item.scheduled_for is None:
        return None
    claimed = set(
        MaintenanceReminder.objects.filter(
            incident=item, scheduled_for=item.scheduled_for, hours__in=due
        ).values_list("hours", flat=True)
    )
    if not set(due) - claimed:
        return None
    closest = min(due)
    try:
        with transaction.atomic():
            locked = _locked_maintenance(item.pk)
            if locked is None or locked.status != IncidentStatus.SCHEDULED:
                return None
            starts, ends = locked.scheduled_for, locked.scheduled_until
            if starts != item.scheduled_for or starts is None or ends is None:
                return None  # moved meanwhile: the next tick decides again
            sent = None
            for hours in sorted(set(due) - claimed):
                MaintenanceReminder.objects.create(
                    incident=locked,
                    hours=hours,
                    scheduled_for=starts,
                    sent=hours == closest and closest not in claimed,
                    created_at=now,
                )
                if hours == closest:
                    sent = hours
            if sent is not None:
                publish_event(
                    locked.page,
                    events.MAINTENANCE_REMINDER,
                    {
                        **incident_data(locked),
                        "reminder_hours": sent,
                        "scheduled_for": starts.isoformat(),
                        "scheduled_until": ends.isoformat(),
                    },
                )
            return sent
    except IntegrityError:
        return None  # a simultaneous tick claimed it


def _page_language(incident: Incident):
    from django.utils import translation

    return translation.override(incident.page.default_language)
