"""Template helpers for the 90-day uptime bars (data from the page snapshot's "uptime").

The bars are built here rather than in a template loop: 90 bars per component with a tooltip
each cost ~10 ms per component as template nodes, well under 1 ms as one format pass.
"""

from __future__ import annotations

import datetime as dt
import functools

from django import template
from django.utils.dateformat import format as format_date
from django.utils.formats import number_format
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from incidents.snapshot_types import ComponentUptime, PageSnapshot

register = template.Library()

LEVEL_LABELS = {
    "operational": gettext_lazy("No downtime"),
    "degraded": gettext_lazy("Degraded performance"),
    "partial": gettext_lazy("Partial outage"),
    "major": gettext_lazy("Major outage"),
    "maintenance": gettext_lazy("Maintenance"),
    "nodata": gettext_lazy("No data"),
}


@register.filter
def uptime_of(snapshot: PageSnapshot, component_id: int) -> ComponentUptime | None:
    """One component's bars and 90-day percentage, or None (not in the snapshot's uptime)."""
    return snapshot.uptime.components.get(component_id)


@register.filter
def percent(value: float | None) -> str:
    """99.95 as "99.95%" in the active language's number format."""
    if value is None:
        return ""
    return _("%(percent)s%%") % {"percent": number_format(value, 2)}


@functools.lru_cache(maxsize=4096)
def _day_label(language: str, iso: str) -> str:
    return escape(format_date(dt.date.fromisoformat(iso), "D j M Y"))


@register.simple_tag
def uptime_bars(uptime: ComponentUptime) -> SafeString:
    """The <li> bars of one component: each focusable, its tooltip its own (readable) text."""
    language = get_language()
    no_data, no_incidents = escape(_("No data")), escape(_("No incidents"))
    uptime_text = _("%(percent)s uptime")
    levels = {k: escape(str(v).lower()) for k, v in LEVEL_LABELS.items()}
    parts = []
    for day in uptime.days:
        level = day.level
        summary: str
        if day.uptime is None:
            summary = no_data
        else:
            summary = escape(uptime_text % {"percent": percent(day.uptime)})
            if level != "operational":
                summary += ", " + levels[level]
        if day.incidents:
            listed = "".join(f"<span>{escape(i.name)}</span>" for i in day.incidents)
        else:
            listed = "" if day.uptime is None else f"<span>{no_incidents}</span>"
        parts.append(
            f'<li class="uptime-day uptime-day--{escape(level)}" tabindex="0">'
            f'<span class="uptime-tip"><strong>{_day_label(language, day.date)}</strong> '
            f'{summary}<span class="uptime-incidents">{listed}</span></span></li>'
        )
    return mark_safe("".join(parts))  # noqa: S308  (every value above is escaped)


@register.simple_tag
def uptime_label(name: str) -> str:
    return format_html("{}", _("Uptime of %(name)s per day, last 90 days") % {"name": name})
