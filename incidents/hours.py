"""Is the support desk (or the after-hours line) open now, and when does that change?

Opening hours are wall-clock times in the page's time zone; comparisons are made in UTC so a
DST change (a 23- or 25-hour day) moves the opening with the clock on the wall.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from .models.customers import Contract, Customer
from .snapshot_types import PageInfo

UTC = dt.UTC


@dataclass(frozen=True)
class Interval:
    weekday: int  # 0 = Monday
    opens: dt.time
    closes: dt.time  # earlier than opens: closes the next day


@dataclass(frozen=True)
class DeskState:
    is_open: bool
    # When open: when it closes; when closed: when it next opens (None: never, no hours set).
    changes_at: dt.datetime | None


def _local(day: dt.date, time: dt.time, tz: ZoneInfo) -> dt.datetime:
    """The aware moment a wall-clock time happens on a day (in a DST gap: just after it)."""
    naive = dt.datetime.combine(day, time)
    aware = naive.replace(tzinfo=tz)
    # A time that does not exist (spring forward) round-trips to a different wall time; use
    # the moment the clock jumps to, which is what fold=0 + normalisation through UTC gives.
    return aware.astimezone(UTC).astimezone(tz)


def _occurrences(intervals: Iterable[Interval], tz: ZoneInfo, around: dt.datetime):
    """Concrete (start, end) moments of the weekly intervals from a day before to 8 days after."""
    today = around.astimezone(tz).date()
    for offset in range(-1, 9):
        day = today + dt.timedelta(days=offset)
        for interval in intervals:
            if interval.weekday != day.weekday():
                continue
            start = _local(day, interval.opens, tz)
            end_day = day + dt.timedelta(days=1) if interval.closes <= interval.opens else day
            end = _local(end_day, interval.closes, tz)
            yield start.astimezone(UTC), end.astimezone(UTC)


def desk_state(intervals: Iterable[Interval], tz: ZoneInfo | str, now: dt.datetime) -> DeskState:
    """Whether the line is open at `now`, and the moment that changes (in the page's zone)."""
    tz = ZoneInfo(tz) if isinstance(tz, str) else tz
    now = now.astimezone(UTC)
    spans = sorted(_occurrences(list(intervals), tz, now))
    # Merge touching spans (Mon 08-12 + Mon 12-17, or a night line across midnight).
    merged: list[list[dt.datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in merged:
        if start <= now < end:
            return DeskState(True, end.astimezone(tz))
    upcoming = [start for start, _ in merged if start > now]
    return DeskState(False, min(upcoming).astimezone(tz) if upcoming else None)


@dataclass(frozen=True)
class WhatToDo:
    """What the company should do now if something is wrong: `action` is "desk" (call or mail
    the desk), "outage_line" (call the outage number, with the PIN) or "wait" (until `opens`)."""

    action: str
    phone: str
    email: str
    closes: dt.datetime | None
    opens: dt.datetime | None


def line_state(page: PageInfo, line: str, now: dt.datetime) -> DeskState | None:
    """The state of one line ("office" or "after_hours") of a snapshot's page, or None when
    the page gives that line no hours."""
    intervals = [
        Interval(h.weekday, dt.time.fromisoformat(h.opens), dt.time.fromisoformat(h.closes))
        for h in page.support.hours
        if h.line == line
    ]
    return desk_state(intervals, page.time_zone, now) if intervals else None


def what_to_do(customer: Customer, home: PageInfo, now: dt.datetime) -> WhatToDo:
    """During office hours the desk; after hours with 16x7 the outage number (while its line
    is open, when the page gives it hours); otherwise when the desk opens again."""
    support = home.support
    office = line_state(home, "office", now)
    if office is None or office.is_open:
        return WhatToDo(
            "desk", support.phone, support.email, office.changes_at if office else None, None
        )
    if customer.contract == Contract.EXTENDED_16X7 and customer.outage_phone:
        line = line_state(home, "after_hours", now)
        if line is None or line.is_open:
            return WhatToDo(
                "outage_line", customer.outage_phone, "", line.changes_at if line else None, None
            )
        opens = (
            min(t for t in (line.changes_at, office.changes_at) if t)
            if (line.changes_at or office.changes_at)
            else None
        )
        return WhatToDo("wait", support.phone, support.email, None, opens)
    return WhatToDo("wait", support.phone, support.email, None, office.changes_at)
