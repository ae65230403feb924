"""`export_page` / `import_page`: a page moves between installations with nothing lost.

The comparison is the archive itself: it numbers rows per model inside the document, so the
export of a restored page must equal the export it was restored from, field by field.
"""

from __future__ import annotations

import dataclasses
import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from incidents import services
from incidents.importing.archive import page_models
from incidents.models import (
    Component,
    ImportedObject,
    Incident,
    Page,
    ProblemReport,
    ReportAlert,
)
from incidents.snapshot import build_page_snapshot
from notifications.models import Delivery, Notification, Subscriber

pytestmark = pytest.mark.django_db


def export(slug: str) -> dict:
    out = io.StringIO()
    call_command("export_page", slug, stdout=out)
    return json.loads(out.getvalue())


def restore(document: dict, tmp_path, *extra: str) -> str:
    path = tmp_path / "page.json"
    path.write_text(json.dumps(document))
    out = io.StringIO()
    call_command("import_page", str(path), *extra, stdout=out)
    return out.getvalue()


def without_time_of_export(document: dict) -> dict:
    return {k: v for k, v in document.items() if k != "exported_at"}


def differences(a, b, path="") -> list[str]:
    """Where two archives differ, as paths (for a readable failure)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            out += differences(a.get(key), b.get(key), f"{path}.{key}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for n, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, f"{path}[{n}]")
        ]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


@pytest.fixture
def busy_page(django_capture_on_commit_callbacks):
    """The demo IT page, lived in: engineers, subscribers of every kind (email confirmed,
    unsubscribed, flagged; a webhook with its secret; a chat) with component scopes,
    notifications with deliveries, a problem report with an alert, a postmortem edited after
    publishing (its history in the audit trail), status history and daily uptime, support
    hours, templates, an import mapping."""
    call_command("load_demo", stdout=io.StringIO())
    page = Page.objects.get(slug="it")
    alice = get_user_model().objects.create_user("alice", is_staff=True)
    page.engineers.add(alice)
    vpn = Component.objects.get(page=page, name="VPN")
    ann = Subscriber.objects.create(page=page, email="ann@example.com", confirmed_at=timezone.now())
    ann.components.set([vpn])
    Subscriber.objects.create(
        page=page,
        email="ben@example.com",
        confirmed_at=timezone.now(),
        unsubscribed_at=timezone.now(),
    )
    Subscriber.objects.create(
        page=page, email="cas@example.com", confirmed_at=timezone.now(), flagged_at=timezone.now()
    )
    vpn_incident = Incident.objects.get(page=page, name="VPN connections dropping")
    with django_capture_on_commit_callbacks(execute=True):
        services.save_postmortem_draft(
            vpn_incident, actor=alice, body=vpn_incident.postmortem + "\n\nUpdated: the fix held."
        )
    open_one = Incident.objects.get(page=page, resolved_at__isnull=True, kind="incident")
    with django_capture_on_commit_callbacks(execute=True):
        services.post_update(
            open_one,
            actor=alice,
            body="Most customers are back online.",
            components={vpn.pk: "operational"},
        )
    assert mail.outbox and Delivery.objects.filter(subscriber=ann).exists()
    # A webhook and a chat (after the update: nothing is sent to them here).
    hook = Subscriber.objects.create(
        page=page, kind="webhook", endpoint="https://hooks.example.com/status",
        email="ops@example.com", secret="whsec_c291cmNlLXNlY3JldA==", events=["incident"],
        confirmed_at=timezone.now(),
    )  # fmt: skip
    hook.components.set([vpn])
    Subscriber.objects.create(
        page=page, kind="chat", endpoint="mmost://chat.example.com/t0ken",
        confirmed_at=timezone.now(),
    )  # fmt: skip
    report = ProblemReport.objects.create(
        page=page, scope="company", has_power="yes", has_internet="no", since="09:10",
        description="No VPN from the office.", contact_name="Dana", company="Acme",
        email="dana@acme.example", phone="+31 6 1234 5678", incident=open_one,
        status_shown={"VPN": "partial_outage"},
    )  # fmt: skip
    report.components.set([vpn])
    alert = ReportAlert.objects.create(
        page=page, last_report_at=timezone.now(), report_count=6,
        company_count=3, emailed_to="oncall@example.com", acknowledged_at=timezone.now(),
        acknowledged_by=alice,
    )  # fmt: skip
    alert.components.set([vpn])
    ImportedObject.objects.create(
        page=page, source="https://api.statuspage.io/v1#abc", kind="component", source_id="x1",
        object_id=str(vpn.pk),
    )  # fmt: skip
    return page


def test_every_model_of_a_page_is_in_the_archive_and_api_keys_are_not():
    labels = {model._meta.label_lower for model, _path in page_models()}
    assert {
        "incidents.page", "incidents.supporthours", "incidents.componentgroup",
        "incidents.component", "incidents.incident", "incidents.incidentcomponent",
        "incidents.incidentupdate", "incidents.componentstatuschange",
        "incidents.incidenttemplate", "incidents.maintenancereminder",
        "incidents.auditentry", "incidents.componentdailystatus",
        "incidents.problemreport", "incidents.reportalert", "incidents.importedobject",
        "notifications.subscriber", "notifications.notification", "notifications.delivery",
    } <= labels  # fmt: skip
    assert not labels & {"incidents.apikey", "incidents.apikeypage", "incidents.idempotencyrecord"}


def test_a_page_moved_out_and_back_in_is_the_same_page(busy_page, tmp_path, client):
    before = export("it")
    counts = {label: len(rows) for label, rows in before["models"].items()}
    # Nothing is empty that the page has: the comparison below compares real rows.
    for label in (
        "incidents.componentstatuschange", "incidents.componentdailystatus",
        "incidents.auditentry", "incidents.supporthours", "incidents.incidenttemplate",
        "incidents.problemreport", "incidents.reportalert", "notifications.delivery",
        "notifications.subscriber", "incidents.importedobject",
    ):  # fmt: skip
        assert counts[label] > 0, label
    uptime_before = _uptime_by_name(busy_page)
    tokens = set(Subscriber.objects.values_list("token", flat=True))
    secrets = set(Subscriber.objects.values_list("kind", "endpoint", "secret"))
    history_before = _postmortem_history(busy_page)
    assert [step["kind"] for step in history_before] == ["edited", "published"]

    Page.objects.filter(slug="it").delete()
    assert not Subscriber.objects.exists() and not Notification.objects.exists()
    output = restore(before, tmp_path)

    after = export("it")
    # The restore is one more audited intent: its row is the only thing the page gained.
    *restored, restore_row = after["models"]["incidents.auditentry"]
    assert restore_row["fields"]["action"] == "import_page"
    after["models"]["incidents.auditentry"] = restored
    assert differences(without_time_of_export(before), without_time_of_export(after)) == []
    page = Page.objects.get(slug="it")
    assert differences(uptime_before, _uptime_by_name(page)) == []
    assert set(Subscriber.objects.values_list("token", flat=True)) == tokens  # links still work
    # Webhooks keep their signing secret, chats their URL; the postmortem its history.
    assert set(Subscriber.objects.values_list("kind", "endpoint", "secret")) == secrets
    assert _postmortem_history(page) == history_before
    assert "Imported page Example IT Services" in output
    vpn_incident = Incident.objects.get(page=page, name="VPN connections dropping")
    public = client.get(f"/p/it/incidents/{vpn_incident.pk}/").content.decode()
    assert "session limit" in public  # the published postmortem, on its page


def test_a_copy_next_to_the_original_renews_what_must_stay_unique(busy_page, tmp_path):
    before = export("it")
    output = restore(before, tmp_path, "--slug", "it-copy")
    copy = export("it-copy")
    assert copy["page"] == "it-copy"
    assert "manage link was already in use here and was renewed" in output
    assert "Another page here is the default page" in output
    # The same rows, apart from what had to change to live next to the original.
    for label, rows in before["models"].items():
        gained = 1 if label == "incidents.auditentry" else 0  # the restore's own audit row
        assert len(copy["models"][label]) == len(rows) + gained, label
    original = Subscriber.objects.get(page=busy_page, email="ann@example.com")
    twin = Subscriber.objects.get(page__slug="it-copy", email="ann@example.com")
    assert twin.token != original.token
    assert [c.name for c in twin.components.all()] == ["VPN"]
    assert twin.components.get().page.slug == "it-copy"


def test_import_refuses_a_taken_slug_and_what_is_not_an_archive(busy_page, tmp_path):
    document = export("it")
    with pytest.raises(CommandError, match="exists here already"):
        restore(document, tmp_path)
    with pytest.raises(CommandError, match="not a page archive"):
        restore({"hello": "world"}, tmp_path)
    with pytest.raises(CommandError, match="version 99"):
        restore({**document, "version": 99}, tmp_path, "--slug", "x")
    with pytest.raises(CommandError, match="does not have a place for"):
        restore(
            {**document, "models": {**document["models"], "billing.invoice": []}},
            tmp_path,
            "--slug",
            "x",
        )
    assert not Page.objects.filter(slug="x").exists()
    with pytest.raises(CommandError, match="No page with slug"):
        export("nope")


@pytest.mark.slow
def test_a_page_moves_between_two_installations(other_installation, tmp_path):
    """From the other installation (its own process, SQLite) into this one (the test
    database, PostgreSQL in CI), and the archive comes out the same."""
    text = other_installation.manage("export_page", "it")
    theirs = json.loads(text)
    restore(theirs, tmp_path)
    ours = export("it")
    assert ours["models"]["incidents.auditentry"].pop()["fields"]["action"] == "import_page"
    assert differences(without_time_of_export(theirs), without_time_of_export(ours)) == []


def _uptime_by_name(page: Page) -> dict:
    snapshot = build_page_snapshot(page)
    # Every finished day (today's bar still grows while the test runs); incidents named by
    # title, since their ids are this installation's.
    days = {}
    for pk, uptime in snapshot.uptime.components.items():
        bars = [dataclasses.asdict(day) for day in uptime.days[:-1]]
        for day in bars:
            for incident in day["incidents"]:
                incident.pop("id")
        days[snapshot.components[pk].name] = bars
    return days


def _postmortem_history(page: Page) -> list[dict]:
    incident = Incident.objects.get(page=page, name="VPN connections dropping")
    return [dataclasses.asdict(step) for step in services.postmortem_history(incident)]
