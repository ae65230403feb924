"""Monitoring in: Alertmanager and Grafana webhooks change components by themselves, and a
resolved alert undoes only what automation did (automation never overwrites a person)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from incidents import services
from incidents.models import (
    AlertDraft,
    AlertRule,
    AlertState,
    Component,
    ComponentStatusChange,
    Incident,
    IncidentTemplate,
)

from .api_helpers import Api, make_api

ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


def am_payload(*alerts, status="firing"):
    return {
        "version": "4",
        "groupKey": "{}:{}",
        "status": status,
        "receiver": "statuspage",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager",
        "alerts": list(alerts),
    }


def alert(fingerprint="f1", status="firing", **labels):
    labels.setdefault("alertname", "VPNDown")
    return {
        "status": status,
        "labels": labels,
        "annotations": {"summary": "VPN concentrator down"},
        "startsAt": "2026-01-01T00:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": fingerprint,
    }


@pytest.fixture
def api(it_page):
    api, _key = make_api("alertmanager", pages=[it_page])
    api.headers = {"Authorization": api.headers["Authorization"].replace("OAuth", "Bearer")}
    return api


def vpn() -> Component:
    return Component.objects.get(name="VPN")


def send(api: Api, *alerts, source="alertmanager"):
    return api.post(f"pages/it/{source}", am_payload(*alerts))


@pytest.mark.django_db
def test_a_critical_alert_sets_a_major_outage_and_its_resolve_puts_it_back(api):
    response = send(api, alert(component="VPN", severity="critical"))
    assert response.status_code == 200, response.content
    assert response.json()["changed"][0]["component"] == "VPN"
    assert vpn().status == "major_outage"
    change = ComponentStatusChange.objects.filter(component=vpn()).latest("id")
    assert change.actor is None and change.actor_name == "integration:alertmanager (alertmanager)"

    AlertRule.objects.create(page=vpn().page, name="no hold-down", hold_down_seconds=0)
    send(api, alert(component="VPN", severity="critical", status="resolved"))
    assert vpn().status == "operational"


@pytest.mark.django_db
def test_severity_maps_to_status_and_a_rule_can_change_it(api, it_page):
    send(api, alert("w", component="VPN", severity="warning"))
    assert vpn().status == "degraded_performance"
    send(api, alert("x", component="Email hosting", severity="page-me"))
    assert Component.objects.get(name="Email hosting").status == "partial_outage"
    rule = AlertRule(
        page=it_page,
        name="internet",
        matchers={"alertname": "Uplink"},
        component=Component.objects.get(name="Internet access"),
        severity_statuses={"critical": "partial_outage"},
    )
    services.save_alert_rule(rule, actor=None)
    send(api, alert("y", alertname="Uplink", severity="critical"))
    assert Component.objects.get(name="Internet access").status == "partial_outage"


@pytest.mark.django_db
def test_repeated_notifications_of_one_alert_change_nothing(api):
    send(api, alert(component="VPN", severity="critical"))
    before = ComponentStatusChange.objects.count()
    response = send(api, alert(component="VPN", severity="critical"))
    assert response.json()["unchanged"][0]["note"] == "duplicate"
    assert ComponentStatusChange.objects.count() == before
    assert AlertState.objects.count() == 1


@pytest.mark.django_db
def test_automation_never_overwrites_a_person(api, alice):
    services.set_component_status(vpn(), "partial_outage", actor=alice)
    response = send(api, alert(component="VPN", severity="critical"))
    assert "alice" in response.json()["unchanged"][0]["note"]
    assert vpn().status == "partial_outage"


@pytest.mark.django_db
def test_a_resolved_alert_keeps_what_an_engineer_set_meanwhile(api, alice, it_page):
    AlertRule.objects.create(page=it_page, name="fast", hold_down_seconds=0)
    send(api, alert(component="VPN", severity="critical"))
    services.set_component_status(vpn(), "degraded_performance", actor=alice)
    send(api, alert(component="VPN", severity="critical", status="resolved"))
    assert vpn().status == "degraded_performance"
    assert AlertState.objects.get().held_by == "changed by a person since"


@pytest.mark.django_db
def test_an_open_incident_holds_its_components(api, alice, it_page):
    services.open_incident(
        it_page,
        actor=alice,
        name="VPN slow",
        body="Looking",
        components={vpn().pk: "degraded_performance"},
    )
    response = send(api, alert(component="VPN", severity="critical"))
    assert "VPN slow" in response.json()["unchanged"][0]["note"]
    assert vpn().status == "degraded_performance"


@pytest.mark.django_db
def test_the_hold_down_keeps_a_flapping_alert_from_flapping_the_page(api, it_page):
    AlertRule.objects.create(page=it_page, name="hold", hold_down_seconds=300)
    send(api, alert(component="VPN", severity="critical"))
    send(api, alert(component="VPN", severity="critical", status="resolved"))
    assert vpn().status == "major_outage"  # held down
    send(api, alert(component="VPN", severity="critical"))  # fires again: nothing changes
    send(api, alert(component="VPN", severity="critical", status="resolved"))
    assert services.restore_resolved_alerts() == 0  # not yet
    later = timezone.now() + dt.timedelta(seconds=301)
    assert services.restore_resolved_alerts(now=later) == 1
    assert vpn().status == "operational"
    assert ComponentStatusChange.objects.filter(component=vpn()).count() == 3  # create, down, up


@pytest.mark.django_db
def test_two_alerts_on_one_component_restore_only_when_both_resolve(api, it_page):
    AlertRule.objects.create(page=it_page, name="fast", hold_down_seconds=0)
    send(api, alert("a", component="VPN", severity="warning"))
    send(api, alert("b", component="VPN", severity="critical"))
    assert vpn().status == "major_outage"
    send(api, alert("b", component="VPN", severity="critical", status="resolved"))
    assert vpn().status == "degraded_performance"
    send(api, alert("a", component="VPN", severity="warning", status="resolved"))
    assert vpn().status == "operational"


@pytest.mark.django_db
def test_a_rule_prepares_a_draft_incident_that_an_engineer_publishes(api, alice, it_page):
    template = IncidentTemplate.objects.create(
        page=it_page, name="vpn", title="VPN unavailable", body="We are looking into it."
    )
    rule = AlertRule(page=it_page, name="vpn", incident_action="draft", template=template)
    services.save_alert_rule(rule, actor=alice)
    send(api, alert(component="VPN", severity="critical"))
    send(api, alert(component="VPN", severity="critical"))
    draft = AlertDraft.objects.get()  # one draft, however often the alert repeats
    assert Incident.objects.count() == 0
    incident = services.publish_alert_draft(draft, actor=alice)
    assert incident.name == "VPN unavailable"
    assert incident.updates.get().author == alice


@pytest.mark.django_db
def test_a_rule_can_publish_at_once_and_the_resolve_closes_that_incident(api, it_page):
    template = IncidentTemplate.objects.create(
        page=it_page, name="vpn", title="VPN unavailable", body="We are looking into it."
    )
    AlertRule.objects.create(
        page=it_page, name="vpn", incident_action="publish", template=template, hold_down_seconds=0
    )
    send(api, alert(component="VPN", severity="critical"))
    incident = Incident.objects.get()
    assert vpn().status == "major_outage" and not incident.is_resolved
    send(api, alert(component="VPN", severity="critical", status="resolved"))
    incident.refresh_from_db()
    assert incident.is_resolved and vpn().status == "operational"


@pytest.mark.django_db
def test_grafana_payloads_work_the_same(api):
    body = {
        "receiver": "sp",
        "status": "firing",
        "orgId": 1,
        "alerts": [alert(component="VPN", severity="warning")],
    }
    response = api.post("pages/it/grafana", body)
    assert response.status_code == 200, response.content
    assert vpn().status == "degraded_performance"


@pytest.mark.django_db
def test_bad_payloads_and_keys_get_clear_errors(api, it_page, phone_page):
    assert api.post("pages/it/alertmanager", {**am_payload(), "version": "3"}).status_code == 422
    assert (
        "version 4"
        in api.post("pages/it/alertmanager", {**am_payload(), "version": "3"}).json()["message"]
    )
    response = send(api, alert(component="No such thing"))
    assert response.json()["ignored"][0]["reason"].startswith("No component matches")
    assert api.post("pages/telephony/alertmanager", am_payload()).status_code == 404
    anonymous = Api("x" * 40, scheme="Bearer")
    assert anonymous.post("pages/it/alertmanager", am_payload()).status_code == 401
    read_only, _key = make_api("ro", pages=[it_page], read_only=True)
    assert read_only.post("pages/it/alertmanager", am_payload()).status_code == 403


@pytest.mark.django_db
def test_one_request_sends_one_event(api, it_page, django_capture_on_commit_callbacks):
    from incidents.events import domain_event

    seen = []

    def listener(sender, event, **kwargs):
        seen.append(json.loads(json.dumps(event.as_dict())))

    domain_event.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            send(
                api,
                alert("a", component="VPN", severity="critical"),
                alert("b", component="Email hosting", severity="warning"),
            )
    finally:
        domain_event.disconnect(listener)
    assert [e["type"] for e in seen] == ["component.updated"]
    assert {c["name"] for c in seen[0]["data"]["components"]} == {"VPN", "Email hosting"}


# --- a real Alertmanager ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def post_json(url: str, body) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.needs("alertmanager")
def test_a_real_alertmanager_fires_and_resolves_and_keeps_a_persons_change(
    live_server, it_page, tmp_path
):
    from incidents.api.authentication import create_api_key

    _key, raw = create_api_key("alertmanager", pages=[it_page])
    AlertRule.objects.create(page=it_page, name="fast", hold_down_seconds=0)
    port = free_port()
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        json.dumps(  # YAML is a superset of JSON
            {
                "route": {
                    "receiver": "statuspage",
                    "group_by": ["alertname", "component"],
                    "group_wait": "0s",
                    "group_interval": "1s",
                    "repeat_interval": "1h",
                },
                "receivers": [
                    {
                        "name": "statuspage",
                        "webhook_configs": [
                            {
                                "url": f"{live_server.url}/api/v1/pages/it/alertmanager",
                                "send_resolved": True,
                                "http_config": {
                                    "authorization": {"type": "Bearer", "credentials": raw}
                                },
                            }
                        ],
                    }
                ],
            }
        )
    )
    log = (tmp_path / "alertmanager.log").open("w")
    process = subprocess.Popen(
        [
            ALERTMANAGER,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/api/v2"
    try:
        wait_for(lambda: _ready(f"http://127.0.0.1:{port}/-/ready"), what="alertmanager")
        now = dt.datetime.now(dt.UTC)
        labels = {"alertname": "VPNDown", "component": "VPN", "severity": "critical"}
        post_json(
            f"{base}/alerts",
            [
                {
                    "labels": labels,
                    "startsAt": now.isoformat(),
                    "endsAt": (now + dt.timedelta(hours=1)).isoformat(),
                }
            ],
        )
        wait_for(lambda: vpn().status == "major_outage", what="the alert to change VPN")

        # Another alert fires and an engineer takes its component over before it resolves.
        engineer = get_user_model().objects.create_user("dora", is_staff=True)
        other = {"alertname": "MailDown", "component": "Email hosting", "severity": "warning"}
        post_json(
            f"{base}/alerts",
            [
                {
                    "labels": other,
                    "startsAt": now.isoformat(),
                    "endsAt": (now + dt.timedelta(hours=1)).isoformat(),
                }
            ],
        )
        mail = lambda: Component.objects.get(name="Email hosting")  # noqa: E731
        wait_for(lambda: mail().status == "degraded_performance", what="the second alert")
        services.set_component_status(mail(), "major_outage", actor=engineer)

        ended = dt.datetime.now(dt.UTC).isoformat()
        post_json(
            f"{base}/alerts", [{"labels": labels, "startsAt": now.isoformat(), "endsAt": ended}]
        )
        post_json(
            f"{base}/alerts", [{"labels": other, "startsAt": now.isoformat(), "endsAt": ended}]
        )
        wait_for(lambda: vpn().status == "operational", what="the resolve to restore VPN")
        wait_for(
            lambda: AlertState.objects.filter(alertname="MailDown", state="resolved").exists(),
            what="the second resolve",
        )
        assert mail().status == "major_outage"  # the engineer's status stays
        names = set(
            ComponentStatusChange.objects.filter(component=vpn()).values_list(
                "actor_name", flat=True
            )
        )
        assert "integration:alertmanager (alertmanager)" in names
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.mark.django_db
def test_the_audit_trail_names_the_integration(api):
    from incidents.models import AuditEntry

    send(api, alert(component="VPN", severity="critical"))
    entry = AuditEntry.objects.get(action="receive_alerts")
    assert entry.actor_type == "integration"
    assert entry.actor_name == "integration:alertmanager (alertmanager)"


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_an_alert_reaches_open_pages_before_its_slow_webhooks_are_sent(it_page, settings):
    """Alert to page: the relay pushes to open pages first, and in-process mode hands the
    deliveries to a thread of their own, so a slow webhook (3 s) never holds up the push
    of this change or the next. One event, one push, one delivery."""
    import os
    import uuid

    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator

    from notifications.services import add_endpoint
    from notifications.tasks import in_process_worker
    from statuspage.asgi import application

    from .webhook_helpers import Consumer

    redis_url = os.environ.get("REDIS_URL_FOR_TESTS", "redis://127.0.0.1:6379/4")
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [redis_url], "prefix": f"test-alerts-{uuid.uuid4().hex[:8]}"},
        }
    }
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    consumer = Consumer().start()

    def prepare() -> Api:
        add_endpoint(
            it_page, kind="webhook", endpoint=consumer.url("/slow"), skip_confirmation=True
        )
        AlertRule.objects.create(page=it_page, name="no hold-down", hold_down_seconds=0)
        client, _key = make_api("alertmanager", pages=[it_page])
        client.headers = {
            "Authorization": client.headers["Authorization"].replace("OAuth", "Bearer")
        }
        return client

    try:
        client = await database_sync_to_async(prepare)()
        page = WebsocketCommunicator(
            application, "/ws/pages/it/", headers=[(b"origin", b"http://testserver")]
        )
        assert (await page.connect(timeout=5))[0]
        assert json.loads(await page.receive_from(timeout=5))["type"] == "hello"
        for status, shown in [("firing", "major_outage"), ("resolved", "operational")]:
            response = await database_sync_to_async(send)(
                client, alert(component="VPN", severity="critical", status=status)
            )
            assert response.status_code == 200, response.content
            message = json.loads(await page.receive_from(timeout=10))
            assert message["type"] == "component.updated"
            assert message["data"]["components"][0]["status"] == shown
            # The push went out while the webhook of this change was still waiting to answer.
            sent = [r.json["component_update"]["new_status"] for r in consumer.at("/slow")]
            assert shown not in sent
        assert await page.receive_nothing(timeout=0.3)  # one push per change
        await page.disconnect()
        assert await database_sync_to_async(in_process_worker.wait_idle)(30)
        assert [r.json["component_update"]["new_status"] for r in consumer.at("/slow")] == [
            "major_outage",
            "operational",
        ]
    finally:
        consumer.stop()
