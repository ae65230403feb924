"""Small factory functions for tests: real objects, made through the service layer."""

from __future__ import annotations

import datetime as dt
import itertools

from incidents import services
from incidents.models import ComponentGroup, Page, SupportHours

_counter = itertools.count(1)


def make_page(**fields) -> Page:
    n = next(_counter)
    fields.setdefault("slug", f"page-{n}")
    fields.setdefault("name", f"Page {n}")
    fields.setdefault("support_email", "support@example.com")
    fields.setdefault("support_phone", "+31 20 123 4567")
    page = Page(**fields)
    return services.save_page(page, actor=None)


def make_group(page: Page, name: str = "", **fields) -> ComponentGroup:
    group = ComponentGroup(page=page, name=name or f"Group {next(_counter)}", **fields)
    return services.save_group(group, actor=None)


def make_component(page: Page, name: str = "", **fields):
    return services.create_component(
        page, actor=None, name=name or f"Component {next(_counter)}", **fields
    )


def office_hours(page: Page, *, weekdays=range(5), opens="08:00", closes="17:30", line="office"):
    """Weekly opening hours, Monday–Friday 08:00–17:30 unless told otherwise."""
    for weekday in weekdays:
        SupportHours.objects.create(
            page=page,
            line=line,
            weekday=weekday,
            opens=dt.time.fromisoformat(opens),
            closes=dt.time.fromisoformat(closes),
        )
    return page
