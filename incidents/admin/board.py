"""The admin's front page: a status board per page the engineer has a role on.

What is open (incidents, maintenance in progress or coming), which components are not
operational (with one-click status buttons), recent problem reports and alerts, and a big
"Open incident". Read in a fixed number of queries however many pages, components or incidents
there are (tests/test_admin_board.py bounds them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast

from django.db.models import Prefetch
from django.utils import timezone

from incidents.models import (
    CLOSED_STATUSES,
    COMPONENT_SEVERITY,
    AlertDraft,
    AlertState,
    Component,
    ComponentStatus,
    Incident,
    IncidentComponent,
    IncidentStatus,
    IncidentTemplate,
    Page,
    ProblemReport,
    ReportAlert,
    Role,
)
from incidents.permissions import pages_for
from incidents.snapshot import indicator_for

RECENT_REPORTS = dt.timedelta(hours=24)
UPCOMING_MAINTENANCE = dt.timedelta(days=7)
# Statuses an engineer sets by hand from the board (maintenance is the maintenance's job).
BOARD_STATUSES = [
    (value, label)
    for value, label in ComponentStatus.choices
    if value != ComponentStatus.UNDER_MAINTENANCE
]


@dataclass
class PageBoard:
    page: Page
    may_write: bool
    indicator: str = "none"
    incidents: list[Incident] = field(default_factory=list)
    maintenance: list[Incident] = field(default_factory=list)
    components: list[Component] = field(default_factory=list)
    templates: list[IncidentTemplate] = field(default_factory=list)
    reports: list[ProblemReport] = field(default_factory=list)
    report_alerts: list[ReportAlert] = field(default_factory=list)
    alert_drafts: list[AlertDraft] = field(default_factory=list)
    firing: list[AlertState] = field(default_factory=list)

    @property
    def not_operational(self) -> list[Component]:
        down = [c for c in self.components if c.status != ComponentStatus.OPERATIONAL]
        return sorted(down, key=lambda c: -COMPONENT_SEVERITY.get(c.status, 0))

    @property
    def quiet(self) -> bool:
        return not (self.incidents or self.maintenance or self.not_operational)


def status_board(user) -> list[PageBoard]:
    """One board per page the user may read, in the order of the page list."""
    pages = list(pages_for(user).order_by("-is_default", "name"))
    if not pages:
        return []
    writable = set(pages_for(user, Role.RESPONDER).values_list("pk", flat=True))
    boards = {p.pk: PageBoard(page=p, may_write=p.pk in writable) for p in pages}
    ids = list(boards)
    now = timezone.now()

    for component in (
        Component.objects.filter(page_id__in=ids)
        .select_related("group")
        .order_by("group__position", "group_id", "position", "id")
    ):
        boards[component.page_id].components.append(component)

    links = IncidentComponent.objects.select_related("component").order_by(
        "component__position", "component_id"
    )
    for item in (
        Incident.objects.filter(page_id__in=ids)
        .exclude(status__in=CLOSED_STATUSES)
        .exclude(status=IncidentStatus.SCHEDULED, scheduled_for__gt=now + UPCOMING_MAINTENANCE)
        .prefetch_related(Prefetch("affected", queryset=links))
        .order_by("scheduled_for", "-created_at")
    ):
        board = boards[item.page_id]
        (board.maintenance if item.is_maintenance else board.incidents).append(item)

    for template in IncidentTemplate.objects.filter(page_id__in=ids).order_by("name"):
        boards[template.page_id].templates.append(template)

    for report in (
        ProblemReport.objects.filter(page_id__in=ids, created_at__gte=now - RECENT_REPORTS)
        .select_related("incident")
        .prefetch_related("components")
        .order_by("-created_at")[:50]
    ):
        boards[report.page_id].reports.append(report)

    for alert in (
        ReportAlert.objects.filter(page_id__in=ids, acknowledged_at__isnull=True)
        .prefetch_related("components")
        .order_by("-created_at")[:20]
    ):
        boards[alert.page_id].report_alerts.append(alert)

    for draft in (
        AlertDraft.objects.filter(
            page_id__in=ids, published_at__isnull=True, dismissed_at__isnull=True
        )
        .select_related("component", "alert")
        .order_by("-created_at")[:20]
    ):
        boards[draft.page_id].alert_drafts.append(draft)

    for state in (
        AlertState.objects.filter(page_id__in=ids, state=AlertState.State.FIRING)
        .select_related("component")
        .order_by("-started_at")[:20]
    ):
        boards[state.page_id].firing.append(state)

    for board in boards.values():
        board.indicator = indicator_for(
            [c.status for c in board.components],
            cast("list[Any]", board.incidents),  # an Incident has the view's `impact`
            [i for i in board.maintenance if i.status != IncidentStatus.SCHEDULED],
        )
    return list(boards.values())
