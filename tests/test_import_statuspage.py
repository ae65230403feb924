"""`import_statuspage`: a page moves from a Statuspage-compatible API into ours in one command.

Two real sources over HTTP: recorded Statuspage responses (tests/fixtures/statuspage, written
from its public API documentation) served with Statuspage's pagination and rate limiting, and
a second installation of this project (its own process and database) serving its v1 API with
the demo data.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core import mail
from django.core.management import CommandError, call_command

from incidents.importing.client import StatuspageClient
from incidents.importing.statuspage import StatuspageImporter
from incidents.models import (
    Component,
    ComponentGroup,
    ImportedObject,
    Incident,
    IncidentTemplate,
    IncidentUpdate,
    Page,
    PostmortemRevision,
    is_public_id,
)
from notifications.models import Subscriber

FIXTURES = Path(__file__).parent / "fixtures" / "statuspage"
ROOT = Path(__file__).resolve().parent.parent
PAGE_ID = "qfn30z5r6s5h"
KEY = "2a7b9d4aac30956d537ac76850f4d78de30994703680056cc103862d53cf8074"


def fixture(name: str):
    return json.loads((FIXTURES / f"{name}.json").read_text())


class RecordedStatuspage(BaseHTTPRequestHandler):
    """Statuspage's manage API from the recorded responses: OAuth key, pagination as Statuspage
    does it, and a 429 then a 420 (with Retry-After) the first time a list is asked for."""

    server: ThreadingHTTPServer

    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):  # noqa: N802 - http.server's name
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.server.log.append((url.path, query, time.monotonic()))
        if self.headers.get("Authorization") != f"OAuth {KEY}":
            return self.answer(401, {"error": "Could not authenticate"})
        prefix = f"/v1/pages/{PAGE_ID}"
        if not url.path.startswith(prefix):
            return self.answer(404, {"error": "Not found"})
        resource = url.path.removeprefix(prefix).strip("/")
        if resource in self.server.throttle:
            self.server.throttle.discard(resource)
            code = 429 if resource == "incidents" else 420
            return self.answer(code, {"error": "Rate limit exceeded"}, {"Retry-After": "0"})
        if resource == "":
            return self.answer(200, fixture("page"))
        if resource.startswith("incidents/") and resource.endswith("/postmortem"):
            incident_id = resource.split("/")[1]
            path = FIXTURES / f"postmortem-{incident_id}.json"
            if not path.exists():
                return self.answer(404, {"error": "Requested Postmortem could not be found"})
            return self.answer(200, json.loads(path.read_text()))
        if resource == "subscribers":
            items = fixture(f"subscribers-{query.get('state', 'active')}")
            limit, page = int(query.get("limit", 100)), int(query.get("page", 0))
            return self.answer(200, items[page * limit : (page + 1) * limit])
        if resource in ("components", "component-groups", "incidents", "incident_templates"):
            items = fixture(resource)
            size = int(query.get("per_page") or query.get("limit") or 100)
            page = int(query.get("page", 1))
            return self.answer(200, items[(page - 1) * size : page * size])
        return self.answer(404, {"error": "Not found"})

    def answer(self, code: int, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def statuspage():
    server = ThreadingHTTPServer(("127.0.0.1", 0), RecordedStatuspage)
    server.log = []
    server.throttle = {"incidents", "subscribers"}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def api_url(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/v1"


def run_import(url: str, page_id: str, key: str, *extra: str) -> str:
    out = io.StringIO()
    call_command(
        "import_statuspage",
        "--api-url",
        url,
        "--page-id",
        page_id,
        "--api-key",
        key,
        "--interval",
        "0",
        "--no-progress",
        *extra,
        stdout=out,
        stderr=io.StringIO(),
    )
    return out.getvalue()


def at(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


# --- recorded Statuspage responses ----------------------------------------------------------


@pytest.mark.django_db
def test_a_statuspage_page_arrives_with_history_postmortems_templates_and_subscribers(
    statuspage,
):
    output = run_import(api_url(statuspage), PAGE_ID, KEY)

    page = Page.objects.get(slug="acmecloud")
    assert page.name == "Acme Cloud" and page.headline == "Status of Acme Cloud services"
    assert page.time_zone == "America/Denver" and page.accent_colour == "#1c6fb5"
    assert page.support_email == "help@acme.example"
    # The group is a group, not also a component (Statuspage lists it among components).
    (api,) = ComponentGroup.objects.filter(page=page)
    assert api.name == "API"
    components = {c.name: c for c in Component.objects.filter(page=page)}
    assert set(components) == {"REST API", "Webhooks", "Dashboard", "Internal canary"}
    assert components["REST API"].group == api and components["Dashboard"].group is None
    assert components["REST API"].status == "degraded_performance"
    assert components["Internal canary"].is_visible is False

    incidents = {i.name: i for i in Incident.objects.filter(page=page)}
    outage = incidents["API outage"]
    assert outage.kind == "incident" and outage.status == "resolved"
    assert outage.impact == "critical"
    # Timestamps keep their instant, whatever offset the source wrote them with.
    assert outage.created_at == at("2023-11-02T06:45:33-06:00")
    assert outage.resolved_at == at("2023-11-02T08:01:44.002-06:00")
    assert outage.started_at == at("2023-11-02T06:40:00-06:00")
    updates = list(outage.updates.order_by("display_at"))
    assert [u.status for u in updates] == ["investigating", "identified", "resolved"]
    assert updates[1].display_at == at("2023-11-02T07:00:00-06:00")
    assert updates[1].created_at == at("2023-11-02T07:02:10.5-06:00")
    assert updates[1].deliver_notifications is False and updates[1].affected_components == []
    # Affected components point at our components; one deleted at the source is left out.
    assert updates[0].affected_components == [
        {
            "code": components["REST API"].pk,
            "name": "REST API",
            "old_status": "operational",
            "new_status": "major_outage",
        },
        {
            "code": components["Webhooks"].pk,
            "name": "Webhooks",
            "old_status": "operational",
            "new_status": "partial_outage",
        },
    ]
    assert {link.component.name for link in outage.affected.select_related("component")} == {
        "REST API",
        "Webhooks",
    }
    # The postmortem: the published text is public, the newer draft stays a draft.
    assert outage.postmortem_published.endswith("rebuilt the primary.")
    assert outage.postmortem.endswith("(draft, not published)")
    assert outage.postmortem_published_at == at("2023-11-06T10:05:00-06:00")
    assert outage.postmortem_notified_subscribers is True
    assert PostmortemRevision.objects.filter(incident=outage, action="published").count() == 1

    maintenance = incidents["Dashboard server upgrade"]
    assert maintenance.kind == "maintenance" and maintenance.status == "completed"
    assert maintenance.scheduled_for == at("2023-06-10T02:00:00-06:00")
    assert maintenance.scheduled_until == at("2023-06-10T04:00:00-06:00")
    assert incidents["Slow REST API responses"].status == "investigating"

    (template,) = IncidentTemplate.objects.filter(page=page)
    assert template.title == "Elevated API error rates"
    assert [c.name for c in template.components.all()] == ["REST API"]

    subscribers = {s.email: s for s in Subscriber.objects.filter(page=page)}
    assert set(subscribers) == {
        "ops@customer-one.example",
        "someone@customer-two.example",
        "new@customer-three.example",
        "gone@customer-four.example",
    }
    ops = subscribers["ops@customer-one.example"]
    assert ops.is_active and {c.name for c in ops.components.all()} == {"REST API", "Webhooks"}
    assert subscribers["someone@customer-two.example"].components.count() == 0  # everything
    assert subscribers["new@customer-three.example"].confirmed_at is None
    assert subscribers["gone@customer-four.example"].flagged
    assert mail.outbox == []  # an import tells nobody anything

    assert "component: 4 created" in output
    assert "incident: 2 created" in output and "maintenance: 1 created" in output
    assert "sms subscribers have no channel here" in output
    assert "webhook subscribers have no channel here" in output
    assert "subscriber: 4 created, 0 updated, 0 unchanged, 2 skipped" in output


@pytest.mark.django_db
def test_pages_are_walked_and_rate_limits_are_waited_out(statuspage):
    client = StatuspageClient(api_url(statuspage), KEY, min_interval=0.1, page_size=2)
    summary = StatuspageImporter(client, PAGE_ID).run()

    incident_pages = [q for path, q, _ in statuspage.log if path.endswith("/incidents")]
    # The 429 is retried; then page 1 (2 incidents) and page 2 (1, short: the end).
    assert [(q["page"], q["per_page"]) for q in incident_pages] == [
        ("1", "2"),
        ("1", "2"),
        ("2", "2"),
    ]
    active = [
        q
        for path, q, _ in statuspage.log
        if path.endswith("/subscribers") and q["state"] == "active"
    ]
    # Subscribers count pages from 0 with `limit`; the 420 is retried too.
    assert [(q["page"], q["limit"]) for q in active] == [
        ("0", "2"),
        ("0", "2"),
        ("1", "2"),
        ("2", "2"),
    ]
    # The client paces the start of its requests; arrival times here jitter a little on a busy
    # machine, so: never near a burst, and no faster than the interval on average.
    times = [t for _, _, t in statuspage.log]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 0.05, "requests came in a burst"
    assert times[-1] - times[0] >= 0.1 * (len(times) - 1) * 0.95
    assert Incident.objects.count() == 3 and summary.requests == len(statuspage.log)


@pytest.mark.django_db
def test_running_it_again_updates_instead_of_duplicating(statuspage):
    run_import(api_url(statuspage), PAGE_ID, KEY)
    counts = {
        model: model.objects.count()
        for model in (Component, ComponentGroup, Incident, IncidentUpdate, IncidentTemplate)
    }
    subscribers = Subscriber.objects.count()
    again = run_import(api_url(statuspage), PAGE_ID, KEY)
    assert {model: model.objects.count() for model in counts} == counts
    assert Subscriber.objects.count() == subscribers
    assert "0 created, 0 updated" in again and " created" not in again.replace("0 created", "")

    # A change at the source (renamed here by hand, say) is brought back, not copied.
    outage = Incident.objects.get(name="API outage")
    Incident.objects.filter(pk=outage.pk).update(name="Renamed here")
    Component.objects.filter(name="Webhooks").update(description="edited")
    third = run_import(api_url(statuspage), PAGE_ID, KEY)
    assert Incident.objects.get(pk=outage.pk).name == "API outage"
    assert Component.objects.get(name="Webhooks").description == ""
    assert "incident: 0 created, 1 updated, 1 unchanged" in third
    assert {model: model.objects.count() for model in counts} == counts


@pytest.mark.django_db
def test_the_mapping_names_our_objects_by_public_id_and_reads_older_database_id_rows(
    statuspage,
):
    run_import(api_url(statuspage), PAGE_ID, KEY)
    counts = {
        model: model.objects.count()
        for model in (Component, ComponentGroup, Incident, IncidentUpdate, IncidentTemplate)
    }
    rows = ImportedObject.objects.exclude(kind="page")
    assert rows.exists() and all(is_public_id(r.object_id) for r in rows)
    # Rows an earlier release wrote held database ids: a re-run still finds those objects.
    for row in ImportedObject.objects.filter(kind="component"):
        row.object_id = str(Component.objects.get(public_id=row.object_id).pk)
        row.save()
    again = run_import(api_url(statuspage), PAGE_ID, KEY)
    assert {model: model.objects.count() for model in counts} == counts
    assert "component: 0 created" in again
    assert all(is_public_id(r.object_id) for r in ImportedObject.objects.filter(kind="component"))


@pytest.mark.django_db
def test_a_dry_run_reports_what_would_change_and_writes_nothing(statuspage):
    output = run_import(api_url(statuspage), PAGE_ID, KEY, "--dry-run")
    assert output.startswith("Dry run: nothing was written.")
    assert "incident: 2 created" in output
    assert not Page.objects.exists() and not ImportedObject.objects.exists()
    assert not Subscriber.objects.exists()


@pytest.mark.django_db
def test_into_an_existing_page_and_a_bad_key_is_a_clear_error(statuspage, it_page):
    run_import(api_url(statuspage), PAGE_ID, KEY, "--into", "it")
    assert not Page.objects.filter(slug="acmecloud").exists()
    assert Incident.objects.filter(page=it_page).count() == 3
    with pytest.raises(CommandError, match="refused the API key"):
        run_import(api_url(statuspage), PAGE_ID, "wrong-key")
    with pytest.raises(CommandError, match="does not exist"):
        run_import(api_url(statuspage), "nosuchpage00", KEY)


@pytest.mark.django_db
def test_an_unreachable_source_is_a_clear_error_after_retries():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = StatuspageClient(
        f"http://127.0.0.1:{port}/v1", KEY, min_interval=0, retries=2, sleep=lambda s: None
    )
    with pytest.raises(Exception, match="Cannot reach"):
        StatuspageImporter(client, PAGE_ID).run()
    assert client.requests == 3 and not Page.objects.exists()


# --- another installation of ours -----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db
def test_a_page_moves_from_another_installation_with_everything(other_installation):
    url, key = other_installation.url, other_installation.key
    source = requests.Session()
    source.headers["Authorization"] = f"OAuth {key}"

    output = run_import(url, "it", key)
    page = Page.objects.get(slug="it")
    assert page.name == "Example IT Services" and page.time_zone == "Europe/Amsterdam"

    theirs = source.get(f"{url}/pages/it/components").json()
    ours = {c.name: c for c in Component.objects.filter(page=page)}
    assert {c["name"]: c["status"] for c in theirs} == {n: c.status for n, c in ours.items()}, (
        output
    )
    assert ours["Monitoring probe"].is_visible is False
    assert ComponentGroup.objects.filter(page=page).count() == 3

    their_incidents = source.get(f"{url}/pages/it/incidents").json()
    assert len(their_incidents) == Incident.objects.filter(page=page).count() == 4
    for theirs_incident in their_incidents:
        incident = Incident.objects.get(page=page, name=theirs_incident["name"])
        assert incident.status == theirs_incident["status"]
        assert incident.created_at == at(theirs_incident["created_at"])
        assert sorted(u.body for u in incident.updates.all()) == sorted(
            u["body"] for u in theirs_incident["incident_updates"]
        )
    vpn = Incident.objects.get(page=page, name="VPN connections dropping")
    assert vpn.postmortem_published_at is not None and "session limit" in vpn.postmortem_published

    subscribers = {s.email: s for s in Subscriber.objects.filter(page=page)}
    assert subscribers["ann@example.com"].is_active
    assert subscribers["ann@example.com"].language == "nl"
    assert [c.name for c in subscribers["ann@example.com"].components.all()] == ["VPN"]
    assert subscribers["ben@example.com"].confirmed_at is None
    assert IncidentTemplate.objects.filter(page=page).count() == 1
    assert "skipped" in output and mail.outbox == []

    # Maintenance comes with the telephony page.
    run_import(url, "telephony", key)
    (upgrade,) = Incident.objects.filter(page__slug="telephony", kind="maintenance")
    assert upgrade.status == "scheduled" and upgrade.scheduled_for is not None

    again = run_import(url, "it", key)
    assert Incident.objects.filter(page=page).count() == 4
    assert "incident: 0 created, 0 updated, 4 unchanged" in again
