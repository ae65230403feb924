"""Is the support desk open? Wall-clock hours in the page's zone, across DST and midnight."""

from __future__ import annotations

import datetime as dt

import pytest

from incidents.hours import Interval, desk_state

WEEKDAYS_8_TO_1730 = [Interval(d, dt.time(8), dt.time(17, 30)) for d in range(5)]
AMS = "Europe/Amsterdam"


def utc(*args):
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "now, is_open, changes_at",
    [
        # Wednesday 25 Nov 2026, 10:00 CET = 09:00 UTC: open until 17:30 CET
        (utc(2026, 11, 25, 9), True, "2026-11-25T17:30:00+01:00"),
        # 17:30 exactly: closed, opens Thursday 08:00
        (utc(2026, 11, 25, 16, 30), False, "2026-11-26T08:00:00+01:00"),
        # Friday evening: opens Monday
        (utc(2026, 11, 27, 20), False, "2026-11-30T08:00:00+01:00"),
        # 07:59 CET: closed, opens at 08:00
        (utc(2026, 11, 25, 6, 59), False, "2026-11-25T08:00:00+01:00"),
    ],
)
def test_office_hours_in_amsterdam(now, is_open, changes_at):
    state = desk_state(WEEKDAYS_8_TO_1730, AMS, now)
    assert state.is_open is is_open
    assert state.changes_at.isoformat() == changes_at


def test_opening_follows_the_wall_clock_across_the_spring_dst_change():
    # Friday 27 March 2026 (CET, UTC+1) to Monday 30 March (CEST, UTC+2).
    state = desk_state(WEEKDAYS_8_TO_1730, AMS, utc(2026, 3, 27, 18))
    assert state.changes_at.isoformat() == "2026-03-30T08:00:00+02:00"
    assert state.changes_at.astimezone(dt.UTC).hour == 6  # 06:00 UTC, not 07:00
    assert desk_state(WEEKDAYS_8_TO_1730, AMS, utc(2026, 3, 30, 6, 30)).is_open


def test_opening_follows_the_wall_clock_across_the_autumn_dst_change():
    # Monday 26 October 2026 is back on CET: 08:00 local is 07:00 UTC.
    assert not desk_state(WEEKDAYS_8_TO_1730, AMS, utc(2026, 10, 26, 6, 30)).is_open
    assert desk_state(WEEKDAYS_8_TO_1730, AMS, utc(2026, 10, 26, 7, 0)).is_open


def test_a_line_that_closes_after_midnight():
    nightly = [Interval(d, dt.time(22), dt.time(6)) for d in range(7)]
    state = desk_state(nightly, AMS, utc(2026, 11, 26, 2))  # 03:00 local Thursday
    assert state.is_open and state.changes_at.isoformat() == "2026-11-26T06:00:00+01:00"


def test_another_time_zone_gives_another_answer():
    now = utc(2026, 11, 25, 14)  # 15:00 in Amsterdam, 09:00 in New York, 03:00 in Auckland
    assert desk_state(WEEKDAYS_8_TO_1730, AMS, now).is_open
    assert desk_state(WEEKDAYS_8_TO_1730, "America/New_York", now).is_open
    assert not desk_state(WEEKDAYS_8_TO_1730, "Pacific/Auckland", now).is_open


def test_adjacent_intervals_merge_and_no_hours_means_never_open():
    split = [Interval(0, dt.time(8), dt.time(12)), Interval(0, dt.time(12), dt.time(17))]
    state = desk_state(split, AMS, utc(2026, 11, 23, 9))
    assert state.is_open and state.changes_at.hour == 17
    assert desk_state([], AMS, utc(2026, 11, 23, 9)) == desk_state([], AMS, utc(2026, 1, 1))
    assert desk_state([], AMS, utc(2026, 11, 23, 9)).changes_at is None
