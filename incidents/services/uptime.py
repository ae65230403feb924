"""Writes to the daily uptime rollup (`ComponentDailyStatus`), from the status history.

`roll_up_component` runs on every status change (inside that change's transaction) and
extends the component's rows up to that moment from its latest row: a few queries, whatever the
history's length. The beat task (`roll_up_uptime`) rebuilds yesterday and today from the history
for every component, which both creates the rows of quiet days and heals anything a race left.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from incidents.models import Component, ComponentDailyStatus, ComponentStatusChange, Page
from incidents.uptime import add_interval, day_bounds, local_day


@transaction.atomic(savepoint=False)
def roll_up_component(
    component: Component | int,
    *,
    until: dt.datetime | None = None,
    rebuild_from: dt.date | None = None,
) -> int:
    """Bring a component's daily rows up to `until` (now); returns how many rows were written.

    Incrementally from its latest row, or, with `rebuild_from`, recomputed from the history for
    every day from that (local) day on.
    """
    component_id = component if isinstance(component, int) else component.pk
    # Lock the component (status changes hold this lock already): one roll-up at a time for it.
    locked = Component.objects.select_for_update(of=("self",)).filter(pk=component_id)
    time_zone = locked.values_list("page__time_zone", flat=True).first()
    if time_zone is None:
        return 0
    tz = Page(time_zone=time_zone).tz
    # "Now" is read after the lock, so no change committed before it is left out.
    until = until or timezone.now()
    rows = ComponentDailyStatus.objects.filter(component_id=component_id)
    history = ComponentStatusChange.objects.filter(component_id=component_id).order_by(
        "changed_at", "id"
    )
    days: dict[dt.date, dict] = {}
    status, cursor, latest = None, None, None
    if rebuild_from is not None:
        cursor = day_bounds(rebuild_from, tz)[0]
        before = (
            history.filter(changed_at__lt=cursor)
            .order_by("-changed_at", "-id")
            .values_list("new_status", flat=True)
            .first()
        )
        status = before
        changes = history.filter(changed_at__gte=cursor, changed_at__lte=until)
    else:
        latest = rows.order_by("-day").first()
        if latest is not None:
            status, cursor = latest.end_status, latest.covered_until
            days[latest.day] = {
                "seconds": dict(latest.seconds),
                "end_status": latest.end_status,
                "covered_until": latest.covered_until,
            }
            changes = history.filter(changed_at__gte=cursor, changed_at__lte=until)
        else:
            changes = history.filter(changed_at__lte=until)
    for changed_at, new_status in changes.values_list("changed_at", "new_status"):
        if status is not None and cursor is not None:
            add_interval(days, cursor, changed_at, status, tz)
        status = new_status
        if cursor is None or changed_at > cursor:
            cursor = changed_at
        day = days.setdefault(
            local_day(cursor, tz), {"seconds": {}, "end_status": status, "covered_until": cursor}
        )
        day["end_status"] = status
        day["covered_until"] = max(day["covered_until"], cursor)
    if status is not None and cursor is not None and cursor < until:
        add_interval(days, cursor, until, status, tz)
    new_days = dict(days)
    if rebuild_from is not None:
        rows.filter(day__gte=rebuild_from).delete()
    elif latest is not None and latest.day in days:
        acc = new_days.pop(latest.day)
        latest.seconds, latest.end_status = acc["seconds"], acc["end_status"]
        latest.covered_until = acc["covered_until"]
        latest.save(update_fields=["seconds", "end_status", "covered_until"])
    ComponentDailyStatus.objects.bulk_create(
        ComponentDailyStatus(
            component_id=component_id,
            day=day,
            seconds=acc["seconds"],
            end_status=acc["end_status"],
            covered_until=acc["covered_until"],
        )
        for day, acc in sorted(new_days.items())
    )
    return len(days)


def rebuild_page_uptime(page: Page) -> int:
    """Recompute every daily row of a page's components (after its time zone changed)."""
    written = 0
    ComponentDailyStatus.objects.filter(component__page=page).delete()
    for component_id, created_at in page.components.values_list("pk", "created_at"):
        written += roll_up_component(component_id, rebuild_from=local_day(created_at, page.tz))
    return written


def roll_up_uptime(*, rebuild: bool = False) -> int:
    """The beat task's work: every component's rows up to now, yesterday and today rebuilt.

    With `rebuild`, every day of every component (`save_page` does it for a page whose time zone
    changed).
    """
    written = 0
    today = timezone.now()
    components = Component.objects.values_list("pk", "page__time_zone", "created_at")
    for component_id, time_zone, created_at in components.iterator():
        tz = Page(time_zone=time_zone).tz
        since = local_day(created_at if rebuild else today - dt.timedelta(days=1), tz)
        # Close the days since the latest row, then recompute the recent ones from history.
        roll_up_component(component_id)
        written += roll_up_component(component_id, rebuild_from=since)
    return written
