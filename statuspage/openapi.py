"""The public read API (Statuspage's v2 documents, incidents/api/public.py) in the OpenAPI
schema next to the management API: plain Django views, so drf-spectacular does not find them
itself; a postprocessing hook adds their paths and response shapes."""

from __future__ import annotations

from typing import Any

TAG = "Public API (v2)"

_TIME = {"type": "string", "format": "date-time", "nullable": True}
_TEXT = {"type": "string"}
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
            "id": _TEXT,
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
            "components": {"type": "array", "items": _TEXT},
        },
        required=["id", "name", "status", "position", "group", "page_id"],
    ),
    "PublicAffectedComponent": _object(
        {"code": _TEXT, "name": _TEXT, "old_status": _TEXT, "new_status": _TEXT}
    ),
    "PublicIncidentUpdate": _object(
        {
            "id": _TEXT,
            "status": _TEXT,
            "body": _TEXT,
            "incident_id": _TEXT,
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
            "id": _TEXT,
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


def _operation(operation_id: str, summary: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": (
            "Statuspage's v2 document, read-only and without authentication. Also served at "
            "`/api/v2/...` on a page's own host. Answers 304 to a matching `If-None-Match`; "
            "shared caches may keep it briefly; any origin may read it (CORS)."
        ),
        "tags": [TAG],
        "security": [],
        "parameters": [
            {
                "name": "page_id",
                "in": "path",
                "required": True,
                "description": "The page's slug, as in /p/<slug>/.",
                "schema": {"type": "string"},
            }
        ],
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
    result.setdefault("components", {}).setdefault("schemas", {}).update(SCHEMAS)
    tags = result.setdefault("tags", [])
    tags.append(
        {
            "name": TAG,
            "description": "Statuspage-compatible read API of each public page (no key needed).",
        }
    )
    return result
