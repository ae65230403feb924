"""Template helpers for the public pages: timestamps from the snapshot, status labels."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from urllib.parse import quote

from django import template
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from incidents.models import ComponentStatus, Impact, IncidentStatus, Indicator

register = template.Library()


@register.filter
def when(value: str | None) -> dt.datetime | None:
    """An ISO timestamp of the snapshot as an aware datetime (shown in the page's time zone)."""
    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


@register.filter
def ago(value: str | None) -> SafeString | str:
    """How long ago an ISO moment was ("12 minutes ago"), in the active language, in an element
    statuspage/ago.js keeps fresh: <span class="ago" data-ago="...">. Next to the absolute time,
    never instead of it."""
    moment = when(value)
    if moment is None:
        return ""
    if (timezone.now() - moment).total_seconds() < 60:
        text = _("just now")
    else:
        text = _("%(time)s ago") % {"time": timesince(moment, depth=1)}
    return format_html(
        '<span class="ago" data-ago="{}" data-just-now="{}">{}</span>', value, _("just now"), text
    )


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


FAVICON = (
    "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'>"
    "<rect width='32' height='32' rx='7' fill='{colour}'/>"
    "<circle cx='16' cy='16' r='8' fill='none' stroke='#fff' stroke-width='3.5'/>"
    "<circle cx='16' cy='16' r='2.5' fill='#fff'/></svg>"
)


@register.filter
def favicon(colour: str) -> str:
    """The page's icon in its branding colour, as an SVG data URL (no request, mirror-safe)."""
    colour = colour if re.fullmatch(r"#[0-9a-fA-F]{6}", colour or "") else "#0b5cad"
    return "data:image/svg+xml," + quote(FAVICON.format(colour=colour), safe="/:=' ")


def accent_css(colour: str) -> tuple[str, str]:
    """The inline style that sets a page's accent colour, and its CSP source ('sha256-...')."""
    css = f":root {{ --accent: {conditional_escape(colour)}; }}"
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    return css, f"'sha256-{digest}'"


def allow_accent_style(request, colour: str) -> None:
    """Let this response's policy allow the page's accent style (`InlineStyleHashes`)."""
    request.__dict__.setdefault("csp_style_hashes", set()).add(accent_css(colour)[1])


@register.simple_tag(takes_context=True)
def accent_style(context, colour: str) -> SafeString:
    """The page's accent colour as an inline <style> allowed by its hash, not a nonce: the same
    bytes are valid in every response, so a cached rendering needs no per-response rewrite
    (`page_view` allows it even when the rendering comes from the cache)."""
    css, _source = accent_css(colour)
    request = context.get("request")
    if request is not None:
        allow_accent_style(request, colour)
    return mark_safe(f"<style>{css}</style>")  # noqa: S308 - escaped in accent_css
