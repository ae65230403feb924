"""The audit trail: every write says who did it, through which door, what changed and when."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from incidents import services
from incidents.models import APIKey, AuditEntry, Component, Incident

from .api_helpers import make_api

pytestmark = pytest.mark.django_db


def comp(page, name) -> Component:
    return Component.objects.get(page=page, name=name)


def entries_since(mark: int):
    """Entries written after `mark` (fixtures' pages and keys write their own)."""
    return AuditEntry.objects.filter(pk__gt=mark).order_by("pk")


def mark() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@pytest.fixture
def api(it_page, phone_page):
    return make_api("deploy-bot")[0]


def test_an_api_write_records_the_key_the_channel_the_intent_and_the_changes(api, it_page):
    internet = comp(it_page, "Internet access")
    response = api.post(
        "pages/it/incidents",
        {"incident": {"name": "Down", "components": {str(internet.pk): "major_outage"}}},
    )
    incident_id = response.json()["id"]
    entry = AuditEntry.objects.get(action="open_incident")
    assert (entry.actor_type, entry.actor_name, entry.channel) == ("api_key", "deploy-bot", "api")
    assert entry.actor_api_key == APIKey.objects.get(name="deploy-bot")
    assert (entry.object_type, entry.object_id, entry.page) == ("incident", incident_id, it_page)
    assert entry.changes["name"] == {"before": None, "after": "Down"}
    assert entry.changes["status"] == {"before": None, "after": "investigating"}
    assert entry.changes["update"]["affected_components"][0]["new_status"] == "major_outage"
    api.patch(f"pages/it/incidents/{incident_id}", {"incident": {"status": "resolved"}})
    resolved = AuditEntry.objects.get(action="update_incident")
    assert resolved.changes["status"] == {"before": "investigating", "after": "resolved"}
    assert "version" not in resolved.changes  # noise is left out


def test_one_request_is_one_audit_row(api, it_page):
    since = mark()
    start = timezone.now() - dt.timedelta(minutes=5)
    api.post(
        "pages/it/incidents",
        {
            "incident": {
                "name": "VPN upgrade",
                "status": "verifying",
                "scheduled_for": start.isoformat(),
                "scheduled_until": (start + dt.timedelta(hours=1)).isoformat(),
            }
        },
    )
    entries = entries_since(since)
    assert list(entries.values_list("action", flat=True)) == ["schedule_maintenance"]
    assert entries.get().changes["status"]["after"] == "verifying"


def test_a_refused_write_leaves_no_audit_row(api, it_page):
    since = mark()
    response = api.post("pages/it/incidents", {"incident": {"name": "x", "impact_override": "y"}})
    assert response.status_code in (400, 422)
    with pytest.raises(services.ServiceError):
        services.open_incident(it_page, actor=None, name="", body="")
    assert not entries_since(since).exists()


def test_admin_and_clock_writes_name_the_person_and_the_clock(client, alice, it_page):
    client.force_login(alice)
    incident = services.open_incident(it_page, actor=alice, name="Down", body="Looking.")
    response = client.post(
        reverse("admin:incidents_incident_change", args=[incident.pk]),
        {"action": "resolve", "body": "", "deliver_notifications": "on"},
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="resolve_incident")
    assert (entry.actor_type, entry.actor_name, entry.channel) == ("user", "alice", "admin")
    assert entry.actor_user == alice
    start = timezone.now() - dt.timedelta(minutes=1)
    services.schedule_maintenance(
        it_page,
        actor=alice,
        name="Firmware",
        body="Upgrade.",
        scheduled_for=start,
        scheduled_until=start + dt.timedelta(hours=1),
    )
    assert services.run_maintenance_clock().started
    clock = AuditEntry.objects.get(action="start_maintenance")
    assert (clock.actor_type, clock.actor_name, clock.channel) == (
        "clock",
        "maintenance clock",
        "clock",
    )
    # The incident's admin page shows its trail.
    page = client.get(reverse("admin:incidents_incident_change", args=[incident.pk]))
    html = page.content.decode()
    assert "Audit trail" in html and "resolve_incident" in html and "open_incident" in html


def test_entries_are_append_only(it_page):
    services.open_incident(it_page, actor=None, name="Down", body="Looking.")
    entry = AuditEntry.objects.get(action="open_incident")
    entry.action = "something_else"
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()


def test_the_api_lists_a_pages_trail_newest_first_paginated_in_the_documented_shape(
    api, it_page, phone_page, django_assert_max_num_queries
):
    for n in range(3):
        services.open_incident(it_page, actor=None, name=f"Down {n}", body="Looking.")
    services.open_incident(phone_page, actor=None, name="Phones", body="Looking.")
    # auth (key + pages), the page, the entries
    with django_assert_max_num_queries(6):
        response = api.get("pages/it/audit-log?per_page=2&object_type=incident")
    assert response.status_code == 200
    entries = response.json()
    assert len(entries) == 2
    assert set(entries[0]) == {
        "id",
        "created_at",
        "actor",
        "channel",
        "action",
        "object",
        "changes",
    }
    assert entries[0]["actor"] == {"type": "system", "name": "system"}
    assert entries[0]["object"]["type"] == "incident"
    assert entries[0]["changes"]["name"]["after"] == "Down 2"
    assert entries[1]["changes"]["name"]["after"] == "Down 1"
    rest = api.get("pages/it/audit-log?per_page=2&page=2&object_type=incident").json()
    assert [e["changes"]["name"]["after"] for e in rest] == ["Down 0"]
    assert all("Phones" not in json.dumps(e) for e in entries + rest)
    only = api.get("pages/it/audit-log?action=open_incident&per_page=1").json()
    assert only[0]["action"] == "open_incident"


def test_a_key_for_another_page_cannot_read_the_trail(it_page, phone_page):
    phones = make_api("phones", pages=[phone_page])[0]
    assert phones.get("pages/it/audit-log").status_code == 404


def test_the_command_exports_json_lines_oldest_first(it_page):
    for n in range(2):
        services.open_incident(it_page, actor=None, name=f"Down {n}", body="Looking.")
    out = io.StringIO()
    call_command("export_audit_log", "--page", "it", stdout=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0]["action"] == "save_page"  # the page's own creation comes first
    incidents = [line for line in lines if line["object"]["type"] == "incident"]
    assert [line["changes"]["name"]["after"] for line in incidents] == ["Down 0", "Down 1"]
    lines = incidents
    assert lines[0]["action"] == "open_incident" and lines[0]["object"]["type"] == "incident"


def test_the_admin_list_shows_an_engineer_only_their_pages(client, alice, it_page, phone_page):
    services.open_incident(it_page, actor=None, name="Internet down", body="Looking.")
    services.open_incident(phone_page, actor=None, name="Phones down", body="Looking.")
    client.force_login(alice)
    listing = client.get(reverse("admin:incidents_auditentry_changelist"))
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "Internet down" in html and "Phones down" not in html
    filtered = client.get(
        reverse("admin:incidents_auditentry_changelist") + "?action=open_incident&channel=system"
    )
    assert filtered.status_code == 200 and "Internet down" in filtered.content.decode()
    other = AuditEntry.objects.filter(page=phone_page).first()
    assert (
        client.get(reverse("admin:incidents_auditentry_change", args=[other.pk])).status_code == 302
    )


def test_creating_and_revoking_an_api_key_is_audited(client, admin_user_, it_page):
    client.force_login(admin_user_)
    response = client.post(
        reverse("admin:incidents_apikey_add"),
        {"_save": "Save", "name": "ci", "scope": "read_write", "pages": [it_page.pk]},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    key = APIKey.objects.get(name="ci")
    created = AuditEntry.objects.get(action="create_api_key")
    assert created.actor_user == admin_user_ and created.object_id == str(key.pk)
    assert "hashed_key" not in created.changes
    client.post(
        reverse("admin:incidents_apikey_changelist"),
        {"action": "revoke", "_selected_action": [key.pk]},
    )
    revoked = AuditEntry.objects.get(action="revoke_api_key")
    assert revoked.changes["revoked"] == {"before": False, "after": True}
    assert Incident.objects.count() == 0


# --- public writes: a visitor or a subscriber, channel "public" --------------------------------


def _confirm_path(message) -> str:
    import re

    link = re.search(r"https?://\S+/subscribe/confirm/\S+/", message.body).group(0)
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


def test_subscribing_confirming_changing_and_unsubscribing_leave_one_public_row_each(
    client, it_page, captured_events
):
    from django.core import mail

    from notifications.models import Subscriber

    vpn = comp(it_page, "VPN")
    start = mark()
    with captured_events() as got:
        client.post(
            "/p/it/subscribe/",
            {"email": "dana@example.com", "language": "en", "components": [str(vpn.pk)]},
        )
    assert len(got) <= 1
    subscriber = Subscriber.objects.get(email="dana@example.com")
    (subscribed,) = entries_since(start)
    assert (subscribed.actor_type, subscribed.actor_name, subscribed.channel) == (
        "visitor",
        "visitor",
        "public",
    )
    assert (subscribed.action, subscribed.object_type, subscribed.object_id) == (
        "subscribe",
        "subscriber",
        subscriber.public_id,
    )
    assert subscribed.page == it_page and subscribed.actor_user is None
    assert subscribed.changes["components"] == [vpn.public_id]
    # The log keeps no address and no secret: it cannot forget them later.
    text = json.dumps(subscribed.changes)
    assert "dana@example.com" not in text and subscriber.token not in text

    start = mark()
    with captured_events() as got:
        assert client.post(_confirm_path(mail.outbox[-1])).status_code == 302
    assert len(got) <= 1
    (confirmed,) = entries_since(start)
    assert (confirmed.actor_type, confirmed.channel, confirmed.action) == (
        "subscriber",
        "public",
        "confirm_subscription",
    )
    assert confirmed.actor_name == f"subscriber {subscriber.public_id}"
    assert confirmed.changes["confirmed_at"]["before"] is None

    start = mark()
    client.post(f"/p/it/subscription/{subscriber.token}/", {"language": "nl", "components": []})
    (changed,) = entries_since(start)
    assert (changed.action, changed.actor_type, changed.channel) == (
        "update_subscription",
        "subscriber",
        "public",
    )
    assert changed.changes["language"] == {"before": "en", "after": "nl"}

    start = mark()
    client.post(f"/p/it/unsubscribe/{subscriber.token}/")
    (gone,) = entries_since(start)
    assert (gone.action, gone.actor_type, gone.object_id) == (
        "unsubscribe",
        "subscriber",
        subscriber.public_id,
    )
    assert gone.changes["unsubscribed_at"]["before"] is None


def test_a_refused_public_subscription_leaves_no_row(client, it_page):
    start = mark()
    response = client.post("/p/it/subscribe/", {"email": "not-an-address", "language": "en"})
    assert response.status_code == 400
    assert not entries_since(start).exists()


def test_a_webhook_confirmed_by_its_owner_is_one_row_that_says_the_secret_was_renewed(
    client, it_page, settings, django_capture_on_commit_callbacks
):
    from django.core import mail

    from notifications.models import Subscriber

    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/p/it/subscribe/",
            {"kind": "webhook", "endpoint": "http://127.0.0.1:9/hook", "email": "ops@example.com"},
        )
    subscriber = Subscriber.objects.get(kind="webhook")
    assert AuditEntry.objects.filter(
        action="subscribe_endpoint", actor_type="visitor", object_id=subscriber.public_id
    ).exists()
    start = mark()
    response = client.post(_confirm_path(mail.outbox[-1]))
    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.secret in response.content.decode()
    (entry,) = entries_since(start)
    assert (entry.action, entry.actor_type, entry.channel) == (
        "confirm_subscription",
        "subscriber",
        "public",
    )
    assert entry.changes["secret"] == "renewed"
    assert subscriber.secret not in json.dumps(entry.changes)


def test_a_visitors_problem_report_is_one_public_row_without_personal_data(client, it_page):
    from incidents.models import ProblemReport

    internet = comp(it_page, "Internet access")
    start = mark()
    response = client.post(
        "/p/it/report/form/",
        {
            "component": [str(internet.pk)],
            "scope": "company",
            "has_power": "yes",
            "has_internet": "no",
            "since": "today 09:40",
            "description": "No website loads.",
            "contact_name": "Dana de Vries",
            "company": "Bakkerij Jansen",
            "email": "dana@bakkerij.example",
            "phone": "+31 6 1234 5678",
            "website": "",
        },
    )
    assert response.status_code == 302, response.content
    report = ProblemReport.objects.get()
    (entry,) = entries_since(start)
    assert (entry.actor_type, entry.actor_name, entry.channel, entry.action) == (
        "visitor",
        "visitor",
        "public",
        "report_problem",
    )
    assert (entry.object_type, entry.object_id, entry.page) == (
        "problemreport",
        str(report.pk),
        it_page,
    )
    assert entry.changes["components"] == [internet.public_id]
    assert entry.changes["scope"] == {"before": None, "after": "company"}
    text = json.dumps(entry.changes)
    for personal in ("Dana", "bakkerij", "+31 6", "No website loads", report.ip_hash):
        assert personal not in text


def test_the_subscriber_api_is_audited_with_the_key(api, it_page):
    start = mark()
    response = api.post(
        "pages/it/subscribers",
        {"subscriber": {"email": "ann@example.com", "skip_confirmation_notification": True}},
    )
    assert response.status_code == 201, response.content
    assert response.json()["confirmed_at"] is not None
    (created,) = entries_since(start)
    assert (created.action, created.actor_type, created.channel) == (
        "subscribe",
        "api_key",
        "api",
    )
    assert created.changes["confirmed_at"]["before"] is None
    start = mark()
    api.delete(f"pages/it/subscribers/{response.json()['id']}")
    (gone,) = entries_since(start)
    assert (gone.action, gone.actor_type, gone.object_id) == (
        "unsubscribe",
        "api_key",
        response.json()["id"],
    )
