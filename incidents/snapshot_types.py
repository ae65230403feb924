"""The page snapshot's shape: a tree of frozen dataclasses that every public reader reads.

Built by `incidents.snapshot`, cached under the page version, never changed after.
Timestamps stay ISO 8601 strings in UTC ("2025-03-01T10:00:00Z"), exactly as the public JSON
shows them; ids are the database's ints (for links between the parts and the HTML's
permalinks), `public_id`s the 12-character ids every public JSON document shows. Field order
is the order of the public JSON objects made from them.

The cache holds a snapshot as MessagePack (`incidents.snapshot.encode_snapshot`), not pickled:
msgspec decodes the typed tree in C about as fast as pickle loads the old nested dicts, where
pickled dataclasses were 2-3x slower to load (bench/snapshot_cache.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class OpeningHours:
    line: str  # "office" or "after_hours"
    weekday: int  # 0 = Monday
    opens: str  # "08:00"
    closes: str


@dataclass(frozen=True, slots=True)
class Support:
    email: str
    phone: str
    after_hours_phone: str
    after_hours_audience: str
    text: str
    hours: tuple[OpeningHours, ...]


@dataclass(frozen=True, slots=True)
class PageInfo:
    id: str  # the slug, as Statuspage names a page's id
    pk: int
    slug: str
    name: str
    headline: str
    custom_host: str
    time_zone: str
    default_language: str
    logo_url: str
    accent_colour: str
    updated_at: str | None
    support: Support


@dataclass(frozen=True, slots=True)
class ComponentView:
    """A visible component as the public sees it."""

    id: int
    public_id: str
    name: str
    description: str
    status: str
    position: int
    group_id: int | None
    group_public_id: str | None
    created_at: str | None
    updated_at: str | None
    name_translations: Mapping[str, str]  # {"nl": "..."}: see incidents.translations


@dataclass(frozen=True, slots=True)
class IncidentComponent(ComponentView):
    """A component an incident affects, with the status the incident gave it."""

    incident_status: str


@dataclass(frozen=True, slots=True)
class GroupView:
    """A component group that has visible components; `status` is its worst member's."""

    id: int
    public_id: str
    name: str
    description: str
    position: int
    status: str
    components: tuple[int, ...]
    created_at: str | None
    updated_at: str | None
    name_translations: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class LayoutItem:
    """One entry of the page's top level, in position order: a group or an ungrouped component."""

    type: Literal["group", "component"]
    id: int
    position: int


@dataclass(frozen=True, slots=True)
class AffectedComponent:
    """A component status change an update recorded (Statuspage's `affected_components`)."""

    code: str  # the component's public id
    name: str
    old_status: str
    new_status: str


@dataclass(frozen=True, slots=True)
class UpdateView:
    id: int
    public_id: str
    status: str
    body: str
    body_html: str
    incident_id: int
    incident_public_id: str
    created_at: str | None
    updated_at: str | None
    display_at: str | None
    affected_components: tuple[AffectedComponent, ...]
    deliver_notifications: bool
    body_translations: Mapping[str, str]
    body_html_translations: Mapping[str, str]  # each translation rendered as body_html is


@dataclass(frozen=True, slots=True)
class IncidentView:
    """An incident or a maintenance as the public sees it (visible components only)."""

    id: int
    public_id: str
    kind: str  # "incident" or "maintenance"
    name: str
    status: str
    impact: str
    created_at: str | None
    updated_at: str | None
    started_at: str | None
    identified_at: str | None
    monitoring_at: str | None
    resolved_at: str | None
    scheduled_for: str | None
    scheduled_until: str | None
    scheduled_auto_in_progress: bool
    scheduled_auto_completed: bool
    postmortem_body: str | None
    postmortem_html: str
    postmortem_published_at: str | None
    phone_message: str
    components: tuple[IncidentComponent, ...]
    incident_updates: tuple[UpdateView, ...]  # newest first
    name_translations: Mapping[str, str]

    @property
    def is_maintenance(self) -> bool:
        return self.kind == "maintenance"


@dataclass(frozen=True, slots=True)
class UptimeIncident:
    id: int
    name: str
    impact: str
    name_translations: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class UptimeDay:
    """One day's bar: its share of uptime (None: nothing observed), colour and incidents."""

    date: str  # local date, "2025-03-01"
    uptime: float | None
    level: str  # operational, degraded, partial, major, maintenance, nodata
    seconds: Mapping[str, float]  # seconds spent per component status
    incidents: tuple[UptimeIncident, ...]


@dataclass(frozen=True, slots=True)
class ComponentUptime:
    percent: float | None
    days: tuple[UptimeDay, ...]


@dataclass(frozen=True, slots=True)
class Uptime:
    days: tuple[str, ...]  # the local dates of the bars, oldest first
    components: Mapping[int, ComponentUptime]


NO_UPTIME = Uptime(days=(), components={})


@dataclass(frozen=True, slots=True)
class PageSnapshot:
    """Everything the public sees of one page at one version."""

    version: int
    generated_at: str
    page: PageInfo
    indicator: str  # none, minor, major, critical, maintenance
    components: Mapping[int, ComponentView]  # visible ones, by id, in page order
    groups: tuple[GroupView, ...]
    layout: tuple[LayoutItem, ...]
    incidents: Mapping[int, IncidentView]  # open, scheduled and recent ones, by id
    unresolved_ids: tuple[int, ...]  # newest first
    active_maintenance_ids: tuple[int, ...]  # by start
    upcoming_maintenance_ids: tuple[int, ...]  # by start
    recent_incident_ids: tuple[int, ...]  # newest first, at most RECENT_LIMIT
    recent_maintenance_ids: tuple[int, ...]  # latest start first, at most RECENT_LIMIT
    uptime: Uptime
    # The languages any text in the snapshot is translated into (incidents.snapshot_languages
    # returns the snapshot as it is for the others).
    translated_languages: tuple[str, ...]

    def incidents_of(self, ids: Iterable[int]) -> list[IncidentView]:
        """The snapshot's incidents with these ids, in that order (ids it lacks are skipped)."""
        return [self.incidents[i] for i in ids if i in self.incidents]

    def groups_by_id(self) -> dict[int, GroupView]:
        return {g.id: g for g in self.groups}

    def changed_at(self) -> dt.datetime:
        """When what the public sees of the page last changed: the newest change time in the
        snapshot (the page, its components and groups, incidents and their updates). Unlike
        `generated_at` it is the same for every build of one version, so a rendering that
        shows it (the mirror's pages, an empty feed) is the same bytes until the page changes."""
        stamps = [self.page.updated_at, *(c.updated_at for c in self.components.values())]
        stamps += [g.updated_at for g in self.groups]
        for incident in self.incidents.values():
            stamps += [incident.updated_at, *(u.updated_at for u in incident.incident_updates)]
        known = [_instant(stamp) for stamp in stamps if stamp]
        return max(known) if known else _instant(self.generated_at)

    def component_id(self, value: object) -> int | None:
        """A visible component's id from user input (its public id, or the database id "12"
        links made before public ids hold), or None when it is none."""
        text = str(value)
        if text.isascii() and text.isdigit() and len(text) < 19:
            pk = int(text)
            return pk if pk in self.components else None
        for component in self.components.values():
            if component.public_id == text:
                return component.id
        return None


@dataclass(frozen=True, slots=True)
class MonthHistory:
    """A page's incidents and maintenance that started in one month, and the neighbours' dates."""

    year: int
    month: int
    incidents: tuple[IncidentView, ...]
    older: str | None  # when the latest earlier item started, if any
    newer: str | None


def _instant(stamp: str | dt.datetime) -> dt.datetime:
    if isinstance(stamp, dt.datetime):
        return stamp
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
