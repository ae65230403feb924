"""The public read API (Statuspage's v2 documents, incidents/api/public.py) in the OpenAPI
schema next to the management API: plain Django views, so drf-spectacular does not find them
itself; a postprocessing hook adds their paths and response shapes, both as each page serves
them under /p/{page_id}/ and as a page's own host serves them at its root (/api/v2/...)."""

from __future__ import annotations

from typing import Any

TAG = "Public API (v2)"

_TIME = {"type": "string", "format": "date-time", "nullable": True}
_TEXT = {"type": "string"}
# Every object's public id: 12 lowercase letters and digits, never shared between objects.
_ID = {"type": "string", "pattern": "^[a-z0-9]{12}$", "example": "2xb9kq3c8bvf"}
_NULLABLE_TEXT = {"type": "string", "nullable": True}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required if required is not None else list(properties),
    }


SCHEMAS: dict[str, dict[str, Any]] = {
    "PublicPage": _object(
        {
            "id": {**_TEXT, "description": "The page's slug."},
            "name": _TEXT,
            "url": {**_TEXT, "format": "uri"},
            "time_zone": {**_TEXT, "example": "Europe/Amsterdam"},
            "updated_at": _TIME,
        }
    ),
    "PublicStatus": _object(
        {
            "indicator": {
                "type": "string",
                "enum": ["none", "minor", "major", "critical", "maintenance"],
            },
            "description": {**_TEXT, "example": "All Systems Operational"},
        }
    ),
    "PublicComponent": _object(
        {
            "id": _ID,
            "name": _TEXT,
            "status": {**_TEXT, "example": "operational"},
            "created_at": _TIME,
            "updated_at": _TIME,
            "position": {"type": "integer"},
            "description": _NULLABLE_TEXT,
            "showcase": {"type": "boolean"},
            "start_date": _NULLABLE_TEXT,
            "group_id": _NULLABLE_TEXT,
            "page_id": _TEXT,
            "group": {"type": "boolean", "description": "A group: `components` lists its members"},
            "only_show_if_degraded": {"type": "boolean"},
            "components": {"type": "array", "items": _ID},
        },
        required=["id", "name", "status", "position", "group", "page_id"],
    ),
    "PublicAffectedComponent": _object(
        {"code": _ID, "name": _TEXT, "old_status": _TEXT, "new_status": _TEXT}
    ),
    "PublicIncidentUpdate": _object(
        {
            "id": _ID,
            "status": _TEXT,
            "body": _TEXT,
            "incident_id": _ID,
            "created_at": _TIME,
            "updated_at": _TIME,
            "display_at": _TIME,
            "affected_components": {
                "type": "array",
                "items": _ref("PublicAffectedComponent"),
                "nullable": True,
            },
            "deliver_notifications": {"type": "boolean"},
            "custom_tweet": _NULLABLE_TEXT,
            "tweet_id": _NULLABLE_TEXT,
        },
        required=["id", "status", "body", "incident_id", "display_at"],
    ),
    "PublicIncident": _object(
        {
            "id": _ID,
            "name": _TEXT,
            "status": _TEXT,
            "created_at": _TIME,
            "updated_at": _TIME,
            "monitoring_at": _TIME,
            "resolved_at": _TIME,
            "impact": _TEXT,
            "shortlink": {**_TEXT, "format": "uri"},
            "started_at": _TIME,
            "page_id": _TEXT,
            "incident_updates": {
                "type": "array",
                "items": _ref("PublicIncidentUpdate"),
                "description": "Newest first.",
            },
            "components": {"type": "array", "items": _ref("PublicComponent")},
            "postmortem_body": {**_NULLABLE_TEXT, "description": "Incidents only, once published"},
            "postmortem_published_at": _TIME,
            "scheduled_for": {**_TIME, "description": "Maintenance only"},
            "scheduled_until": {**_TIME, "description": "Maintenance only"},
        },
        required=["id", "name", "status", "impact", "incident_updates", "components"],
    ),
}

_PAGE = {"page": _ref("PublicPage")}
_INCIDENTS = {"type": "array", "items": _ref("PublicIncident")}

# path -> (operation id, summary, response properties)
DOCUMENTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "summary.json": (
        "public_summary",
        "The page's status, components, open incidents and active or upcoming maintenance",
        {
            **_PAGE,
            "status": _ref("PublicStatus"),
            "components": {"type": "array", "items": _ref("PublicComponent")},
            "incidents": _INCIDENTS,
            "scheduled_maintenances": _INCIDENTS,
        },
    ),
    "status.json": (
        "public_status",
        "The page's overall indicator",
        {**_PAGE, "status": _ref("PublicStatus")},
    ),
    "components.json": (
        "public_components",
        "Groups and components in page order",
        {**_PAGE, "components": {"type": "array", "items": _ref("PublicComponent")}},
    ),
    "incidents.json": (
        "public_incidents",
        "The 50 most recent incidents and every unresolved one, newest first",
        {**_PAGE, "incidents": _INCIDENTS},
    ),
    "incidents/unresolved.json": (
        "public_unresolved_incidents",
        "Open incidents",
        {**_PAGE, "incidents": _INCIDENTS},
    ),
    "scheduled-maintenances.json": (
        "public_scheduled_maintenances",
        "The 50 most recent maintenance windows",
        {**_PAGE, "scheduled_maintenances": _INCIDENTS},
    ),
    "scheduled-maintenances/upcoming.json": (
        "public_upcoming_maintenances",
        "Maintenance that has not started",
        {**_PAGE, "scheduled_maintenances": _INCIDENTS},
    ),
    "scheduled-maintenances/active.json": (
        "public_active_maintenances",
        "Maintenance in progress",
        {**_PAGE, "scheduled_maintenances": _INCIDENTS},
    ),
}


# A page's own host (`Page.custom_host`) serves its documents at /api/v2/... (page_urls.py is
# mounted at the root there, statuspage/urls.py); any other host serves the default page's.
HOST_SERVERS = [
    {
        "url": "{scheme}://{host}",
        "description": "A page's own host: the documents of that page (on any other host of "
        "this installation: the default page's).",
        "variables": {
            "scheme": {"enum": ["https", "http"], "default": "https"},
            "host": {
                "default": "status.example.com",
                "description": "The page's custom host name.",
            },
        },
    }
]
PAGE_ID = {
    "name": "page_id",
    "in": "path",
    "required": True,
    "description": "The page's slug, as in /p/<slug>/.",
    "schema": {"type": "string"},
}


def _operation(
    operation_id: str, summary: str, properties: dict[str, Any], *, by_host: bool = False
) -> dict[str, Any]:
    where = (
        "Served at the root of a page's own host (the same document as `/p/{page_id}/api/v2/...`)."
        if by_host
        else "Also served at `/api/v2/...` on a page's own host."
    )
    return {
        "operationId": f"{operation_id}_by_host" if by_host else operation_id,
        "summary": summary,
        "description": (
            f"Statuspage's v2 document, read-only and without authentication. {where} "
            "Answers 304 to a matching `If-None-Match`; shared caches may keep it briefly; any "
            "origin may read it (CORS). Texts are the original ones (the page's language)."
        ),
        "tags": [TAG],
        "security": [],
        "parameters": [] if by_host else [PAGE_ID],
        **({"servers": HOST_SERVERS} if by_host else {}),
        "responses": {
            "200": {
                "description": "The document",
                "content": {"application/json": {"schema": _object(properties)}},
            },
            "304": {"description": "Not modified since the ETag in If-None-Match"},
            "404": {
                "description": "No such page",
                "content": {"text/html": {"schema": {"type": "string"}}},
            },
        },
    }


def add_public_api(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the v2 documents' paths and schemas."""
    for path, (operation_id, summary, properties) in DOCUMENTS.items():
        result["paths"][f"/p/{{page_id}}/api/v2/{path}"] = {
            "get": _operation(operation_id, summary, properties)
        }
    for path, (operation_id, summary, properties) in DOCUMENTS.items():
        result["paths"][f"/api/v2/{path}"] = {
            "get": _operation(operation_id, summary, properties, by_host=True)
        }
    result.setdefault("components", {}).setdefault("schemas", {}).update(SCHEMAS)
    tags = result.setdefault("tags", [])
    tags.append(
        {
            "name": TAG,
            "description": "Statuspage-compatible read API of each public page (no key needed).",
        }
    )
    return result
