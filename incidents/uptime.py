"""Uptime arithmetic: days in a page's time zone, seconds per status, and the 90-day bars.

Pure functions plus the two queries the snapshot makes (`uptime_for_snapshot`). The daily rollup
rows they read are written by `incidents.services.uptime`.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from .models import ComponentDailyStatus, ComponentStatus, Incident, IncidentComponent, Page
from .snapshot_types import ComponentUptime, ComponentView, Uptime, UptimeDay, UptimeIncident

UPTIME_DAYS = 90
DOWN_STATUSES = (ComponentStatus.PARTIAL_OUTAGE, ComponentStatus.MAJOR_OUTAGE)


def day_bounds(day: dt.date, tz: zoneinfo.ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants a local day starts and ends at (23 or 25 hours apart on DST days)."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def local_day(moment: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.date:
    return moment.astimezone(tz).date()


def add_interval(
    days: dict[dt.date, dict[str, Any]],
    start: dt.datetime,
    end: dt.datetime,
    status: str,
    tz: zoneinfo.ZoneInfo,
) -> None:
    """Add [start, end) spent in `status` to per-day accumulators, split at local midnights.

    Each accumulator is {"seconds": {status: s}, "end_status": ..., "covered_until": ...}.
    """
    while start < end:
        day = local_day(start, tz)
        segment_end = min(day_bounds(day, tz)[1], end)
        acc = days.setdefault(day, {"seconds": {}, "end_status": status, "covered_until": start})
        seconds = acc["seconds"]
        seconds[status] = round(seconds.get(status, 0) + (segment_end - start).total_seconds(), 3)
        acc["end_status"], acc["covered_until"] = status, segment_end
        start = segment_end


def uptime_percent(seconds: dict[str, float], *, excludes_maintenance: bool) -> float | None:
    """Share of the observed time not in partial or major outage (None: nothing observed)."""
    total = sum(seconds.values())
    if total <= 0:
        return None
    down = sum(seconds.get(s, 0) for s in DOWN_STATUSES)
    if excludes_maintenance:
        total -= seconds.get(ComponentStatus.UNDER_MAINTENANCE, 0)
    if total <= 0:
        return 100.0
    return round(100 * (1 - down / total), 4)


def _level(seconds: dict[str, float]) -> str:
    """The colour of a day's bar: its worst status (any time spent in it counts)."""
    for status, level in (
        (ComponentStatus.MAJOR_OUTAGE, "major"),
        (ComponentStatus.PARTIAL_OUTAGE, "partial"),
        (ComponentStatus.DEGRADED_PERFORMANCE, "degraded"),
        (ComponentStatus.UNDER_MAINTENANCE, "maintenance"),
    ):
        if seconds.get(status, 0) > 0:
            return level
    return "operational" if seconds else "nodata"


def _iso_to_datetime(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def uptime_for_snapshot(
    page: Page,
    components: Mapping[int, ComponentView],
    now: dt.datetime,
    *,
    days: int = UPTIME_DAYS,
) -> Uptime:
    """The last `days` local days of each visible component: 2 queries for the whole page.

    Reads rollup rows (extending the latest one to `now` in the status it ended in) and the
    incidents that touched each component on each day.
    """
    tz = page.tz
    today = local_day(now, tz)
    first_day = today - dt.timedelta(days=days - 1)
    window_start = day_bounds(first_day, tz)[0]
    ids = list(components)
    # {component id: {day: (seconds, end status, covered until)}}
    rows: dict[int, dict[dt.date, tuple[dict[str, float], str, dt.datetime]]] = defaultdict(dict)
    daily = ComponentDailyStatus.objects.filter(component_id__in=ids, day__gte=first_day)
    for cid, day, seconds, end_status, covered_until in daily.values_list(
        "component_id", "day", "seconds", "end_status", "covered_until"
    ):
        rows[cid][day] = (seconds, end_status, covered_until)  # query 1
    links = (
        IncidentComponent.objects.filter(
            component_id__in=ids,
            incident__kind=Incident.Kind.INCIDENT,
            incident__started_at__lte=now,
        )
        .exclude(incident__resolved_at__lt=window_start)
        .values_list(
            "component_id",
            "incident_id",
            "incident__name",
            "incident__name_translations",
            "incident__impact",
            "incident__started_at",
            "incident__resolved_at",
        )
        .order_by("incident__started_at", "incident_id")
    )  # query 2
    incidents_on: dict[tuple[int, dt.date], list[UptimeIncident]] = defaultdict(list)
    for component_id, incident_id, name, names, impact, started, resolved in links:
        day = max(local_day(started, tz), first_day)
        last = local_day(min(resolved or now, now), tz)
        while day <= last:
            incidents_on[(component_id, day)].append(
                UptimeIncident(
                    id=incident_id, name=name, impact=impact, name_translations=names or {}
                )
            )
            day += dt.timedelta(days=1)

    excludes = page.uptime_excludes_maintenance
    dates = [first_day + dt.timedelta(days=n) for n in range(days)]
    # Each day's [start, end) once for the page (the end of today is now).
    bounds = [
        (day, start, min(end, now), day.isoformat())
        for day, (start, end) in ((day, day_bounds(day, tz)) for day in dates)
    ]
    result = {}
    for cid in ids:
        component = components[cid]
        created = _iso_to_datetime(component.created_at) if component.created_at else now
        own = rows.get(cid, {})
        # Without any row in the window nothing changed in it: the current status held throughout.
        carry = None if own else (component.status, created)
        bars: list[UptimeDay] = []
        total: dict[str, float] = defaultdict(float)
        for day, start, end, iso in bounds:
            row = own.get(day)
            if row is not None:
                seconds, end_status, covered_until = row
                seconds = dict(seconds)
                if covered_until < end:
                    seconds[end_status] = seconds.get(end_status, 0) + (
                        (end - covered_until).total_seconds()
                    )
                carry = (end_status, start)
            elif carry is not None and end > max(start, carry[1]):
                seconds = {carry[0]: (end - max(start, carry[1])).total_seconds()}
            else:
                seconds = {}
            for status, value in seconds.items():
                total[status] += value
            bars.append(
                UptimeDay(
                    date=iso,
                    uptime=uptime_percent(seconds, excludes_maintenance=excludes),
                    level=_level(seconds),
                    seconds={k: round(v, 3) for k, v in seconds.items()},
                    incidents=tuple(incidents_on.get((cid, day), ())),
                )
            )
        result[cid] = ComponentUptime(
            percent=uptime_percent(total, excludes_maintenance=excludes), days=tuple(bars)
        )
    return Uptime(days=tuple(d.isoformat() for d in dates), components=result)
