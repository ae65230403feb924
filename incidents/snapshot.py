"""The public read model: everything the public sees of one page, built once per page version.

Every public rendering (HTML, JSON APIs, websocket payloads, feeds, exports) is made from these
functions, and visibility (hidden and customer-only components, `incidents.visibility`) is
applied here, once. Each builder runs a fixed
number of queries however big the page is, and is cached under (page, version): a write bumps
the version, so a stale snapshot is never served after a change.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

import msgspec
from django.core.cache import cache
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from . import visibility
from .markdown import render_markdown
from .models import (
    CLOSED_STATUSES,
    COMPONENT_SEVERITY,
    INCIDENT_OPEN_STATUSES,
    Component,
    ComponentGroup,
    ComponentStatus,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    Page,
    SupportHours,
)
from .snapshot_languages import (
    localize,
    localize_history,
    localize_incident,
    translated_languages,
)
from .snapshot_types import (
    AffectedComponent,
    ComponentView,
    GroupView,
    IncidentComponent,
    IncidentView,
    LayoutItem,
    MonthHistory,
    OpeningHours,
    PageInfo,
    PageSnapshot,
    Support,
    UpdateView,
)
from .uptime import uptime_for_snapshot

__all__ = [
    "PageSnapshot",
    "IncidentView",
    "MonthHistory",
    "build_page_snapshot",
    "decode_snapshot",
    "encode_snapshot",
    "incident_detail",
    "incident_history",
    "indicator_for",
    "page_snapshot",
]

RECENT_LIMIT = 50
# A snapshot holds time-relative lists (upcoming maintenance); rebuild it at least this often.
SNAPSHOT_TTL = 60

T = TypeVar("T", PageSnapshot, IncidentView, MonthHistory)


# Every public rendering shows snapshot times in some time zone: a stored time near year 1 or
# 9999 (saved before services checked date ranges) would overflow there and answer 500.
SHOWABLE = (
    dt.datetime(2, 1, 1, tzinfo=dt.UTC),
    dt.datetime(9998, 12, 31, tzinfo=dt.UTC),
)


def _iso(value: dt.datetime | None) -> str | None:
    if not value:
        return None
    value = min(max(value, SHOWABLE[0]), SHOWABLE[1])
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _cache_key(page: Page, name: str) -> str:
    return f"snapshot:{page.cache_key}:{name}"


# The page's current version as the shared cache knows it, for the public pages' fast path
# (statuspage/fastpath.py): a rendering is answered from memory only while this still names the
# version it was built from. Set on every version bump (at once and on commit), a tombstone when
# the page is deleted; a missing stamp is a slow request, never a stale page.
VERSION_STAMP_SECONDS = 60
DELETED = "deleted"


def version_stamp_key(page: Page) -> str:
    """The stamp's key names the page itself (its id and creation), never a reused id."""
    return f"public:page-version:{page.pk}.{page.created_at.timestamp():.6f}"


# What this process last read of each stamp, and until when (time.monotonic()) it goes by that
# without asking the cache again.
_stamps_read: dict[str, tuple[float, Any]] = {}


def stamp_version(page: Page, *, deleted: bool = False) -> None:
    """Tell every process's fast path that `page` changed (or is gone)."""
    key, value = version_stamp_key(page), DELETED if deleted else page.cache_key
    cache.set(key, value, VERSION_STAMP_SECONDS)
    _stamps_read.pop(key, None)


def stamp_if_none(key: str, stamp: str) -> None:
    """Stamp the version a request just read from the database, unless a change stamped one."""
    cache.add(key, stamp, VERSION_STAMP_SECONDS)
    _stamps_read.pop(key, None)


UNREAD = object()


def read_version_stamp(key: str, *, fresh_for: float = 0.0, known_only: bool = False) -> Any:
    """The page's version stamp (None when the cache has none), read from the shared cache at
    most once per `fresh_for` seconds in this process (a change made here is seen at once).
    With `known_only`, `UNREAD` instead of asking the cache (an event loop must not wait)."""
    now = time.monotonic()
    known = _stamps_read.get(key)
    if known is not None and known[0] > now:
        return known[1]
    if known_only:
        return UNREAD
    value = cache.get(key)
    if fresh_for > 0:
        if len(_stamps_read) > 10_000:
            _stamps_read.clear()
        _stamps_read[key] = (now + fresh_for, value)
    return value


def forget_stamps() -> None:
    """Drop what this process read of the stamps (tests)."""
    _stamps_read.clear()


_ENCODER = msgspec.msgpack.Encoder()
_DECODERS = {
    kind: msgspec.msgpack.Decoder(kind) for kind in (PageSnapshot, IncidentView, MonthHistory)
}


def encode_snapshot(value: PageSnapshot | IncidentView | MonthHistory) -> bytes:
    """A snapshot (or a part the cache holds) as MessagePack: what the cache stores."""
    return _ENCODER.encode(value)


def decode_snapshot(data: bytes, kind: type[T]) -> T:
    """The typed object back from `encode_snapshot`'s bytes (msgspec.DecodeError if they are
    not one, e.g. written by a release whose snapshot had another shape)."""
    return _DECODERS[kind].decode(data)  # type: ignore[return-value]


def _cached(key: str, kind: type[T]) -> T | None:
    data = cache.get(key)
    if not isinstance(data, bytes):
        return None
    try:
        return decode_snapshot(data, kind)
    except msgspec.DecodeError:  # cached by a release with another snapshot shape
        return None


def _store(key: str, value: PageSnapshot | IncidentView | MonthHistory) -> None:
    cache.set(key, encode_snapshot(value), SNAPSHOT_TTL)


def indicator_for(
    component_statuses: Iterable[str],
    incidents: Iterable[IncidentView],
    maintenance: Sequence[object],
) -> str:
    """The page indicator: the worst of open incidents' impact and components' status."""
    rank = {"none": 0, "maintenance": 1, "minor": 2, "major": 3, "critical": 4}
    worst = "none"

    def consider(level: str) -> None:
        nonlocal worst
        if rank[level] > rank[worst]:
            worst = level

    by_status: dict[str, str] = {
        ComponentStatus.DEGRADED_PERFORMANCE: "minor",
        ComponentStatus.PARTIAL_OUTAGE: "major",
        ComponentStatus.MAJOR_OUTAGE: "critical",
        ComponentStatus.UNDER_MAINTENANCE: "maintenance",
    }
    for status in component_statuses:
        if status in by_status:
            consider(by_status[status])
    for incident in incidents:
        if incident.impact in rank and incident.impact != "none":
            consider(incident.impact)
        else:
            consider("minor")
    if maintenance:
        consider("maintenance")
    return worst


def _code(entry: dict[str, Any]) -> int:
    try:
        return int(entry.get("code", 0))
    except (TypeError, ValueError):
        return 0


def _affected(entry: dict[str, Any], component: ComponentView) -> AffectedComponent:
    return AffectedComponent(
        code=component.public_id,
        name=entry.get("name", ""),
        old_status=entry.get("old_status", ""),
        new_status=entry.get("new_status", ""),
    )


def _update_view(
    update: IncidentUpdate, incident_public_id: str, visible: Mapping[int, ComponentView]
) -> UpdateView:
    return UpdateView(
        id=update.pk,
        public_id=update.public_id,
        status=update.status,
        body=update.body,
        body_html=render_markdown(update.body),
        incident_id=update.incident_id,
        incident_public_id=incident_public_id,
        created_at=_iso(update.created_at),
        updated_at=_iso(update.updated_at),
        display_at=_iso(update.display_at),
        affected_components=tuple(
            _affected(c, visible[_code(c)])
            for c in update.affected_components
            if _code(c) in visible
        ),
        deliver_notifications=update.deliver_notifications,
        body_translations=update.body_translations or {},
        body_html_translations={
            language: render_markdown(text) for language, text in update.body_translations.items()
        },
    )


def _incident_view(incident: Incident, components: Mapping[int, ComponentView]) -> IncidentView:
    affected = [link for link in incident.affected.all() if link.component_id in components]
    # Only a published postmortem is public; the draft never leaves the admin and API.
    published = incident.postmortem_published if incident.postmortem_published_at else ""
    return IncidentView(
        id=incident.pk,
        public_id=incident.public_id,
        kind=incident.kind,
        name=incident.name,
        status=incident.status,
        impact=incident.impact,
        created_at=_iso(incident.created_at),
        updated_at=_iso(incident.updated_at),
        started_at=_iso(incident.started_at),
        identified_at=_iso(incident.identified_at),
        monitoring_at=_iso(incident.monitoring_at),
        resolved_at=_iso(incident.resolved_at),
        scheduled_for=_iso(incident.scheduled_for),
        scheduled_until=_iso(incident.scheduled_until),
        scheduled_auto_in_progress=incident.scheduled_auto_in_progress,
        scheduled_auto_completed=incident.scheduled_auto_completed,
        postmortem_body=published or None,
        postmortem_html=render_markdown(published) if published else "",
        postmortem_published_at=_iso(incident.postmortem_published_at) if published else None,
        phone_message=incident.phone_message,
        components=tuple(
            _incident_component(components[link.component_id], link.status) for link in affected
        ),
        incident_updates=tuple(
            _update_view(u, incident.public_id, components) for u in incident.updates.all()
        ),
        name_translations=incident.name_translations or {},
    )


def _incident_component(component: ComponentView, status: str) -> IncidentComponent:
    """The component with the status this incident gave it (every field of the component,
    so the two types cannot drift apart)."""
    fields = {f.name: getattr(component, f.name) for f in dataclasses.fields(ComponentView)}
    return IncidentComponent(**fields, incident_status=status)


def public_incidents(page: Page) -> QuerySet[Incident]:
    """The page's incidents the public may see (the rules: `incidents.visibility`): not those
    whose every affected component is hidden or customer-only."""
    return visibility.public_incidents(Incident.objects.filter(page=page))


def _incidents_query(page: Page):
    return public_incidents(page).prefetch_related(
        Prefetch("updates", queryset=IncidentUpdate.objects.order_by("-display_at", "-id")),
        "affected",
    )


def component_view(component: Component) -> ComponentView:
    """A component as a reading shows it (select its group with the query)."""
    return ComponentView(
        id=component.pk,
        public_id=component.public_id,
        name=component.name,
        description=component.description,
        status=component.status,
        position=component.position,
        group_id=component.group_id,
        group_public_id=component.group.public_id if component.group else None,
        created_at=_iso(component.created_at),
        updated_at=_iso(component.updated_at),
        name_translations=component.name_translations or {},
    )


def _components(
    page: Page,
) -> tuple[tuple[GroupView, ...], tuple[LayoutItem, ...], dict[int, ComponentView]]:
    """Visible components (by id), the groups that have any, and the layout (1 + 1 queries)."""
    components = {
        c.pk: component_view(c)
        for c in visibility.public_components(Component.objects.filter(page=page))
        .select_related("group")
        .order_by("position", "id")
    }
    members: dict[int | None, list[int]] = defaultdict(list)
    for component in components.values():
        members[component.group_id].append(component.id)
    groups = []
    for group in ComponentGroup.objects.filter(page=page).order_by("position", "id"):
        if members.get(group.pk):
            worst = max(
                (components[i].status for i in members[group.pk]),
                key=lambda s: COMPONENT_SEVERITY[s],
            )
            groups.append(
                GroupView(
                    id=group.pk,
                    public_id=group.public_id,
                    name=group.name,
                    description=group.description,
                    position=group.position,
                    status=worst,
                    components=tuple(members[group.pk]),
                    created_at=_iso(group.created_at),
                    updated_at=_iso(group.updated_at),
                    name_translations=group.name_translations or {},
                )
            )
    # The page's layout: groups and ungrouped components in position order.
    layout = [LayoutItem(type="group", id=g.id, position=g.position) for g in groups]
    layout += [
        LayoutItem(type="component", id=i, position=components[i].position)
        for i in members.get(None, [])
    ]
    layout.sort(key=lambda item: (item.position, item.type == "component", item.id))
    return tuple(groups), tuple(layout), components


def _page_info(page: Page, hours: list[SupportHours]) -> PageInfo:
    return PageInfo(
        id=page.slug,
        pk=page.pk,
        slug=page.slug,
        name=page.name,
        headline=page.headline,
        custom_host=page.custom_host,
        time_zone=page.time_zone,
        default_language=page.default_language,
        logo_url=page.logo_url,
        accent_colour=page.accent_colour,
        updated_at=_iso(page.updated_at),
        support=Support(
            email=page.support_email,
            phone=page.support_phone,
            after_hours_phone=page.after_hours_phone,
            after_hours_audience=page.after_hours_audience,
            text=page.support_text,
            hours=tuple(
                OpeningHours(
                    line=h.line,
                    weekday=h.weekday,
                    opens=h.opens.strftime("%H:%M"),
                    closes=h.closes.strftime("%H:%M"),
                )
                for h in hours
            ),
        ),
    )


# Open incidents and maintenance that is scheduled or under way: what a page always holds.
LIVE_ITEMS = Q(kind=Incident.Kind.INCIDENT, status__in=INCIDENT_OPEN_STATUSES) | Q(
    kind=Incident.Kind.MAINTENANCE,
    status__in=[
        IncidentStatus.SCHEDULED,
        IncidentStatus.IN_PROGRESS,
        IncidentStatus.VERIFYING,
    ],
)


def build_page_snapshot(page: Page) -> PageSnapshot:
    """Build the snapshot from the database: 10 queries, whatever the page holds."""
    now = timezone.now()
    groups, layout, components = _components(page)  # 2 queries
    hours = list(SupportHours.objects.filter(page=page))  # 1
    live = LIVE_ITEMS
    base = public_incidents(page)
    recent_ids = list(
        base.filter(kind=Incident.Kind.INCIDENT).values_list("pk", flat=True)[:RECENT_LIMIT]
    )  # 1
    recent_maintenance_ids = list(
        base.filter(kind=Incident.Kind.MAINTENANCE)
        .order_by("-scheduled_for", "-id")
        .values_list("pk", flat=True)[:RECENT_LIMIT]
    )  # 1
    incidents = {
        i.pk: _incident_view(i, components)
        for i in _incidents_query(page).filter(live | Q(pk__in=recent_ids + recent_maintenance_ids))
    }  # 3: incidents, their updates, their affected components
    unresolved = [
        i for i in incidents.values() if i.kind == "incident" and i.status not in CLOSED_STATUSES
    ]
    unresolved.sort(key=lambda i: (i.created_at or "", i.id), reverse=True)
    maintenance = sorted(
        (i for i in incidents.values() if i.kind == "maintenance"),
        key=lambda i: (i.scheduled_for or "", i.id),
    )
    active = [m for m in maintenance if m.status in ("in_progress", "verifying")]
    upcoming = [m for m in maintenance if m.status == "scheduled"]
    indicator = indicator_for([c.status for c in components.values()], unresolved, active)
    uptime = uptime_for_snapshot(page, components, now)  # 2: daily rows, incidents per day
    return PageSnapshot(
        version=page.version,
        generated_at=_iso(now) or "",
        page=_page_info(page, hours),
        indicator=indicator,
        components=components,
        groups=groups,
        layout=layout,
        incidents=incidents,
        unresolved_ids=tuple(i.id for i in unresolved),
        active_maintenance_ids=tuple(m.id for m in active),
        upcoming_maintenance_ids=tuple(m.id for m in upcoming),
        recent_incident_ids=tuple(recent_ids),
        recent_maintenance_ids=tuple(i for i in recent_maintenance_ids if i in incidents),
        uptime=uptime,
        translated_languages=translated_languages(components, groups, incidents, uptime),
    )


def page_snapshot(page: Page, language: str | None = None) -> PageSnapshot:
    """The page's snapshot for its current version, from the cache when it is there; with a
    `language`, as a reader in it sees it (translated titles, names and messages, see
    `incidents.snapshot_languages`)."""
    key = _cache_key(page, "page")
    snapshot = _cached(key, PageSnapshot)
    if snapshot is None:
        snapshot = build_page_snapshot(page)
        _store(key, snapshot)
    return localize(snapshot, language)


def incident_detail(
    page: Page, incident_id: int, language: str | None = None
) -> IncidentView | None:
    """One incident of the page as the public sees it (from the snapshot when it is there),
    in `language` when one is given."""
    found = _incident_detail(page, incident_id)
    return localize_incident(found, language) if found and language else found


def _incident_detail(page: Page, incident_id: int) -> IncidentView | None:
    snapshot = page_snapshot(page)
    found = snapshot.incidents.get(incident_id)
    if found is not None:
        return found
    key = _cache_key(page, f"incident:{incident_id}")
    found = _cached(key, IncidentView)
    if found is None:
        incident = _incidents_query(page).filter(pk=incident_id).first()
        if incident is None:
            return None
        found = _incident_view(incident, snapshot.components)
        _store(key, found)
    return found


def incident_history(
    page: Page, year: int, month: int, language: str | None = None
) -> MonthHistory:
    """The page's incidents and maintenance that started in one month (in the page's zone),
    in `language` when one is given.

    Also says which neighbouring months hold any, for paging. 4 queries, cached per version.
    """
    return localize_history(_incident_history(page, year, month), language)


def _incident_history(page: Page, year: int, month: int) -> MonthHistory:
    key = _cache_key(page, f"history:{year}-{month:02d}")
    history = _cached(key, MonthHistory)
    if history is not None:
        return history
    tz = page.tz
    start = dt.datetime(year, month, 1, tzinfo=tz)
    end = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=tz)
    snapshot = page_snapshot(page)
    base = public_incidents(page)
    in_month = list(_incidents_query(page).filter(created_at__gte=start, created_at__lt=end))
    older = (
        base.filter(created_at__lt=start)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    newer = (
        base.filter(created_at__gte=end)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    history = MonthHistory(
        year=year,
        month=month,
        incidents=tuple(_incident_view(i, snapshot.components) for i in in_month),
        older=_iso(older),
        newer=_iso(newer),
    )
    _store(key, history)
    return history
