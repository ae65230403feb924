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

from incidents import services
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
            retry_after = {"Retry-After": self.server.retry_after}
            return self.answer(code, {"error": "Rate limit exceeded"}, retry_after)
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
    server.retry_after = "0"
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
    # Its history (the audit trail) has the import as the step that published it.
    (step,) = services.postmortem_history(outage)
    assert (step.kind, step.action, step.actor_name) == (
        "published",
        "import_incident",
        "statuspage import",
    )

    maintenance = incidents["Dashboard server upgrade"]
    assert maintenance.kind == "maintenance" and maintenance.status == "completed"
    assert maintenance.scheduled_for == at("2023-06-10T02:00:00-06:00")
    assert maintenance.scheduled_until == at("2023-06-10T04:00:00-06:00")
    assert incidents["Slow REST API responses"].status == "investigating"

    (template,) = IncidentTemplate.objects.filter(page=page)
    assert template.title == "Elevated API error rates"
    assert [c.name for c in template.components.all()] == ["REST API"]

    subscribers = {s.email: s for s in Subscriber.objects.filter(page=page, kind="email")}
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
    # Webhooks come along with their endpoint, owner, component scope and state; each signs
    # with a secret of its own here (the source shows none), which the import prints nowhere.
    webhooks = {s.endpoint: s for s in Subscriber.objects.filter(page=page, kind="webhook")}
    active = webhooks["https://hooks.customer-one.example/statuspage"]
    assert active.is_active and active.email == "alerts@customer-one.example"
    assert active.components.count() == 0
    pending = webhooks["https://ci.customer-three.example/hooks/statuspage?team=web"]
    assert pending.confirmed_at is None and pending.email == "hooks@customer-three.example"
    assert [c.name for c in pending.components.all()] == ["REST API"]
    assert active.secret.startswith("whsec_") and pending.secret.startswith("whsec_")
    assert active.secret != pending.secret and active.secret not in output
    assert mail.outbox == []  # an import tells nobody anything

    assert "component: 4 created" in output
    assert "incident: 2 created" in output and "maintenance: 1 created" in output
    assert "sms subscribers have no channel here" in output
    assert "s1ackws00001: a Slack subscription belongs to Statuspage's Slack app" in output
    assert "subscriber: 6 created, 0 updated, 0 unchanged, 2 skipped" in output
    assert "2 webhook(s) sign with a secret of their own here" in output


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


def source_outages() -> dict[str, list[tuple[dt.datetime, dt.datetime, str]]]:
    """Each component's (start, end, status) in partial or major outage, read straight from
    the recorded incidents: a status holds from an update's display_at to the next change."""
    changes: dict[str, list[tuple[dt.datetime, str]]] = {}
    for incident in fixture("incidents"):
        for update in incident["incident_updates"] or []:
            for c in update["affected_components"] or []:
                changes.setdefault(c["code"], []).append(
                    (at(update["display_at"]), c["new_status"])
                )
    names = {c["id"]: c["name"] for c in fixture("components")}
    outages: dict[str, list[tuple[dt.datetime, dt.datetime, str]]] = {}
    for code, timeline in changes.items():
        if code not in names:
            continue  # deleted at the source: not imported
        timeline.sort()
        for (start, status), (end, _next) in zip(timeline, timeline[1:], strict=False):
            if status in ("partial_outage", "major_outage"):
                outages.setdefault(names.get(code, code), []).append((start, end, status))
    return outages


@pytest.mark.django_db
def test_history_and_uptime_are_the_sources_outages_and_the_import_tells_nobody(
    statuspage, django_capture_on_commit_callbacks
):
    from incidents.events import domain_event
    from incidents.models import ComponentDailyStatus, ComponentStatusChange
    from incidents.snapshot import build_page_snapshot
    from incidents.uptime import uptime_for_snapshot
    from notifications.models import Notification

    seen = []

    def listen(sender, event, **kwargs):
        seen.append(json.loads(json.dumps(event.as_dict())))

    domain_event.connect(listen, dispatch_uid="test-import-events", weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            run_import(api_url(statuspage), PAGE_ID, KEY)
    finally:
        domain_event.disconnect(dispatch_uid="test-import-events")
    # One import, one event, which notifies nobody (there are confirmed webhooks).
    assert [e["type"] for e in seen] == ["page.imported"]
    assert not Notification.objects.exists() and mail.outbox == []

    page = Page.objects.get(slug="acmecloud")
    rest = Component.objects.get(page=page, name="REST API")
    outage = Incident.objects.get(page=page, name="API outage")
    slow = Incident.objects.get(page=page, name="Slow REST API responses")
    # The history starts on Statuspage's start_date (midnight, the page's time zone) and has
    # each imported update's change at its time, linked to its incident.
    history = list(
        ComponentStatusChange.objects.filter(component=rest).values_list(
            "changed_at", "old_status", "new_status", "incident"
        )
    )
    assert history == [
        (at("2014-05-14T00:00:00-06:00"), "", "operational", None),
        (at("2023-11-02T06:45:33-06:00"), "operational", "major_outage", outage.pk),
        (at("2023-11-02T08:01:44.002-06:00"), "major_outage", "operational", outage.pk),
        (at("2024-02-10T15:10:00-06:00"), "operational", "degraded_performance", slow.pk),
    ]
    assert rest.created_at == at("2014-05-14T00:00:00-06:00")

    # Uptime as the page showed it on the first of December 2023 (90 whole days: a day long
    # gone counts whole): the seconds in outage per component and day are the source's, and
    # so is the percentage.
    snapshot = build_page_snapshot(page)
    december = dt.datetime(2023, 12, 1, 12, tzinfo=page.tz)
    uptime = uptime_for_snapshot(page, snapshot.components, december)
    window_start = dt.datetime(2023, 9, 3, tzinfo=page.tz)
    observed = (dt.datetime(2023, 12, 2, tzinfo=page.tz) - window_start).total_seconds()
    expected = source_outages()
    assert set(expected) == {"REST API", "Webhooks"}
    for pk, component in snapshot.components.items():
        bars = uptime.components[pk].days
        down: dict[tuple[str, str], float] = {}
        for start, end, status in expected.get(component.name, []):
            day = start.astimezone(page.tz).date().isoformat()
            down[(day, status)] = down.get((day, status), 0) + (end - start).total_seconds()
        shown = {
            (bar.date, status): seconds
            for bar in bars
            for status, seconds in bar.seconds.items()
            if status in ("partial_outage", "major_outage")
        }
        assert shown == pytest.approx(down, abs=0.002), component.name
        total_down = sum(down.values())
        assert uptime.components[pk].percent == pytest.approx(
            100 * (1 - total_down / observed), abs=1e-4
        ), component.name
        assert all(bar.level != "nodata" for bar in bars), component.name
    outage_day = {bar.date: bar for bar in uptime.components[rest.pk].days}["2023-11-02"]
    assert outage_day.level == "major" and [i.name for i in outage_day.incidents] == ["API outage"]
    # Today: REST API has been degraded since February 2024, which is not an outage.
    today = build_page_snapshot(page).uptime.components[rest.pk]
    assert {bar.level for bar in today.days} == {"degraded"} and today.percent == 100.0

    # Running it again changes nothing in the history or the daily rows.
    rows = list(ComponentDailyStatus.objects.order_by("component", "day").values())
    changes = list(ComponentStatusChange.objects.order_by("id").values())
    again = run_import(api_url(statuspage), PAGE_ID, KEY)
    assert list(ComponentStatusChange.objects.order_by("id").values()) == changes
    assert list(ComponentDailyStatus.objects.order_by("component", "day").values()) == rows
    assert "history: 0 created, 0 updated, 4 unchanged" in again


@pytest.mark.django_db
def test_a_420_or_429_waits_what_retry_after_says_seconds_or_a_date(statuspage):
    from email.utils import format_datetime

    waits: list[float] = []
    statuspage.retry_after = "7"
    client = StatuspageClient(api_url(statuspage), KEY, min_interval=0, sleep=waits.append)
    StatuspageImporter(client, PAGE_ID, dry_run=True).run()
    assert waits == [7.0, 7.0]  # the 429 on incidents, the 420 on subscribers

    waits.clear()
    statuspage.throttle = {"incidents"}
    in_a_minute = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)
    statuspage.retry_after = format_datetime(in_a_minute, usegmt=True)
    StatuspageImporter(client, PAGE_ID, dry_run=True).run()
    assert len(waits) == 1 and 55 <= waits[0] <= 60
    # Without Retry-After the client backs off on its own (from a second, doubling).
    waits.clear()
    statuspage.throttle = {"incidents"}
    statuspage.retry_after = ""
    StatuspageImporter(client, PAGE_ID, dry_run=True).run()
    assert waits == [1.0]


@pytest.mark.django_db
def test_running_it_again_updates_instead_of_duplicating(statuspage):
    run_import(api_url(statuspage), PAGE_ID, KEY)
    counts = {
        model: model.objects.count()
        for model in (Component, ComponentGroup, Incident, IncidentUpdate, IncidentTemplate)
    }
    subscribers = Subscriber.objects.count()
    secrets = dict(Subscriber.objects.filter(kind="webhook").values_list("pk", "secret"))
    again = run_import(api_url(statuspage), PAGE_ID, KEY)
    assert {model: model.objects.count() for model in counts} == counts
    assert Subscriber.objects.count() == subscribers
    # A webhook keeps the secret it got here: its owner may verify with it by now.
    assert dict(Subscriber.objects.filter(kind="webhook").values_list("pk", "secret")) == secrets
    assert "webhook(s) sign" not in again
    assert "0 created, 0 updated" in again and " created" not in again.replace("0 created", "")

    # A change at the source (renamed here by hand, say) is brought back, not copied.
    outage = Incident.objects.get(name="API outage")
    Incident.objects.filter(pk=outage.pk).update(name="Renamed here")
    Component.objects.filter(name="Webhooks").update(description="edited")
    # A dry run says what a run would bring back, and brings back nothing.
    dry = run_import(api_url(statuspage), PAGE_ID, KEY, "--dry-run")
    assert "incident: 0 created, 1 updated, 1 unchanged" in dry
    assert "component: 0 created, 1 updated, 3 unchanged" in dry
    assert Incident.objects.get(pk=outage.pk).name == "Renamed here"
    third = run_import(api_url(statuspage), PAGE_ID, KEY)
    assert Incident.objects.get(pk=outage.pk).name == "API outage"
    assert Component.objects.get(name="Webhooks").description == ""
    assert "incident: 0 created, 1 updated, 1 unchanged" in third
    assert {model: model.objects.count() for model in counts} == counts


@pytest.mark.django_db
def test_a_dry_run_reports_what_would_change_and_writes_nothing(statuspage):
    output = run_import(api_url(statuspage), PAGE_ID, KEY, "--dry-run")
    assert output.startswith("Dry run: nothing was written.")
    assert "incident: 2 created" in output
    assert not Page.objects.exists() and not ImportedObject.objects.exists()
    assert not Subscriber.objects.exists()


@pytest.mark.django_db
def test_an_engineer_renews_an_imported_webhooks_secret_to_hand_it_on(statuspage, alice, client):
    run_import(api_url(statuspage), PAGE_ID, KEY, "--into", "it")
    hook = Subscriber.objects.get(endpoint="https://hooks.customer-one.example/statuspage")
    client.force_login(alice)
    changelist = "/admin/notifications/subscriber/"
    response = client.post(
        changelist,
        {"action": "renew_secret", "_selected_action": [str(hook.pk)]},
        follow=True,
    )
    hook.refresh_from_db()
    shown = [str(m) for m in response.context["messages"]]
    assert any(hook.secret in m and "shown only now" in m for m in shown), shown
    # One webhook at a time (each secret goes to its own owner); an email has none.
    email = Subscriber.objects.get(email="ops@customer-one.example")
    response = client.post(
        changelist,
        {"action": "renew_secret", "_selected_action": [str(hook.pk), str(email.pk)]},
        follow=True,
    )
    assert "Select exactly one webhook." in [str(m) for m in response.context["messages"]]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.django_db
def test_a_progress_bar_on_a_terminal_and_none_in_a_pipe(statuspage):
    def imported(stderr, *extra: str) -> str:
        call_command(
            "import_statuspage", "--api-url", api_url(statuspage), "--page-id", PAGE_ID,
            "--api-key", KEY, "--interval", "0", "--dry-run", *extra,
            stdout=io.StringIO(), stderr=stderr,
        )  # fmt: skip
        return stderr.getvalue()

    drawn = imported(Terminal())
    assert "incidents:" in drawn and "subscribers (active):" in drawn and " objects" in drawn
    assert imported(io.StringIO()) == ""  # cron, CI, a pipe: quiet
    assert imported(Terminal(), "--no-progress") == ""


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

    subscribers = {s.email: s for s in Subscriber.objects.filter(page=page, kind="email")}
    assert subscribers["ann@example.com"].is_active
    assert subscribers["ann@example.com"].language == "nl"
    assert [c.name for c in subscribers["ann@example.com"].components.all()] == ["VPN"]
    assert subscribers["ben@example.com"].confirmed_at is None
    # The webhook with its scope and events; the source never shows its secret, so it signs
    # with a new one here. The chat's URL holds a token the source shows only as its host.
    (hook,) = Subscriber.objects.filter(page=page, kind="webhook")
    assert hook.endpoint == "https://hooks.example.com/status" and hook.is_active
    assert hook.events == ["incident"] and [c.name for c in hook.components.all()] == ["VPN"]
    assert hook.secret.startswith("whsec_") and hook.secret != "whsec_c291cmNlLXNlY3JldA=="
    assert not Subscriber.objects.filter(page=page, kind="chat").exists()
    assert "the source shows only the chat's host" in output
    assert IncidentTemplate.objects.filter(page=page).count() == 1
    assert "skipped" in output and mail.outbox == []

    # Maintenance comes with the telephony page.
    run_import(url, "telephony", key)
    (upgrade,) = Incident.objects.filter(page__slug="telephony", kind="maintenance")
    assert upgrade.status == "scheduled" and upgrade.scheduled_for is not None

    again = run_import(url, "it", key)
    assert Incident.objects.filter(page=page).count() == 4
    assert "incident: 0 created, 0 updated, 4 unchanged" in again
