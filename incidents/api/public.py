"""The public read API, shaped as Statuspage's v2 (summary.json, status.json, ...).

Everything is made from `incidents.snapshot.page_snapshot`, so visibility rules are the public
page's and a request runs a fixed number of queries (the page lookup, then a cached snapshot).
Responses carry an ETag from the page version (answered with 304 before any snapshot work),
a short shared-cache lifetime with stale-while-revalidate, and `Access-Control-Allow-Origin: *`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.utils.cache import patch_cache_control

from incidents.models import Page
from incidents.models.pages import public_page_url
from incidents.snapshot import page_snapshot
from incidents.snapshot_types import ComponentView, IncidentView, PageInfo, PageSnapshot, UpdateView
from statuspage.pages import page_for_request

# Statuspage's own wording for each indicator (clients show or match these strings).
INDICATOR_DESCRIPTIONS = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
    "maintenance": "Service Under Maintenance",
}
RECENT = 50


def _page_url(page: PageInfo) -> str:
    return public_page_url(page.slug, page.custom_host).rstrip("/")  # Statuspage's shape


def _page(snapshot: PageSnapshot) -> dict[str, Any]:
    page = snapshot.page
    return {
        "id": page.slug,
        "name": page.name,
        "url": _page_url(page),
        "time_zone": page.time_zone,
        "updated_at": page.updated_at,
    }


def _status(snapshot: PageSnapshot) -> dict[str, str]:
    indicator = snapshot.indicator
    return {"indicator": indicator, "description": INDICATOR_DESCRIPTIONS[indicator]}


def _component(component: ComponentView, slug: str) -> dict[str, Any]:
    return {
        "id": component.public_id,
        "name": component.name,
        "status": component.status,
        "created_at": component.created_at,
        "updated_at": component.updated_at,
        "position": component.position,
        "description": component.description or None,
        "showcase": True,
        "start_date": None,
        "group_id": component.group_public_id,
        "page_id": slug,
        "group": False,
        "only_show_if_degraded": False,
    }


def _components(snapshot: PageSnapshot) -> list[dict[str, Any]]:
    """Groups (with `group: true` and their members' ids) and components, in page order."""
    slug = snapshot.page.slug
    components = snapshot.components
    groups = snapshot.groups_by_id()
    out = []
    for item in snapshot.layout:
        if item.type == "component":
            out.append(_component(components[item.id], slug))
            continue
        group = groups[item.id]
        out.append(
            {
                "id": group.public_id,
                "name": group.name,
                "status": group.status,
                "created_at": group.created_at,
                "updated_at": group.updated_at,
                "position": group.position,
                "description": group.description or None,
                "showcase": False,
                "start_date": None,
                "group_id": None,
                "page_id": slug,
                "group": True,
                "only_show_if_degraded": False,
                "components": [components[i].public_id for i in group.components],
            }
        )
        out.extend(_component(components[i], slug) for i in group.components)
    return out


def _update(update: UpdateView) -> dict[str, Any]:
    return {
        "id": update.public_id,
        "status": update.status,
        "body": update.body,
        "incident_id": update.incident_public_id,
        "created_at": update.created_at,
        "updated_at": update.updated_at,
        "display_at": update.display_at,
        "affected_components": [
            {
                "code": c.code,
                "name": c.name,
                "old_status": c.old_status,
                "new_status": c.new_status,
            }
            for c in update.affected_components
        ]
        or None,
        "deliver_notifications": update.deliver_notifications,
        "custom_tweet": None,
        "tweet_id": None,
    }


def _incident(incident: IncidentView, slug: str, custom_host: str = "") -> dict[str, Any]:
    out = {
        "id": incident.public_id,
        "name": incident.name,
        "status": incident.status,
        "created_at": incident.created_at,
        "updated_at": incident.updated_at,
        "monitoring_at": incident.monitoring_at,
        "resolved_at": incident.resolved_at,
        "impact": incident.impact,
        "shortlink": public_page_url(slug, custom_host, f"incidents/{incident.id}/"),
        "started_at": incident.started_at,
        "page_id": slug,
        "incident_updates": [_update(u) for u in incident.incident_updates],
        "components": [_component(c, slug) for c in incident.components],
    }
    if incident.kind == "incident":
        # Only a published postmortem is in the snapshot (null until then).
        out["postmortem_body"] = incident.postmortem_body
        out["postmortem_published_at"] = incident.postmortem_published_at
    if incident.kind == "maintenance":
        out["scheduled_for"] = incident.scheduled_for
        out["scheduled_until"] = incident.scheduled_until
    return out


def _incidents(snapshot: PageSnapshot, ids: Sequence[int]) -> list[dict[str, Any]]:
    slug, host = snapshot.page.slug, snapshot.page.custom_host
    return [_incident(i, slug, host) for i in snapshot.incidents_of(ids)]


def _recent_incident_ids(snapshot: PageSnapshot) -> list[int]:
    """The 50 most recent incidents, and every unresolved one, newest first."""
    ids = list(dict.fromkeys([*snapshot.unresolved_ids, *snapshot.recent_incident_ids]))
    ids = [i for i in ids if i in snapshot.incidents]
    return sorted(
        ids,
        key=lambda i: (snapshot.incidents[i].created_at or "", i),
        reverse=True,
    )


# --- the documents ------------------------------------------------------------------------------


def summary_document(snapshot: PageSnapshot) -> dict[str, Any]:
    scheduled = snapshot.active_maintenance_ids + snapshot.upcoming_maintenance_ids
    return {
        "page": _page(snapshot),
        "status": _status(snapshot),
        "components": _components(snapshot),
        "incidents": _incidents(snapshot, snapshot.unresolved_ids),
        "scheduled_maintenances": _incidents(snapshot, scheduled),
    }


DOCUMENTS: dict[str, Callable[[PageSnapshot], dict[str, Any]]] = {
    "summary": summary_document,
    "status": lambda snap: {"page": _page(snap), "status": _status(snap)},
    "components": lambda snap: {"page": _page(snap), "components": _components(snap)},
    "incidents": lambda snap: {
        "page": _page(snap),
        "incidents": _incidents(snap, _recent_incident_ids(snap)[:RECENT]),
    },
    "unresolved": lambda snap: {
        "page": _page(snap),
        "incidents": _incidents(snap, snap.unresolved_ids),
    },
    "scheduled_maintenances": lambda snap: {
        "page": _page(snap),
        "scheduled_maintenances": _incidents(snap, snap.recent_maintenance_ids[:RECENT]),
    },
    "upcoming": lambda snap: {
        "page": _page(snap),
        "scheduled_maintenances": _incidents(snap, snap.upcoming_maintenance_ids),
    },
    "active": lambda snap: {
        "page": _page(snap),
        "scheduled_maintenances": _incidents(snap, snap.active_maintenance_ids),
    },
}


def _etag(page: Page, name: str) -> str:
    return f'W/"{page.pk}.{page.version}.{name}"'


def _cors(response: HttpResponse) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
    response["Access-Control-Allow-Headers"] = "If-None-Match"
    response["Access-Control-Expose-Headers"] = "ETag"
    return response


def _cache(response: HttpResponse) -> HttpResponse:
    seconds = settings.PUBLIC_CACHE_SECONDS
    patch_cache_control(response, public=True, max_age=seconds, stale_while_revalidate=seconds * 6)
    return response


def document_view(name: str):
    """A view answering one v2 document for the page of the URL's slug or the request's host."""

    def view(request, slug: str | None = None):
        if request.method == "OPTIONS":
            response = _cors(HttpResponse(status=204))
            response["Access-Control-Max-Age"] = "86400"
            return response
        if request.method not in ("GET", "HEAD"):
            return _cors(HttpResponseNotAllowed(["GET", "HEAD", "OPTIONS"]))
        page = page_for_request(request, slug)
        etag = _etag(page, name)
        if etag in {t.strip() for t in request.headers.get("If-None-Match", "").split(",")}:
            response = HttpResponse(status=304)
        else:
            document = DOCUMENTS[name](page_snapshot(page))
            response = JsonResponse(document, json_dumps_params={"ensure_ascii": False})
        response["ETag"] = etag
        return _cors(_cache(response))

    view.__name__ = f"v2_{name}"
    view.__doc__ = f"Statuspage v2 `{name}` document of a page."
    return view


summary = document_view("summary")
status = document_view("status")
components = document_view("components")
incidents = document_view("incidents")
unresolved = document_view("unresolved")
scheduled_maintenances = document_view("scheduled_maintenances")
upcoming = document_view("upcoming")
active = document_view("active")
