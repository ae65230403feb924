"""Postmortems: a draft only engineers see, published (optionally notifying subscribers) to every
public channel, reverted off them again, every step audited; the three Statuspage endpoints."""

from __future__ import annotations

import json

import feedparser
import pytest
from django.core import mail
from django.utils import timezone

from incidents import events, services
from incidents.events import domain_event
from incidents.models import AuditEntry, Component, Incident, Page
from notifications.models import Subscriber

from .api_helpers import make_api

pytestmark = pytest.mark.django_db

DRAFT = "## Root cause\n\nA **router** lost its config. <script>alert(1)</script>"
SECRET = "router"


@pytest.fixture
def resolved(it_page, django_capture_on_commit_callbacks):
    internet = Component.objects.get(page=it_page, name="Internet access")
    with django_capture_on_commit_callbacks(execute=True):
        incident = services.open_incident(
            it_page,
            actor=None,
            name="Internet down",
            body="Investigating.",
            components={internet.pk: "major_outage"},
        )
        services.resolve_incident(incident, actor=None, body="Fixed.")
    return Incident.objects.get(pk=incident.pk)


@pytest.fixture
def dana(it_page):
    subscriber = Subscriber.objects.create(
        page=it_page, email="dana@example.com", confirmed_at=timezone.now()
    )
    return subscriber


def public_channels(client, incident) -> dict[str, str]:
    """Everything the public can read about the page, by channel."""
    page = f"/p/{incident.page.slug}/"
    month = incident.created_at.astimezone(incident.page.tz)
    return {
        "incident page": client.get(f"{page}incidents/{incident.pk}/").content.decode(),
        "v2 incidents.json": client.get(f"{page}api/v2/incidents.json").content.decode(),
        "atom feed": client.get(f"{page}history.atom").content.decode(),
        "rss feed": client.get(f"{page}history.rss").content.decode(),
        "history": client.get(f"{page}history/{month.year}/{month.month}/").content.decode(),
        "status page": client.get(page).content.decode(),
        "live.json": client.get(f"{page}live.json").content.decode(),
    }


def mirrored(tmp_path, name: str) -> str:
    """Every text of a static mirror of the pages published now."""
    from statuspage.mirror.publish import publish_mirror

    from .mirror_helpers import every_text, release

    root = tmp_path / name
    (outcome,) = publish_mirror(targets=[f"file://{root}"])
    assert not outcome.error, outcome.error
    return every_text(release(root))


def test_a_draft_is_on_no_public_channel_and_a_published_one_on_every_one(
    client, resolved, django_capture_on_commit_callbacks, tmp_path
):
    with django_capture_on_commit_callbacks(execute=True):
        services.save_postmortem_draft(resolved, actor=None, body=DRAFT)
    assert SECRET not in mirrored(tmp_path, "draft"), "the draft leaked into the mirror"
    for channel, text in public_channels(client, resolved).items():
        assert SECRET not in text, f"the draft leaked on the {channel}"
        assert "postmortem-title" not in text, f"the {channel} links a postmortem not published"

    with django_capture_on_commit_callbacks(execute=True):
        services.publish_postmortem(resolved, actor=None)
    assert SECRET in mirrored(tmp_path, "published"), "the mirror lacks the postmortem"
    shown = public_channels(client, resolved)
    for channel in ("incident page", "v2 incidents.json", "atom feed", "rss feed"):
        assert SECRET in shown[channel], f"the published postmortem is missing on the {channel}"
    # The month's history links it (the text itself is on the incident page).
    assert f"incidents/{resolved.pk}/#postmortem-title" in shown["history"]
    # Sanitized Markdown: rendered, and the script tag never reaches a page.
    assert "<strong>router</strong>" in shown["incident page"]
    assert "<script>alert" not in shown["incident page"]
    (incident,) = json.loads(shown["v2 incidents.json"])["incidents"]
    assert incident["postmortem_body"] == DRAFT and incident["postmortem_published_at"]
    entry = feedparser.parse(shown["atom feed"]).entries[0]
    assert "Postmortem" in entry.summary and "<script" not in entry.summary

    with django_capture_on_commit_callbacks(execute=True):
        services.revert_postmortem(resolved, actor=None)
    assert SECRET not in mirrored(tmp_path, "reverted"), "the mirror kept the postmortem"
    for channel, text in public_channels(client, resolved).items():
        assert SECRET not in text, f"the reverted postmortem is still on the {channel}"
        assert "postmortem-title" not in text, f"the {channel} still links the postmortem"


def test_editing_a_published_postmortem_changes_the_public_text_only_when_published_again(
    client, resolved, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.publish_postmortem(resolved, actor=None, body="First version.")
        services.save_postmortem_draft(resolved, actor=None, body="Second version.")
    page = client.get(f"/p/it/incidents/{resolved.pk}/").content.decode()
    assert "First version." in page and "Second version." not in page
    with django_capture_on_commit_callbacks(execute=True):
        services.publish_postmortem(resolved, actor=None)
    page = client.get(f"/p/it/incidents/{resolved.pk}/").content.decode()
    assert "Second version." in page and "First version." not in page


def test_every_step_is_one_event_and_one_audit_row_with_the_text_and_who(
    resolved, alice, django_capture_on_commit_callbacks
):
    seen = []

    def listen(sender, event, **kwargs):
        seen.append(json.loads(json.dumps(event.as_dict())))

    domain_event.connect(listen, dispatch_uid="test-postmortem-events", weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.save_postmortem_draft(resolved, actor=alice, body="Draft one.")
        with django_capture_on_commit_callbacks(execute=True):
            services.publish_postmortem(resolved, actor=alice, notify_subscribers=True)
        with django_capture_on_commit_callbacks(execute=True):
            services.revert_postmortem(resolved, actor=alice)
    finally:
        domain_event.disconnect(dispatch_uid="test-postmortem-events")
    assert [e["type"] for e in seen] == [
        events.POSTMORTEM_EDITED,
        events.POSTMORTEM_PUBLISHED,
        events.POSTMORTEM_REVERTED,
    ]
    # The history is the audit trail: one row per step, with the text before and after.
    steps = services.postmortem_history(resolved)[::-1]
    assert [(s.kind, s.body, s.actor_name, s.action) for s in steps] == [
        ("edited", "Draft one.", "alice", "save_postmortem_draft"),
        ("published", "Draft one.", "alice", "publish_postmortem"),
        ("reverted", "Draft one.", "alice", "revert_postmortem"),
    ]
    assert [s.notified_subscribers for s in steps] == [False, True, False]
    rows = AuditEntry.objects.filter(object_type="incident", object_id=str(resolved.pk))
    edit = rows.get(action="save_postmortem_draft")
    assert edit.changes["postmortem"] == {"before": "", "after": "Draft one."}
    revert = rows.get(action="revert_postmortem")
    assert revert.changes["postmortem_published"] == {"before": "Draft one.", "after": ""}


def test_publishing_notifies_subscribers_only_when_asked(
    resolved, dana, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.publish_postmortem(resolved, actor=None, body="Quiet publish.")
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        services.revert_postmortem(resolved, actor=None)
        services.publish_postmortem(
            resolved, actor=None, body="We replaced the **router**.", notify_subscribers=True
        )
    (message,) = mail.outbox
    assert message.to == ["dana@example.com"]
    text = message.message().as_string()
    assert "Postmortem" in text and "We replaced the" in text
    assert Incident.objects.get(pk=resolved.pk).postmortem_notified_subscribers is True


def test_only_a_resolved_incident_with_a_draft_can_be_published(
    it_page, resolved, django_capture_on_commit_callbacks
):
    with pytest.raises(services.ServiceError, match="Write the postmortem"):
        services.publish_postmortem(resolved, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        open_one = services.open_incident(it_page, actor=None, name="Slow", body="Looking.")
    with pytest.raises(services.TransitionError, match="Resolve the incident"):
        services.publish_postmortem(open_one, actor=None, body="Too early.")
    with pytest.raises(services.TransitionError, match="not published"):
        services.revert_postmortem(resolved, actor=None)
    assert services.postmortem_history(resolved) == []


def test_the_three_put_endpoints_have_statuspages_shape(
    client, resolved, dana, django_capture_on_commit_callbacks
):
    api, _key = make_api("deploy-bot")
    base = f"pages/it/incidents/{resolved.pk}/postmortem"
    response = api.put(base, {"postmortem": {"body_draft": "Cause: a **router**."}})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["body_draft"] == "Cause: a **router**." and body["published_at"] is None
    assert body["body"] == ""
    assert SECRET not in client.get(f"/p/it/incidents/{resolved.pk}/").content.decode()
    # The manage API shows the draft on the incident (it is private).
    incident = api.get(f"pages/it/incidents/{resolved.pk}").json()
    assert incident["postmortem_body"] == "Cause: a **router**."
    assert incident["postmortem_published_at"] is None

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.put(
            f"{base}/publish",
            {"postmortem": {"notify_subscribers": True, "notify_twitter": False}},
        )
    assert response.status_code == 200, response.content
    assert response.json()["published_at"] and response.json()["notify_subscribers"] is True
    assert len(mail.outbox) == 1
    assert SECRET in client.get(f"/p/it/incidents/{resolved.pk}/").content.decode()
    assert api.get(base).json()["body"] == "Cause: a **router**."

    response = api.put(f"{base}/revert")
    assert response.status_code == 200 and response.json()["published_at"] is None
    assert SECRET not in client.get(f"/p/it/incidents/{resolved.pk}/").content.decode()
    revert_again = api.put(f"{base}/revert")
    assert revert_again.status_code == 409 and revert_again.json()["code"] == "invalid_transition"

    # The history, from the audit trail, newest first.
    history = api.get(f"{base}/history")
    assert history.status_code == 200, history.content
    steps = history.json()
    assert [(s["kind"], s["action"], s["channel"]) for s in steps] == [
        ("reverted", "revert_postmortem", "api"),
        ("published", "publish_postmortem", "api"),
        ("edited", "save_postmortem_draft", "api"),
    ]
    assert steps[0]["actor"] == {"type": "api_key", "name": "deploy-bot"}
    assert steps[1]["body"] == "Cause: a **router**." and steps[1]["notified_subscribers"]
    assert not steps[0]["notified_subscribers"] and not steps[2]["notified_subscribers"]


def test_the_endpoints_validate_their_input(resolved, phone_page):
    api, _key = make_api("deploy-bot")
    base = f"pages/it/incidents/{resolved.pk}/postmortem"
    missing = api.put(base, {"postmortem": {}})
    assert missing.status_code == 422 and "body_draft" in missing.json()["errors"]["postmortem"]
    assert api.put(base, {"body_draft": "x"}).status_code == 422
    too_long = api.put(base, {"postmortem": {"body_draft": "x" * 100_001}})
    assert too_long.status_code in (413, 422)
    empty = api.put(f"{base}/publish", {})
    assert empty.status_code == 422 and empty.json()["field"] == "body_draft"
    assert api.put("pages/it/incidents/999999/postmortem/publish", {}).status_code == 404
    telephony_only, _ = make_api("telephony", pages=[phone_page])
    assert telephony_only.put(base, {"postmortem": {"body_draft": "x"}}).status_code == 404
    assert Incident.objects.get(pk=resolved.pk).postmortem == ""


def test_the_admin_saves_previews_publishes_and_reverts(
    client, alice, resolved, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    url = f"/admin/incidents/incident/{resolved.pk}/change/"
    preview = client.post(
        url, {"action": "postmortem", "body": "A **router**.", "preview": "1"}
    ).content.decode()
    assert "<strong>router</strong>" in preview
    assert Incident.objects.get(pk=resolved.pk).postmortem == ""
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"action": "postmortem", "body": "A **router**."})
    assert SECRET not in client.get(f"/p/it/incidents/{resolved.pk}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"action": "postmortem", "body": "A **router**.", "publish": "1"})
    assert SECRET in client.get(f"/p/it/incidents/{resolved.pk}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"action": "postmortem_revert"})
    assert SECRET not in client.get(f"/p/it/incidents/{resolved.pk}/").content.decode()
    assert [s.kind for s in services.postmortem_history(resolved)] == [
        "reverted",
        "published",
        "edited",
    ]
    history = client.get(url).content.decode()
    assert 'id="postmortem-history"' in history and "Reverted to draft" in history


def test_the_websocket_message_never_carries_a_draft_and_announces_publishing(
    resolved, django_capture_on_commit_callbacks
):
    from incidents.events import DomainEvent
    from notifications.live import live_messages

    captured: list[DomainEvent] = []

    def listen(sender, event, **kwargs):
        captured.append(event)

    domain_event.connect(listen, dispatch_uid="test-postmortem-live", weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.save_postmortem_draft(resolved, actor=None, body="A **router** failed.")
        with django_capture_on_commit_callbacks(execute=True):
            services.publish_postmortem(resolved, actor=None)
    finally:
        domain_event.disconnect(dispatch_uid="test-postmortem-live")
    draft_event, published_event = captured
    page = Page.objects.get(pk=resolved.page_id)  # at the version publishing made
    draft = json.loads(live_messages(page, draft_event)["en"])
    assert draft["announce"] == "" and SECRET not in json.dumps(draft)
    published = json.loads(live_messages(page, published_event)["en"])
    assert published["announce"] == "Postmortem published for “Internet down”"
    assert published["data"]["incident"]["postmortem_published_at"]


@pytest.mark.django_db(transaction=True)
def test_the_migration_carries_revisions_without_an_audit_row_into_the_audit_trail(alice):
    """Postmortem revisions become audit rows; a revision whose step was audited already is
    not copied twice."""
    import datetime as dt

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("incidents", "0010_postmortem_workflow_and_import_mapping")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        apps = executor.loader.project_state(before).apps
        page = apps.get_model("incidents", "Page").objects.create(slug="old", name="Old")
        at = timezone.now() - dt.timedelta(days=3)
        incident = apps.get_model("incidents", "Incident").objects.create(
            page_id=page.pk, name="Old outage", status="resolved", impact="major",
            created_at=at, updated_at=at, started_at=at,
        )  # fmt: skip
        revision = apps.get_model("incidents", "PostmortemRevision").objects
        audit = apps.get_model("incidents", "AuditEntry").objects
        revision.create(
            incident_id=incident.pk, action="edited", body="Draft.", actor_id=alice.pk,
            actor_name="alice", created_at=at,
        )  # fmt: skip
        revision.create(
            incident_id=incident.pk, action="published", body="Draft.", actor_id=alice.pk,
            actor_name="alice", notified_subscribers=True, created_at=at + dt.timedelta(hours=1),
        )  # fmt: skip
        # The publish was audited when it happened: that row stays the only one for it.
        audit.create(
            page_id=page.pk, created_at=at + dt.timedelta(hours=1, seconds=1),
            actor_type="user", actor_name="alice", actor_user_id=alice.pk, channel="admin",
            action="publish_postmortem", object_type="incident", object_id=str(incident.pk),
            changes={"postmortem_published": {"before": "", "after": "Draft."},
                     "postmortem_published_at": {"before": None, "after": "x"}},
        )  # fmt: skip
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    migrated = Incident.objects.get(name="Old outage")
    steps = services.postmortem_history(migrated)
    assert [(s.kind, s.actor_name, s.body, s.action) for s in steps] == [
        ("published", "alice", "Draft.", "publish_postmortem"),
        ("edited", "alice", "Draft.", "save_postmortem_draft"),
    ]
    edited = AuditEntry.objects.get(action="save_postmortem_draft")
    assert edited.created_at == at and edited.actor_user_id == alice.pk
    assert edited.changes["postmortem"] == {"before": "", "after": "Draft."}
