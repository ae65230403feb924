"""Writes to postmortems: edit the draft, publish it (optionally notifying), revert to draft.

As on Statuspage, engineers write a draft that only they see; publishing copies it to the text
the public reads (incident page, v2 JSON, feeds, the mirror) and may notify subscribers;
reverting takes it off the public channels again. Every step is an audited intent: its audit
row (before/after of the postmortem's fields) is the postmortem's history, read by
`postmortem_history` for the admin and the API.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents import events
from incidents.models import AuditEntry, Incident

from .audit import intent, note
from .base import ServiceError, TransitionError, publish_event
from .incidents import incident_data

MAX_POSTMORTEM = 100_000


def _locked(incident: Incident) -> Incident:
    return Incident.objects.select_for_update().select_related("page").get(pk=incident.pk)


def _clean_body(body: str | None) -> str:
    body = (body or "").strip()
    if len(body) > MAX_POSTMORTEM:
        raise ServiceError(
            _("A postmortem is too long: %(length)d characters, at most %(limit)d.")
            % {"length": len(body), "limit": MAX_POSTMORTEM},
            code="too_long",
            field="body_draft",
        )
    return body


def _postmortem_data(incident: Incident, *, notify: bool = False) -> dict[str, Any]:
    data = incident_data(incident)
    data["postmortem"] = {
        "published": incident.postmortem_is_published,
        "deliver_notifications": notify,
    }
    return data


@intent("save_postmortem_draft")
@transaction.atomic
def save_postmortem_draft(incident: Incident, *, actor: Any, body: str) -> Incident:
    """Replace the postmortem draft (Markdown). The public text does not change until the
    draft is published again. Emits `incident.postmortem_edited` (no notice)."""
    incident = _locked(incident)
    if incident.is_maintenance:
        raise ServiceError(
            _("Maintenance has no postmortem; post an update instead."),
            code="invalid",
            field="body_draft",
        )
    body = _clean_body(body)
    if body == incident.postmortem:
        return incident
    now = timezone.now()
    incident.postmortem = body
    incident.postmortem_updated_at = now
    incident.save(update_fields=["postmortem", "postmortem_updated_at"])
    publish_event(incident.page, events.POSTMORTEM_EDITED, _postmortem_data(incident))
    return incident


@intent("publish_postmortem")
@transaction.atomic
def publish_postmortem(
    incident: Incident,
    *,
    actor: Any,
    notify_subscribers: bool = False,
    body: str | None = None,
) -> Incident:
    """Publish the draft (replaced by `body` first when given): the public channels show it
    from now on, and subscribers are told when `notify_subscribers` (by every channel they
    chose). Only a resolved incident with a draft can be published.
    Emits `incident.postmortem_published`."""
    incident = _locked(incident)
    if body is not None:
        incident.postmortem = _clean_body(body)
    if incident.is_maintenance or not incident.is_resolved:
        raise TransitionError(
            _("Resolve the incident before publishing its postmortem."), field="postmortem"
        )
    if not incident.postmortem:
        raise ServiceError(
            _("Write the postmortem before publishing it."), code="required", field="body_draft"
        )
    now = timezone.now()
    if body is not None:
        incident.postmortem_updated_at = now
    incident.postmortem_published = incident.postmortem
    incident.postmortem_published_at = now
    incident.postmortem_notified_subscribers = (
        incident.postmortem_notified_subscribers or notify_subscribers
    )
    incident.save(
        update_fields=[
            "postmortem",
            "postmortem_updated_at",
            "postmortem_published",
            "postmortem_published_at",
            "postmortem_notified_subscribers",
        ]
    )
    note("notify_subscribers", notify_subscribers)
    publish_event(
        incident.page,
        events.POSTMORTEM_PUBLISHED,
        _postmortem_data(incident, notify=notify_subscribers),
    )
    return incident


@intent("revert_postmortem")
@transaction.atomic
def revert_postmortem(incident: Incident, *, actor: Any) -> Incident:
    """Take a published postmortem back to draft: it leaves every public channel; the draft
    keeps its text. Emits `incident.postmortem_reverted` (no notice)."""
    incident = _locked(incident)
    if not incident.postmortem_is_published:
        raise TransitionError(_("This postmortem is not published."), field="postmortem")
    incident.postmortem_published = ""
    incident.postmortem_published_at = None
    incident.save(update_fields=["postmortem_published", "postmortem_published_at"])
    publish_event(incident.page, events.POSTMORTEM_REVERTED, _postmortem_data(incident))
    return incident


# --- the history, read from the audit trail ------------------------------------------------

# The fields whose change makes an audit row a postmortem step.
POSTMORTEM_FIELDS = ("postmortem", "postmortem_published", "postmortem_published_at")


@dataclass(frozen=True)
class PostmortemStep:
    """One step of a postmortem's history: `edited`, `published` or `reverted`."""

    at: dt.datetime
    kind: str
    actor_type: str
    actor_name: str
    channel: str
    action: str  # the intent that took it (save_postmortem_draft, import_incident...)
    body: str  # the draft after an edit, the text published, or the text taken down
    notified_subscribers: bool


def postmortem_history(incident: Incident, *, limit: int | None = None) -> list[PostmortemStep]:
    """The postmortem's steps, newest first, from the audit rows of the incident that changed
    one of its fields (one query; a row that only created the incident without one is not a
    step)."""
    touched = Q()
    for name in POSTMORTEM_FIELDS:
        touched |= Q(changes__has_key=name)
    entries = AuditEntry.objects.filter(
        touched, object_type="incident", object_id=str(incident.pk)
    ).order_by("-created_at", "-id")
    steps = [_step(entry) for entry in entries.iterator() if _is_step(entry)]
    return steps[:limit] if limit else steps


def _is_step(entry: AuditEntry) -> bool:
    changes = entry.changes or {}
    return any(
        (changes.get(name) or {}).get("before") or (changes.get(name) or {}).get("after")
        for name in POSTMORTEM_FIELDS
    )


def _step(entry: AuditEntry) -> PostmortemStep:
    changes = entry.changes or {}
    published_at = changes.get("postmortem_published_at") or {}
    published = changes.get("postmortem_published") or {}
    draft = changes.get("postmortem") or {}
    if published_at.get("after"):
        kind, body = "published", published.get("after") or draft.get("after")
    elif published_at.get("before") and "after" in published_at:
        kind, body = "reverted", published.get("before")
    else:
        kind, body = "edited", draft.get("after")
    return PostmortemStep(
        at=entry.created_at,
        kind=kind,
        actor_type=entry.actor_type,
        actor_name=entry.actor_name,
        channel=entry.channel,
        action=entry.action,
        body=body or "",
        # Asked for when publishing here; as the source had it when imported.
        notified_subscribers=bool(
            changes.get("notify_subscribers")
            or (
                kind == "published"
                and (changes.get("postmortem_notified_subscribers") or {}).get("after")
            )
        ),
    )
