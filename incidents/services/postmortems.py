"""Writes to postmortems: edit the draft, publish it (optionally notifying), revert to draft.

As on Statuspage, engineers write a draft that only they see; publishing copies it to the text
the public reads (incident page, v2 JSON, feeds, the mirror) and may notify subscribers;
reverting takes it off the public channels again. Every step appends a `PostmortemRevision`.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents import events
from incidents.models import Incident, PostmortemRevision

from .audit import intent
from .base import ServiceError, TransitionError, actor_fields, publish_event
from .incidents import incident_data

MAX_POSTMORTEM = 100_000


def _locked(incident: Incident) -> Incident:
    return Incident.objects.select_for_update().select_related("page").get(pk=incident.pk)


def _revision(incident: Incident, *, action: str, actor: Any, at, notified=False) -> None:
    user, name = actor_fields(actor)
    PostmortemRevision.objects.create(
        incident=incident,
        action=action,
        body=incident.postmortem,
        notified_subscribers=notified,
        actor=user,
        actor_name=name,
        created_at=at,
    )


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
    _revision(incident, action=PostmortemRevision.Action.EDITED, actor=actor, at=now)
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
    _revision(
        incident,
        action=PostmortemRevision.Action.PUBLISHED,
        actor=actor,
        at=now,
        notified=notify_subscribers,
    )
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
    now = timezone.now()
    incident.postmortem_published = ""
    incident.postmortem_published_at = None
    incident.save(update_fields=["postmortem_published", "postmortem_published_at"])
    _revision(incident, action=PostmortemRevision.Action.REVERTED, actor=actor, at=now)
    publish_event(incident.page, events.POSTMORTEM_REVERTED, _postmortem_data(incident))
    return incident
