"""The customer view's read model: what one customer company sees at /my/.

Every service the company uses, on any page, with its status and uptime; the incidents and
maintenance (public or customer-only) that touch them; the company's own problem reports; and
"what to do now" from its contract and the clock. Built with the snapshot's helpers and types
(read-only) and the visibility rules of `incidents.visibility`, in a fixed number of queries
per page the company uses.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, Q
from django.utils import timezone

from incidents.hours import DeskState, WhatToDo, line_state, what_to_do
from incidents.models import (
    COMPONENT_SEVERITY,
    INCIDENT_OPEN_STATUSES,
    Component,
    Customer,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    Page,
    ProblemReport,
    SupportHours,
)
from incidents.snapshot import _incident_view, _page_info, component_view, indicator_for
from incidents.snapshot_languages import localize_component, localize_incident
from incidents.snapshot_types import ComponentUptime, ComponentView, IncidentView, PageInfo
from incidents.uptime import uptime_for_snapshot
from incidents.visibility import incidents_visible_to

RECENT_DAYS = 14
REPORTS_SHOWN = 20


@dataclass(frozen=True)
class Service:
    component: ComponentView
    uptime: ComponentUptime | None


@dataclass(frozen=True)
class PageServices:
    slug: str
    name: str
    services: tuple[Service, ...]


@dataclass(frozen=True)
class ReportLine:
    reference: str
    created_at: dt.datetime
    components: tuple[str, ...]
    description: str
    incident_id: int | None
    incident_name: str
    incident_status: str


@dataclass(frozen=True)
class CustomerView:
    customer: Customer
    home: PageInfo
    indicator: str
    pages: tuple[PageServices, ...]
    affected: tuple[ComponentView, ...]
    unresolved: tuple[IncidentView, ...]
    active_maintenance: tuple[IncidentView, ...]
    upcoming_maintenance: tuple[IncidentView, ...]
    recent: tuple[IncidentView, ...]
    reports: tuple[ReportLine, ...]
    todo: WhatToDo
    office: DeskState | None
    component_ids: frozenset[int]


def home_page(customer: Customer) -> Page | None:
    """The page whose look, language and desk the view uses: the customer's, else the
    default page, else the oldest."""
    if customer.page_id:
        return customer.page
    return Page.objects.order_by("-is_default", "pk").first()


def customer_incidents(customer: Customer, component_ids: set[int]):
    """Incidents the customer may see that touch one of its services (or, on a page it uses,
    touch nothing: a page-wide problem)."""
    page_ids = set(Component.objects.filter(pk__in=component_ids).values_list("page_id", flat=True))
    touching = Q(affected__component_id__in=component_ids) | Q(
        page_id__in=page_ids, affected__isnull=True
    )
    ids = Incident.objects.filter(touching).values("pk")
    return incidents_visible_to(customer, Incident.objects.filter(pk__in=ids))


def build_customer_view(customer: Customer, now: dt.datetime | None = None) -> CustomerView:
    """The customer's view: 5 queries plus 2 per page it uses (uptime), plus its reports (2)."""
    now = now or timezone.now()
    rows = list(
        customer.components.filter(is_visible=True)
        .select_related("group", "page")
        .order_by("page__name", "page_id", "position", "id")
    )  # 1
    components = {c.pk: component_view(c) for c in rows}
    by_page: dict[int, list[Component]] = {}
    for row in rows:
        by_page.setdefault(row.page_id, []).append(row)
    pages = []
    for members in by_page.values():
        page = members[0].page
        views = {c.pk: components[c.pk] for c in members}
        uptime = uptime_for_snapshot(page, views, now)  # 2 per page
        pages.append(
            PageServices(
                slug=page.slug,
                name=page.name,
                services=tuple(Service(views[c.pk], uptime.components.get(c.pk)) for c in members),
            )
        )
    home = home_page(customer)  # 0-1
    if home is None:
        home = Page(slug="status", name="Status", created_at=now)
    info = _page_info(home, list(SupportHours.objects.filter(page=home)) if home.pk else [])  # 1
    since = now - dt.timedelta(days=RECENT_DAYS)
    live = (
        Q(kind=Incident.Kind.INCIDENT, status__in=INCIDENT_OPEN_STATUSES)
        | Q(
            kind=Incident.Kind.MAINTENANCE,
            status__in=[
                IncidentStatus.SCHEDULED,
                IncidentStatus.IN_PROGRESS,
                IncidentStatus.VERIFYING,
            ],
        )
        | Q(kind=Incident.Kind.INCIDENT, resolved_at__gte=since)
    )
    incidents = [
        _incident_view(i, components)
        for i in customer_incidents(customer, set(components))
        .filter(live)
        .prefetch_related(
            Prefetch("updates", queryset=IncidentUpdate.objects.order_by("-display_at", "-id")),
            "affected",
        )
    ]  # 3 (+1 subquery inside)
    unresolved = sorted(
        (i for i in incidents if i.kind == "incident" and i.status in INCIDENT_OPEN_STATUSES),
        key=lambda i: (i.created_at or "", i.id),
        reverse=True,
    )
    maintenance = sorted(
        (i for i in incidents if i.kind == "maintenance"),
        key=lambda i: (i.scheduled_for or "", i.id),
    )
    active = [m for m in maintenance if m.status in ("in_progress", "verifying")]
    upcoming = [m for m in maintenance if m.status == "scheduled"]
    recent = sorted(
        (i for i in incidents if i.kind == "incident" and i.status == "resolved"),
        key=lambda i: (i.resolved_at or "", i.id),
        reverse=True,
    )
    reports = [
        ReportLine(
            reference=r.reference,
            created_at=r.created_at,
            components=tuple(c.name for c in r.components.all() if c.pk in components),
            description=r.description[:200],
            incident_id=r.incident_id,
            incident_name=r.incident.name if r.incident else "",
            incident_status=r.incident.status if r.incident else "",
        )
        for r in ProblemReport.objects.filter(customer=customer)
        .select_related("incident")
        .prefetch_related("components")[:REPORTS_SHOWN]
    ]  # 2
    return CustomerView(
        customer=customer,
        home=info,
        indicator=indicator_for([c.status for c in components.values()], unresolved, active),
        pages=tuple(pages),
        affected=tuple(
            sorted(
                (c for c in components.values() if c.status != "operational"),
                key=lambda c: -COMPONENT_SEVERITY.get(c.status, 0),
            )
        ),
        unresolved=tuple(unresolved),
        active_maintenance=tuple(active),
        upcoming_maintenance=tuple(upcoming),
        recent=tuple(recent),
        reports=tuple(reports),
        todo=what_to_do(customer, info, now),
        office=line_state(info, SupportHours.Line.OFFICE, now),
        component_ids=frozenset(components),
    )


def customer_incident(customer: Customer, incident_id: int) -> IncidentView | None:
    """One incident the customer may see and that touches its services, else None (so a
    guessed id of another customer's incident is a 404)."""
    components = {
        c.pk: component_view(c)
        for c in customer.components.filter(is_visible=True).select_related("group")
    }
    incident = (
        customer_incidents(customer, set(components))
        .filter(pk=incident_id)
        .prefetch_related(
            Prefetch("updates", queryset=IncidentUpdate.objects.order_by("-display_at", "-id")),
            "affected",
        )
        .first()
    )
    return _incident_view(incident, components) if incident is not None else None


def localize_view(view: CustomerView, language: str) -> CustomerView:
    """The view with component names, incident titles and updates in `language` (the
    original where there is no translation)."""

    def incidents(items: tuple[IncidentView, ...]) -> tuple[IncidentView, ...]:
        return tuple(localize_incident(i, language) for i in items)

    return dataclasses.replace(
        view,
        pages=tuple(
            dataclasses.replace(
                p,
                services=tuple(
                    dataclasses.replace(s, component=localize_component(s.component, language))
                    for s in p.services
                ),
            )
            for p in view.pages
        ),
        affected=tuple(localize_component(c, language) for c in view.affected),
        unresolved=incidents(view.unresolved),
        active_maintenance=incidents(view.active_maintenance),
        upcoming_maintenance=incidents(view.upcoming_maintenance),
        recent=incidents(view.recent),
    )


def view_context(view: CustomerView) -> dict[str, Any]:
    """What the templates get (the base template's names for the page's look)."""
    return {
        "view": view,
        "page": view.home,
        "indicator": view.indicator,
        "affected": view.affected,
        "unresolved": view.unresolved,
        "active_maintenance": view.active_maintenance,
        "upcoming_maintenance": view.upcoming_maintenance,
        "office": view.office,
    }
