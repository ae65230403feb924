"""The page elsewhere: shields-style status badges, an embeddable compact page (the only pages
that may be framed, by the sites each page names) and a one-script-tag widget.

Everything is made from the public snapshot, like every other public rendering. Badges are
pure functions of the snapshot (`badge_svg`), so a static mirror can write them too.
"""

from __future__ import annotations

import hashlib
import json
from xml.sax.saxutils import escape

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.clickjacking import xframe_options_exempt

from incidents.api.public import INDICATOR_DESCRIPTIONS
from incidents.models import ComponentStatus, Page
from incidents.snapshot import page_snapshot
from incidents.snapshot_types import PageSnapshot

from .pages import page_view

COLOURS = {
    "operational": "#2e7d32",
    "degraded_performance": "#8a6d00",
    "partial_outage": "#c15400",
    "major_outage": "#c62828",
    "under_maintenance": "#0b5cad",
}
INDICATOR_COLOURS = {
    "none": COLOURS["operational"],
    "minor": COLOURS["degraded_performance"],
    "major": COLOURS["partial_outage"],
    "critical": COLOURS["major_outage"],
    "maintenance": COLOURS["under_maintenance"],
}
# Verdana 11px advance widths (shields.io's measure), tenths of a pixel; others count as 70.
_NARROW = dict.fromkeys("fijlrt .,:;!|'()[]", 40) | dict.fromkeys("mwMW", 100)


# Statuspage's indicator wording, translated where we show it to people (badges, embed).
INDICATOR_WORDS = [
    gettext_noop("All Systems Operational"),
    gettext_noop("Minor Service Outage"),
    gettext_noop("Partial System Outage"),
    gettext_noop("Major System Outage"),
    gettext_noop("Service Under Maintenance"),
]


def text_width(text: str) -> int:
    return sum(_NARROW.get(ch, 70) for ch in text) // 10 + 10


def badge_svg(label: str, message: str, colour: str) -> str:
    """A shields.io-style flat badge; the status in words, readable by screen readers."""
    left, right = text_width(label), text_width(message)
    total = left + right
    label_x, message_x = left * 5, (left + right / 2) * 10
    title = escape(f"{label}: {message}")
    label, message = escape(label), escape(message)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label="{title}"><title>{title}</title>'
        '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" '
        'stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        f'<rect width="{total}" height="20" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
        'text-rendering="geometricPrecision" font-size="110">'
        f'<text x="{label_x:.0f}" y="140" transform="scale(.1)">{label}</text>'
        f'<text x="{message_x:.0f}" y="140" transform="scale(.1)">{message}</text></g></svg>'
    )


def page_badge(snapshot: PageSnapshot) -> str:
    indicator = snapshot.indicator
    message = _(INDICATOR_DESCRIPTIONS[indicator])
    return badge_svg(snapshot.page.name, message, INDICATOR_COLOURS[indicator])


def component_badge(snapshot: PageSnapshot, component_id: str) -> str | None:
    pk = snapshot.component_id(component_id)
    if pk is None:
        return None
    component = snapshot.components[pk]
    status = component.status
    return badge_svg(component.name, str(ComponentStatus(status).label), COLOURS[status])


def _cached(request, page: Page, kind: str, build, content_type: str, max_age: int = 60):
    """ETag from (page version, language, kind): a 304 costs no snapshot."""
    language = translation.get_language()
    digest = hashlib.blake2s(f"{page.cache_key}:{language}:{kind}".encode(), digest_size=12)
    etag = f'"{digest.hexdigest()}"'
    response: HttpResponse
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponseNotModified()
    else:
        body = build()
        if body is None:
            raise Http404(_("No such component on this page."))
        response = HttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={max_age}, stale-while-revalidate=60"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@page_view
def badge(request, page: Page):
    return _cached(
        request,
        page,
        "badge",
        lambda: page_badge(page_snapshot(page, translation.get_language())),
        "image/svg+xml; charset=utf-8",
    )


@page_view
def component_badge_view(request, page: Page, component_id: str):
    return _cached(
        request,
        page,
        f"badge:{component_id}",
        lambda: component_badge(page_snapshot(page, translation.get_language()), component_id),
        "image/svg+xml; charset=utf-8",
    )


def allow_framing(response, page: Page):
    """Let the sites the page names frame this response, and nobody else.

    The value is left on the response (`frame_ancestors`) for a Content-Security-Policy
    middleware to merge into its own header; until one does, the header is set here.
    """
    response.frame_ancestors = page.frame_ancestors
    response["Content-Security-Policy"] = f"frame-ancestors {page.frame_ancestors}"
    return response


@xframe_options_exempt
@page_view
def embed(request, page: Page):
    """A compact page for an iframe: overall status, components not operational, open
    incidents with links that open the full page."""
    snapshot = page_snapshot(page, translation.get_language())
    components = [
        c for c in snapshot.components.values() if c.status != ComponentStatus.OPERATIONAL
    ]
    incidents = snapshot.incidents_of(snapshot.unresolved_ids)
    active = snapshot.incidents_of(snapshot.active_maintenance_ids)
    indicator = snapshot.indicator
    with timezone.override(page.tz):
        response = render(
            request,
            "statuspage/embed.html",
            {
                "page": snapshot.page,
                "indicator": indicator,
                "description": _(INDICATOR_DESCRIPTIONS[indicator]),
                "components": components,
                "incidents": incidents + active,
                "full_url": request.build_absolute_uri(request.page_prefix),
            },
        )
    response["Cache-Control"] = "public, max-age=30"
    return allow_framing(response, page)


@page_view
def widget_js(request, page: Page):
    """One script tag for a customer's intranet: a small notice while something is not
    operational, read from summary.json (CORS), in the visitor's language."""
    base = request.build_absolute_uri(request.page_prefix)

    def build() -> str:
        config = {
            "summary": f"{base}api/v2/summary.json",
            "page": base,
            "texts": {
                "details": _("Details on the status page"),
                "close": _("Hide this notice"),
                "components": _("Affected"),
            },
            "poll": settings.WIDGET_POLL_SECONDS,
        }
        source = (settings.BASE_DIR / "statuspage" / "widget" / "widget.js").read_text()
        return source.replace("__CONFIG__", json.dumps(config))

    return _cached(
        request, page, f"widget:{base}", build, "text/javascript; charset=utf-8", max_age=300
    )
