"""Websocket push: every domain event of a page goes to the page's open status pages.

Per event the live sections are rendered once per language from the snapshot and the message
is serialized once per language; consumers forward that text as is (no per-client work).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from circuitbreaker import CircuitBreakerError  # type: ignore[import-untyped]
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from incidents import events, visibility
from incidents.events import DomainEvent
from incidents.models import ComponentStatus, Incident, IncidentStatus, Page
from incidents.snapshot import page_snapshot
from incidents.snapshot_types import ComponentView, PageSnapshot
from statuspage import resilience
from statuspage.live import live_state
from statuspage.pages import SUPPORTED

logger = logging.getLogger(__name__)

# The channel-layer message type; PageConsumer.live_message forwards its "text".
LIVE_MESSAGE = "live.message"


def page_group(page_id: int, language: str) -> str:
    """The Channels group of one page's clients reading it in one language."""
    return f"page.{page_id}.{language}"


def canonical_prefix(slug: str) -> str:
    # Links in pushed fragments point at /p/<slug>/, which works on every host; the script
    # rewrites them to the page's own prefix when it is served at / (custom host, default page).
    return f"/p/{slug}/"


INCIDENT_FIELDS = (
    "id", "kind", "name", "status", "impact", "created_at", "updated_at", "resolved_at",
    "scheduled_for", "scheduled_until", "postmortem_published_at",
)  # fmt: skip


def _public_component(component: ComponentView) -> dict[str, Any]:
    """A component as public JSON names it: by its public id (the v2 API's)."""
    data = dataclasses.asdict(component)
    data["id"] = data.pop("public_id")
    data["group_id"] = data.pop("group_public_id")
    return data


def public_object(event: DomainEvent, snapshot: PageSnapshot) -> dict[str, Any] | None:
    """The changed object as the public may see it, taken from the snapshot, with the ids the
    public JSON API shows (public ids, never database ids); None when the event changed nothing
    the public sees (a hidden or customer-only component, a customer-only incident).

    The event's own data is for internal listeners: it can name hidden and customer-only
    components. Here those are left out, and an incident is the snapshot's (public components
    only).
    """
    data = event.data
    visible = snapshot.components
    if event.type == events.CUSTOMER_UPDATED:
        return None  # who uses what: never the public's business
    if "component" in data or "components" in data:
        changed = data.get("components") or [data["component"]]
        if event.type == events.COMPONENT_DELETED:
            gone = [c for c in changed if c.get("is_visible") and c.get("visibility") == "public"]
            if not gone:
                return None
            return {"components": [{"id": c.get("public_id"), "name": c["name"]} for c in gone]}
        shown = [
            _public_component(visible[int(c["id"])]) for c in changed if int(c["id"]) in visible
        ]
        # One the public saw until now, made hidden or customer-only: it leaves the page.
        left = [
            {"id": c.get("public_id"), "name": c["name"]}
            for c in changed
            if c.get("was_public") and int(c["id"]) not in visible
        ]
        if not shown and not left:
            return None
        return {"components": shown, **({"removed": left} if left else {})}
    if "incident" in data:
        incident = snapshot.incidents.get(int(data["incident"]["id"]))
        if incident is None:  # deleted, customer-only, or older than the snapshot holds
            said = data["incident"]
            if not _was_public(event):
                return None
            return {
                "incident": {
                    "id": said.get("public_id"),
                    "kind": said.get("kind"),
                    "name": said.get("name"),
                }
            }
        latest = incident.incident_updates[:1]
        return {
            "incident": {
                **{k: getattr(incident, k) for k in INCIDENT_FIELDS},
                "id": incident.public_id,
                "components": [
                    {"id": c.public_id, "name": c.name, "status": c.status}
                    for c in incident.components
                ],
                "latest_update": {
                    "id": latest[0].public_id,
                    "status": latest[0].status,
                    "body": latest[0].body,
                    "display_at": latest[0].display_at,
                }
                if latest
                else None,
            }
        }
    return {}


def _was_public(event: DomainEvent) -> bool:
    """Whether an incident missing from the snapshot is one the public may see (1 query): a
    deleted one by the components the event names, another by its components now."""
    if event.type == events.INCIDENT_DELETED:
        return visibility.touches_public(event.data.get("component_ids") or [])
    found = Incident.objects.filter(pk=int(event.data["incident"]["id"]))
    return visibility.public_incidents(found).exists()


def announcement(event: DomainEvent, changed: dict[str, Any]) -> str:
    """One sentence for screen readers on what changed (in the active language), or "" when
    nothing the public sees changed."""
    if "components" in changed:
        if event.type == events.COMPONENT_DELETED or not changed["components"]:
            return _("The status page was updated") if changed["components"] else ""
        return "; ".join(
            _("%(name)s: %(status)s")
            % {"name": c["name"], "status": _label(ComponentStatus, c["status"])}
            for c in changed["components"]
        )
    if "incident" in changed:
        incident = changed["incident"]
        names = {"name": incident["name"], "status": _label(IncidentStatus, incident.get("status"))}
        if event.type == events.INCIDENT_DELETED:
            return _("Incident “%(name)s” was removed") % names
        if event.type == events.POSTMORTEM_EDITED:
            return ""  # a draft: nothing the public sees changed
        if event.type == events.POSTMORTEM_PUBLISHED:
            return _("Postmortem published for “%(name)s”") % names
        if incident.get("kind") == "maintenance":
            return _("Maintenance “%(name)s”: %(status)s") % names
        if event.type == events.INCIDENT_CREATED:
            return _("New incident “%(name)s”: %(status)s") % names
        return _("Incident “%(name)s”: %(status)s") % names
    return _("The status page was updated")


def _label(choices, value) -> str:
    return choices(value).label if value in choices.values else (value or "")


def live_messages(page: Page, event: DomainEvent) -> dict[str, str]:
    """The serialized websocket message of an event, per language: `{language: json text}`.

    Each message holds the event's `type`, `version`, `page` and the changed object as the
    public sees it (`data`), the live sections as HTML and the page title in that language,
    and an `announce` sentence.
    """
    snapshot = page_snapshot(page)
    changed = public_object(event, snapshot)
    if changed is None:  # nothing the public sees: no push, so not even its time is told
        return {}
    messages = {}
    for language in SUPPORTED:
        state = live_state(page, snapshot, language=language, prefix=canonical_prefix(page.slug))
        with translation.override(language):
            announce = announcement(event, changed)
        message: dict[str, Any] = {
            "type": event.type,
            "version": event.version,
            "page": page.slug,
            "data": changed,
            "state_version": state.pop("version"),
            **state,
            "announce": announce,
        }
        messages[language] = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
    return messages


async def send_to_groups(page_id: int, version: int, messages: dict[str, str]) -> None:
    layer = get_channel_layer()
    for language, text in messages.items():
        await layer.group_send(
            page_group(page_id, language), {"type": LIVE_MESSAGE, "version": version, "text": text}
        )


def push_event(event: DomainEvent) -> None:
    """Push an event to every open status page of its page (call after commit).

    Bounded: `LIVE_PUSH_TIMEOUT` seconds at most, and no wait at all while the channel layer's
    circuit breaker is open. A failure is logged and raised, so the relay pushes again once
    Redis is back (incidents/relay.py); a client also catches up from the version gap.
    """
    if get_channel_layer() is None:
        return
    breaker = resilience.channel_layer
    if breaker.opened:
        raise CircuitBreakerError(breaker)
    page = Page.objects.filter(pk=event.page_id).first()
    if page is None:
        return
    messages = live_messages(page, event)
    if not messages:
        return
    try:
        async_to_sync(_send_within)(page.pk, event.version, messages)
    except Exception as exc:
        logger.warning("Live push of %s (page %s, version %s) failed: %r", *_ids(event), exc)
        resilience.failed(breaker, exc)
        raise
    resilience.succeeded(breaker)


async def _send_within(page_id: int, version: int, messages: dict[str, str]) -> None:
    await asyncio.wait_for(
        send_to_groups(page_id, version, messages), timeout=settings.LIVE_PUSH_TIMEOUT
    )


def _ids(event: DomainEvent) -> tuple:
    return event.type, event.page_slug, event.version
