"""Template helpers for the public pages: timestamps from the snapshot, status labels."""

from __future__ import annotations

import datetime as dt

from django import template

from incidents.models import ComponentStatus, Impact, IncidentStatus, Indicator

register = template.Library()


@register.filter
def when(value: str | None) -> dt.datetime | None:
    """An ISO timestamp of the snapshot as an aware datetime (shown in the page's time zone)."""
    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


@register.filter
def component_status_label(value: str) -> str:
    return str(ComponentStatus(value).label) if value in ComponentStatus.values else value


@register.filter
def incident_status_label(value: str) -> str:
    return str(IncidentStatus(value).label) if value in IncidentStatus.values else value


@register.filter
def impact_label(value: str) -> str:
    return str(Impact(value).label) if value in Impact.values else value


@register.filter
def indicator_label(value: str) -> str:
    return str(Indicator(value).label) if value in Indicator.values else value
