"""Public ids: every object the APIs, webhooks and public JSON show has a random 12-character id
(as Statuspage's), unique across kinds, so no client keying by id loses an entry; v1 finds
objects by it within the key's page, and still by the old database id for a transition."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from incidents import services
from incidents.models import (
    Component,
    ComponentGroup,
    ComponentStatusChange,
    Incident,
    IncidentTemplate,
    IncidentUpdate,
    is_public_id,
    new_public_id,
)
from incidents.services.incidents import incident_data
from notifications.models import Subscriber
from notifications.webhooks import build_payload

from .api_helpers import make_api
from .factories import make_component, make_group

pytestmark = pytest.mark.django_db

PUBLIC_ID = re.compile(r"^[a-z0-9]{12}$")


@pytest.fixture
def api(it_page):
    api, _key = make_api("deploy-bot")
    return api


def comp(page, name) -> Component:
    return Component.objects.get(page=page, name=name)


def open_vpn_incident(it_page, alice) -> Incident:
    vpn = comp(it_page, "VPN")
    return services.open_incident(
        it_page,
        actor=alice,
        name="VPN down",
        body="Investigating.",
        status="investigating",
        components={vpn.pk: "major_outage"},
    )


def ids_in(document) -> list[str]:
    """Every value of an "id", "incident_id" or "code" key in a JSON document."""
    found = []
    if isinstance(document, dict):
        for key, value in document.items():
            if key in ("id", "incident_id", "code") and isinstance(value, str):
                found.append(value)
            else:
                found += ids_in(value)
    elif isinstance(document, list):
        for item in document:
            found += ids_in(item)
    return found


def test_a_new_public_id_is_12_lowercase_letters_and_digits_never_only_digits():
    values = {new_public_id() for _ in range(2000)}
    assert len(values) == 2000
    assert all(PUBLIC_ID.match(v) and not v.isdigit() for v in values)
    assert all(is_public_id(v) for v in values)
    assert not is_public_id("123456789012") and not is_public_id("ABCDEFGHIJKL")


def test_v2_components_json_has_no_duplicate_ids_across_groups_and_components(client, it_page):
    # The probe of issue 10: groups and components were both "1", "2"... in one list.
    make_group(it_page, "Office")  # no visible member: not listed
    components = client.get("/p/it/api/v2/components.json").json()["components"]
    ids = [c["id"] for c in components]
    assert len(ids) == len(set(ids)) == 4  # Network, its 2 members, Email hosting
    assert all(PUBLIC_ID.match(i) for i in ids)
    network = next(c for c in components if c["group"])
    members = [c for c in components if c["group_id"] == network["id"]]
    assert network["components"] == [c["id"] for c in members]
    assert network["id"] == ComponentGroup.objects.get(name="Network").public_id


def test_summary_json_ids_are_public_ids_unique_across_object_types(client, it_page, alice):
    incident = open_vpn_incident(it_page, alice)
    summary = client.get("/p/it/api/v2/summary.json").json()
    (shown,) = summary["incidents"]
    assert shown["id"] == incident.public_id
    (update,) = shown["incident_updates"]
    assert update["id"] == incident.updates.get().public_id
    assert update["incident_id"] == incident.public_id
    assert update["affected_components"][0]["code"] == comp(it_page, "VPN").public_id
    ids = ids_in({k: v for k, v in summary.items() if k != "page"})
    assert ids and all(PUBLIC_ID.match(i) for i in ids)
    # Each object once per place it is listed; different objects never share an id.
    objects = {
        *[(Component, c.public_id) for c in Component.objects.all()],
        *[(ComponentGroup, g.public_id) for g in ComponentGroup.objects.all()],
        (Incident, incident.public_id),
        (IncidentUpdate, incident.updates.get().public_id),
    }
    assert len({public_id for _model, public_id in objects}) == len(objects)
    assert set(ids) <= {public_id for _model, public_id in objects}


def test_v1_outputs_use_public_ids_for_every_object(api, it_page, alice):
    incident = open_vpn_incident(it_page, alice)
    network = ComponentGroup.objects.get(name="Network")
    vpn = comp(it_page, "VPN")
    components = api.get("pages/it/components").json()
    assert {c["id"] for c in components} == set(
        Component.objects.filter(page=it_page).values_list("public_id", flat=True)
    )
    assert {c["group_id"] for c in components} == {network.public_id, None}
    (group,) = api.get("pages/it/component-groups").json()
    assert group["id"] == network.public_id
    assert group["components"] == [comp(it_page, "Internet access").public_id, vpn.public_id]
    (listed,) = api.get("pages/it/incidents").json()
    assert listed["id"] == incident.public_id
    assert [c["id"] for c in listed["components"]] == [vpn.public_id]
    (update,) = listed["incident_updates"]
    assert (update["id"], update["incident_id"]) == (
        incident.updates.get().public_id,
        incident.public_id,
    )
    assert update["affected_components"][0]["code"] == vpn.public_id


@pytest.mark.parametrize(
    "path",
    [
        "components/{vpn}",
        "component-groups/{network}",
        "incidents/{incident}",
        "incidents/{incident}/postmortem",
    ],
)
def test_v1_finds_objects_by_public_id(api, it_page, alice, path):
    incident = open_vpn_incident(it_page, alice)
    ids = {
        "vpn": comp(it_page, "VPN").public_id,
        "network": ComponentGroup.objects.get(name="Network").public_id,
        "incident": incident.public_id,
    }
    response = api.get("pages/it/" + path.format(**ids))
    assert response.status_code == 200, response.content
    if "id" in response.json():
        assert response.json()["id"] in ids.values()


def test_an_id_of_another_page_or_a_guessed_one_is_404(api, it_page, phone_page, alice):
    inbound = comp(phone_page, "Inbound calls")
    elsewhere = services.open_incident(
        phone_page, actor=alice, name="Calls drop", body="Looking.", status="investigating"
    )
    for path in (
        f"pages/it/components/{inbound.public_id}",
        f"pages/it/components/{inbound.pk}",
        f"pages/it/incidents/{elsewhere.public_id}",
        f"pages/it/incidents/{elsewhere.pk}",
        f"pages/it/components/{new_public_id()}",
        f"pages/it/component-groups/{new_public_id()}",
        f"pages/it/incidents/{new_public_id()}",
        "pages/it/components/ABCDEFGHIJKL",  # not an id at all
        "pages/it/components/abcdefghijk",  # 11 characters
    ):
        response = api.get(path)
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found", path
    # ... and an id of another page is refused in a body too.
    response = api.post(
        "pages/it/incidents",
        {"incident": {"name": "X", "body": "y", "components": {inbound.public_id: "major_outage"}}},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_component"
    assert not Incident.objects.filter(name="X").exists()


def test_database_ids_are_still_accepted_in_paths_and_bodies_for_a_transition(api, it_page):
    # Integrations stored the ids v1 answered before (digits): they keep working, and learn
    # the public id from the answer.
    vpn, network = comp(it_page, "VPN"), ComponentGroup.objects.get(name="Network")
    response = api.get(f"pages/it/components/{vpn.pk}")
    assert response.status_code == 200 and response.json()["id"] == vpn.public_id
    response = api.post(
        "pages/it/incidents",
        {
            "incident": {
                "name": "VPN slow",
                "body": "Looking.",
                "components": {str(vpn.pk): "degraded_performance"},
            }
        },
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert [c["id"] for c in created["components"]] == [vpn.public_id]
    incident = Incident.objects.get(public_id=created["id"])
    update = incident.updates.get()
    response = api.patch(
        f"pages/it/incidents/{incident.pk}/incident_updates/{update.pk}",
        {"incident_update": {"body": "Looking into it."}},
    )
    assert response.status_code == 200 and response.json()["id"] == update.public_id
    response = api.get(f"pages/it/component-groups/{network.pk}")
    assert response.status_code == 200 and response.json()["id"] == network.public_id


def test_templates_and_subscribers_have_public_ids_in_v1(api, it_page):
    vpn = comp(it_page, "VPN")
    response = api.post(
        "pages/it/incident_templates",
        {
            "template": {
                "name": "VPN flaky",
                "title": "VPN flaky",
                "body": "b",
                "component_ids": [vpn.public_id],
            }
        },
    )
    assert response.status_code == 201, response.content
    template = IncidentTemplate.objects.get(page=it_page)
    assert response.json()["id"] == template.public_id
    response = api.post(
        "pages/it/subscribers",
        {
            "subscriber": {
                "email": "ann@example.com",
                "component_ids": [vpn.public_id],
                "skip_confirmation_notification": True,
            }
        },
    )
    assert response.status_code == 201, response.content
    subscriber = Subscriber.objects.get(email="ann@example.com")
    assert response.json()["id"] == subscriber.public_id
    assert response.json()["components"] == [vpn.public_id]
    fetched = api.get(f"pages/it/subscribers/{subscriber.public_id}")
    assert fetched.status_code == 200 and fetched.json()["email"] == "ann@example.com"
    response = api.post(
        "pages/it/subscribers",
        {"subscriber": {"email": "bo@example.com", "component_ids": [new_public_id()]}},
    )
    assert response.status_code == 422


def test_webhook_payload_ids_are_the_apis(api, it_page, alice):
    subscriber = Subscriber.objects.create(
        page=it_page, kind="webhook", endpoint="https://example.com/hook"
    )
    assert subscriber.public_id and PUBLIC_ID.match(subscriber.public_id)
    incident = open_vpn_incident(it_page, alice)
    from notifications.models import Notification

    notification = Notification(
        page=it_page, event_type="incident.created", data={"incident": {"id": incident.pk}}
    )
    payload = build_payload(notification)
    assert payload is not None
    from_api = api.get(f"pages/it/incidents/{incident.public_id}").json()
    sent = payload.body["incident"]
    assert sent["id"] == from_api["id"] == incident.public_id
    assert [u["id"] for u in sent["incident_updates"]] == [
        u["id"] for u in from_api["incident_updates"]
    ]
    assert [c["id"] for c in sent["components"]] == [c["id"] for c in from_api["components"]]

    vpn = comp(it_page, "VPN")
    services.set_component_status(vpn, "partial_outage", actor=alice)
    change = ComponentStatusChange.objects.filter(component=vpn).latest("id")
    notice = Notification(
        page=it_page, event_type="component.updated", data={"change_id": change.pk}
    )
    body = build_payload(notice).body
    assert body["component"]["id"] == body["component_update"]["component_id"] == vpn.public_id
    assert body["component_update"]["id"] == change.public_id


def test_the_websocket_and_phone_payloads_name_objects_by_public_id(client, it_page, alice):
    from incidents.events import DomainEvent
    from incidents.snapshot import page_snapshot
    from notifications.live import public_object

    incident = open_vpn_incident(it_page, alice)
    it_page.refresh_from_db()
    snapshot = page_snapshot(it_page)
    event = DomainEvent(
        type="incident.created",
        page_id=it_page.pk,
        page_slug=it_page.slug,
        version=it_page.version,
        data=incident_data(incident, incident.updates.get()),
    )
    shown = public_object(event, snapshot)["incident"]
    assert shown["id"] == incident.public_id
    assert shown["latest_update"]["id"] == incident.updates.get().public_id
    assert shown["components"][0]["id"] == comp(it_page, "VPN").public_id
    phone = client.get("/p/it/phone.json").json()
    assert [i["id"] for i in phone["incidents"]] == [incident.public_id]
    html = client.get("/p/it/").content.decode()
    assert f'data-incident="{incident.public_id}"' in html
    assert f'data-component="{comp(it_page, "VPN").public_id}"' in html


def test_a_badge_is_found_by_public_id_and_by_database_id(client, it_page):
    vpn = comp(it_page, "VPN")
    for value in (vpn.public_id, str(vpn.pk)):
        response = client.get(f"/p/it/components/{value}/badge.svg")
        assert response.status_code == 200, value
        assert b"VPN" in response.content
    assert client.get(f"/p/it/components/{new_public_id()}/badge.svg").status_code == 404


def test_audit_rows_name_objects_by_public_id(api, it_page):
    vpn = comp(it_page, "VPN")
    api.patch(f"pages/it/components/{vpn.public_id}", {"component": {"status": "major_outage"}})
    newest = api.get(f"pages/it/audit-log?object_id={vpn.public_id}").json()[0]
    assert newest["object"] == {"type": "component", "id": vpn.public_id}
    assert newest["changes"]["status"] == {"before": "operational", "after": "major_outage"}


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_public_ids_and_goes_back(it_page):
    # Rows made before the migration get distinct public ids; the migration reverses.
    make_component(it_page, "Printing")
    executor = MigrationExecutor(connection)
    before = [("incidents", "0012_remove_postmortemrevision"),
              ("notifications", "0004_webhook_and_chat_subscribers")]  # fmt: skip
    try:
        executor.migrate(before)
        old_apps = executor.loader.project_state(before).apps
        OldComponent = old_apps.get_model("incidents", "Component")
        assert "public_id" not in {f.name for f in OldComponent._meta.get_fields()}
        page_id = it_page.pk
        OldComponent.objects.create(page_id=page_id, name="Made before", status="operational")
    finally:
        call_command("migrate", verbosity=0)
    values = list(Component.objects.values_list("public_id", flat=True))
    assert len(values) == 5 and len(set(values)) == 5
    assert all(PUBLIC_ID.match(v) for v in values)
