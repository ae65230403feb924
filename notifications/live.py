"""Websocket push: every domain event of a page goes to the page's open status pages.

Per event the live sections are rendered once per language from the snapshot and the message
is serialized once per language; consumers forward that text as is (no per-client work).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import translation
from django.utils.translation import gettext as _

from incidents import events
from incidents.events import DomainEvent
from incidents.models import ComponentStatus, IncidentStatus, Page
from incidents.snapshot import page_snapshot
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


def announcement(event: DomainEvent) -> str:
    """One sentence for screen readers on what changed (in the active language)."""
    data = event.data
    if "component" in data and event.type == events.COMPONENT_UPDATED:
        component = data["component"]
        status = component.get("status")
        label = ComponentStatus(status).label if status in ComponentStatus.values else status
        return _("%(name)s: %(status)s") % {"name": component.get("name", ""), "status": label}
    if "incident" in data:
        incident = data["incident"]
        status = incident.get("status")
        label = IncidentStatus(status).label if status in IncidentStatus.values else status
        if incident.get("kind") == "maintenance":
            return _("Maintenance “%(name)s”: %(status)s") % {
                "name": incident["name"],
                "status": label,
            }
        if event.type == events.INCIDENT_CREATED:
            return _("New incident “%(name)s”: %(status)s") % {
                "name": incident["name"],
                "status": label,
            }
        if event.type == events.INCIDENT_DELETED:
            return _("Incident “%(name)s” was removed") % {"name": incident["name"]}
        return _("Incident “%(name)s”: %(status)s") % {"name": incident["name"], "status": label}
    return _("The status page was updated")


def live_messages(page: Page, event: DomainEvent) -> dict[str, str]:
    """The serialized websocket message of an event, per language: `{language: json text}`.

    Each message holds the event's `type`, `version`, `page` and changed object (`data`), the
    live sections as HTML and the page title in that language, and an `announce` sentence.
    """
    snapshot = page_snapshot(page)
    messages = {}
    for language in SUPPORTED:
        state = live_state(page, snapshot, language=language, prefix=canonical_prefix(page.slug))
        with translation.override(language):
            announce = announcement(event)
        message: dict[str, Any] = {
            "type": event.type,
            "version": event.version,
            "page": page.slug,
            "data": event.data,
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

    A failure is logged, never raised: the write has committed, and a client that missed a
    push catches up from the version gap when it reconnects.
    """
    if get_channel_layer() is None:
        return
    try:
        page = Page.objects.filter(pk=event.page_id).first()
        if page is None:
            return
        async_to_sync(send_to_groups)(page.pk, event.version, live_messages(page, event))
    except Exception:
        logger.exception("Live push of %s (page %s, version %s) failed", *_ids(event))


def _ids(event: DomainEvent) -> tuple:
    return event.type, event.page_slug, event.version
