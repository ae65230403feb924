"""The status page's live state: its changing sections rendered from the snapshot.

The page view, `live.json` and the websocket push all render the same includes from
`status_sections(snapshot)`, so a live update shows exactly what a reload would.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
from dataclasses import dataclass
from typing import Any, Literal

from django.template.loader import render_to_string
from django.utils import timezone, translation

from incidents.hours import line_state
from incidents.models import COMPONENT_SEVERITY, Page, SupportHours
from incidents.snapshot_types import NO_UPTIME, ComponentView, GroupView, PageSnapshot

RECENT_DAYS = 7

# Each live section: the element with `data-live="<name>"` on the page, and its include.
LIVE_SECTIONS = {
    "banner": "statuspage/includes/banner.html",
    "incidents": "statuspage/includes/open_incidents.html",
    "maintenance": "statuspage/includes/maintenance.html",
    "components": "statuspage/includes/components.html",
    "recent": "statuspage/includes/recent.html",
}


@dataclass(frozen=True, slots=True)
class LayoutEntry:
    """One entry of the status page's component list: a group with its members, or a component."""

    type: Literal["group", "component"]
    group: GroupView | None = None
    members: tuple[ComponentView, ...] = ()
    component: ComponentView | None = None


def status_sections(snapshot: PageSnapshot) -> dict[str, Any]:
    """The data of the status page's live sections, derived from the snapshot (no queries).

    `layout` holds groups (`type` "group", with `members`) and ungrouped components in order.
    """
    components = snapshot.components
    groups = snapshot.groups_by_id()
    layout: list[LayoutEntry] = []
    for item in snapshot.layout:
        if item.type == "group":
            group = groups[item.id]
            members = tuple(components[i] for i in group.components)
            layout.append(LayoutEntry("group", group=group, members=members))
        else:
            layout.append(LayoutEntry("component", component=components[item.id]))
    since = (timezone.now() - dt.timedelta(days=RECENT_DAYS)).isoformat()
    recent = [
        i
        for i in snapshot.incidents_of(snapshot.recent_incident_ids)
        if i.status == "resolved" and (i.resolved_at or "") >= since[:19]
    ]
    now = timezone.now()
    return {
        "indicator": snapshot.indicator,
        # The banner names what is affected, worst first (then in page order).
        "affected": sorted(
            (c for c in components.values() if c.status != "operational"),
            key=lambda c: -COMPONENT_SEVERITY.get(c.status, 0),
        ),
        "office": line_state(snapshot.page, SupportHours.Line.OFFICE, now),
        "after_hours": line_state(snapshot.page, SupportHours.Line.AFTER_HOURS, now),
        "layout": layout,
        "unresolved": snapshot.incidents_of(snapshot.unresolved_ids),
        "active_maintenance": snapshot.incidents_of(snapshot.active_maintenance_ids),
        "upcoming_maintenance": snapshot.incidents_of(snapshot.upcoming_maintenance_ids),
        "recent": recent,
    }


def live_etag(page: Page, language: str) -> str:
    """The ETag of the page's live state in one language: its version, never another page's."""
    return f'"{page.cache_key}-{language}"'


def live_state(page: Page, snapshot: PageSnapshot, *, language: str, prefix: str) -> dict[str, Any]:
    """The page's live sections as HTML, and its title, in one language (no queries).

    Returns `{"version", "language", "title", "html": {section: outer HTML}}`.
    """
    # Without the uptime bars: they are most of the section's HTML (90 bars per component) and
    # change once a day; the page's script keeps the ones it has.
    without_uptime = dataclasses.replace(snapshot, uptime=NO_UPTIME)
    context = {"page": snapshot.page, "snapshot": without_uptime, "prefix": prefix}
    context.update(status_sections(snapshot))
    with translation.override(language), timezone.override(page.tz):
        fragments = {
            name: render_to_string(template, context).strip()
            for name, template in LIVE_SECTIONS.items()
        }
        title = render_to_string("statuspage/includes/title.html", context)
    return {
        "version": snapshot.version,
        "language": language,
        "title": html.unescape(title.strip()),
        "html": fragments,
    }
