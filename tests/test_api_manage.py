"""The management API (Statuspage v1 shapes): every endpoint, its writes through the services,
pagination, search, idempotent retries and every error path."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import (
    Component,
    ComponentGroup,
    ComponentStatusChange,
    Incident,
    IncidentTemplate,
    IncidentUpdate,
    Page,
)

from .api_helpers import make_api

pytestmark = pytest.mark.django_db

# Statuspage's documented field sets (manage API v1), and ours beside them: the texts in other
# languages (`*_translations`, issue 14), added fields a Statuspage client ignores.
COMPONENT_FIELDS = {
    "id", "page_id", "group_id", "created_at", "updated_at", "group", "name", "description",
    "position", "status", "showcase", "only_show_if_degraded", "automation_email", "start_date",
    "name_translations",
    "visibility",  # ours (issue 16): public or customers
}  # fmt: skip
GROUP_FIELDS = {
    "id", "page_id", "name", "description", "components", "position", "created_at", "updated_at",
    "name_translations",
}  # fmt: skip
INCIDENT_FIELDS = {
    "id", "components", "created_at", "impact", "impact_override", "incident_updates",
    "metadata", "monitoring_at", "name", "page_id", "postmortem_body",
    "postmortem_body_last_updated_at", "postmortem_ignored", "postmortem_notified_subscribers",
    "postmortem_notified_twitter", "postmortem_published_at", "resolved_at",
    "scheduled_auto_completed", "scheduled_auto_in_progress", "scheduled_for",
    "auto_transition_deliver_notifications_at_end",
    "auto_transition_deliver_notifications_at_start", "auto_transition_to_maintenance_state",
    "auto_transition_to_operational_state", "scheduled_remind_prior", "scheduled_reminded_at",
    "scheduled_until", "shortlink", "status", "updated_at", "name_translations",
}  # fmt: skip
UPDATE_FIELDS = {
    "id", "incident_id", "affected_components", "body", "created_at", "custom_tweet",
    "deliver_notifications", "display_at", "status", "tweet_id", "twitter_updated_at",
    "updated_at", "wants_twitter_update", "body_translations",
}  # fmt: skip
PAGE_FIELDS = {
    "id", "created_at", "updated_at", "name", "page_description", "headline", "branding",
    "subdomain", "domain", "url", "support_url", "hidden_from_search", "allow_page_subscribers",
    "allow_incident_subscribers", "allow_email_subscribers", "allow_sms_subscribers",
    "allow_rss_atom_feeds", "allow_webhook_subscribers", "notifications_from_email",
    "notifications_email_footer", "activity_score", "twitter_username",
    "viewers_must_be_team_members", "ip_restrictions", "city", "state", "country", "time_zone",
}  # fmt: skip
TEMPLATE_FIELDS = {
    "id", "components", "name", "title", "body", "group_id", "update_status", "should_tweet",
    "should_send_notifications", "title_translations", "body_translations",
}  # fmt: skip


@pytest.fixture
def api(it_page, phone_page):
    return make_api("deploy-bot")[0]


def comp(page, name) -> Component:
    return Component.objects.get(page=page, name=name)


def assert_error(response, status, code, field=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert body["message"]
    if field is not None:
        assert body["field"] == field
    return body


# --- pages ------------------------------------------------------------------------------------


def test_pages_are_listed_with_their_slug_as_id(api, it_page, phone_page):
    response = api.get("pages")
    assert response.status_code == 200
    pages = response.json()
    assert [p["id"] for p in pages] == ["it", "telephony"]  # ordered by name
    assert set(pages[0]) >= PAGE_FIELDS
    assert pages[0]["name"] == "IT services" and pages[0]["subdomain"] == "it"
    assert pages[0]["time_zone"] == "Europe/Amsterdam"


def test_patching_a_page_saves_it_through_the_service(api, it_page):
    version = it_page.version
    response = api.patch(
        "pages/it", {"page": {"name": "IT", "time_zone": "UTC", "page_description": "All of IT"}}
    )
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "IT" and response.json()["headline"] == "All of IT"
    it_page.refresh_from_db()
    assert (it_page.name, it_page.time_zone, it_page.headline) == ("IT", "UTC", "All of IT")
    assert it_page.version == version + 1


def test_a_page_with_an_unknown_time_zone_is_refused(api):
    body = assert_error(
        api.patch("pages/it", {"page": {"time_zone": "Mars/Olympus"}}), 422, "invalid"
    )
    assert body["field"] == "page.time_zone"


def test_an_unknown_page_is_a_json_404(api):
    assert_error(api.get("pages/nope"), 404, "not_found")
    assert_error(api.get("pages/nope/components"), 404, "not_found")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_write_to_an_unknown_endpoint_is_a_json_404_not_a_csrf_page(api, method):
    assert_error(getattr(api, method)("pages/it/nothing-here"), 404, "not_found")


# --- components -------------------------------------------------------------------------------


def test_components_list_in_statuspage_shape(api, it_page):
    response = api.get("pages/it/components")
    assert response.status_code == 200
    components = response.json()
    assert [c["name"] for c in components] == ["Internet access", "VPN", "Email hosting"]
    first = components[0]
    assert set(first) == COMPONENT_FIELDS
    network = ComponentGroup.objects.get(page=it_page, name="Network")
    assert first["id"] == comp(it_page, "Internet access").public_id
    assert first["page_id"] == "it"
    assert first["group_id"] == network.public_id
    assert first["status"] == "operational"
    assert first["group"] is False and first["showcase"] is True
    assert components[2]["group_id"] is None


def test_creating_a_component_records_history_with_the_key_as_actor(api, it_page):
    response = api.post(
        "pages/it/components",
        {"component": {"name": "Printing", "status": "degraded_performance", "showcase": False}},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    printing = Component.objects.get(public_id=body["id"])
    assert (printing.name, printing.status, printing.is_visible) == (
        "Printing",
        "degraded_performance",
        False,
    )
    change = ComponentStatusChange.objects.get(component=printing)
    assert change.actor_name == "API key deploy-bot"


def test_patching_a_component_status_appends_history(api, it_page):
    vpn = comp(it_page, "VPN")
    response = api.patch(f"pages/it/components/{vpn.pk}", {"component": {"status": "major_outage"}})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "major_outage"
    change = ComponentStatusChange.objects.filter(component=vpn).latest("id")
    assert (change.old_status, change.new_status) == ("operational", "major_outage")


def test_put_moves_a_component_between_groups_and_accepts_int_ids(api, it_page):
    email = comp(it_page, "Email hosting")
    network = ComponentGroup.objects.get(page=it_page, name="Network")
    response = api.put(
        f"pages/it/components/{email.pk}",
        {"component": {"group_id": network.pk, "description": "Mailboxes"}},
    )
    assert response.status_code == 200, response.content
    email.refresh_from_db()
    assert email.group == network and email.description == "Mailboxes"
    assert response.json()["group_id"] == network.public_id


def test_deleting_a_component(api, it_page):
    vpn = comp(it_page, "VPN")
    response = api.delete(f"pages/it/components/{vpn.pk}")
    assert response.status_code == 204
    assert not Component.objects.filter(pk=vpn.pk).exists()


@pytest.mark.parametrize(
    "body, status, code, field",
    [
        (
            {"component": {"name": "X", "status": "on_fire"}},
            422,
            "invalid_choice",
            "component.status",
        ),
        ({"component": {"name": ""}}, 422, "blank", "component.name"),
        ({"component": {"name": "X" * 121}}, 422, "max_length", "component.name"),
        ({"component": {"name": "X", "group_id": "999999"}}, 422, "unknown_group", "group_id"),
        ({"component": {"name": "X", "group_id": "abc"}}, 422, "invalid", "component.group_id"),
        ({"component": {"name": "X", "position": -1}}, 422, "min_value", "component.position"),
        ({"component": {"name": 5, "showcase": "maybe"}}, 422, "invalid", "component.showcase"),
        ({"component": "Printing"}, 422, "invalid", "component"),
        ({"name": "Printing"}, 422, "required", "component"),
        ([1, 2], 422, "invalid", None),
        ({"component": {"name": "VPN", "group_id": None}}, 201, None, None),
    ],
)
def test_component_input_errors_are_one_json_shape(api, body, status, code, field):
    response = api.post("pages/it/components", body)
    if code is None:
        assert response.status_code == status
        return
    assert_error(response, status, code, field)


def test_a_duplicate_component_name_is_a_422_from_the_service(api, it_page):
    network = ComponentGroup.objects.get(page=it_page, name="Network")
    response = api.post(
        "pages/it/components", {"component": {"name": "VPN", "group_id": network.public_id}}
    )
    assert_error(response, 422, "duplicate", "name")


@pytest.mark.parametrize("component_id", ["abc", "0", "-1", "99999999999999999999999", "1.5"])
def test_unusable_component_ids_are_404_not_500(api, component_id):
    assert_error(api.get(f"pages/it/components/{component_id}"), 404, "not_found")
    assert_error(api.patch(f"pages/it/components/{component_id}", {}), 404, "not_found")


def test_another_pages_component_is_not_found(api, phone_page):
    inbound = comp(phone_page, "Inbound calls")
    assert_error(api.get(f"pages/it/components/{inbound.pk}"), 404, "not_found")


# --- component groups -------------------------------------------------------------------------


def test_component_groups_list_create_patch_delete(api, it_page):
    listed = api.get("pages/it/component-groups").json()
    assert len(listed) == 1 and set(listed[0]) == GROUP_FIELDS
    internet, vpn, email = (comp(it_page, n) for n in ("Internet access", "VPN", "Email hosting"))
    assert listed[0]["components"] == [internet.public_id, vpn.public_id]

    response = api.post(
        "pages/it/component-groups",
        {
            "description": "Office things",
            "component_group": {"name": "Office", "components": [email.public_id]},
        },
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["components"] == [email.public_id] and created["description"] == "Office things"
    email.refresh_from_db()
    assert email.group.public_id == created["id"]

    response = api.patch(
        f"pages/it/component-groups/{created['id']}",
        {"component_group": {"name": "Office IT", "components": [vpn.public_id]}},
    )
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Office IT"
    assert response.json()["components"] == [vpn.public_id]
    email.refresh_from_db()
    assert email.group_id is None

    response = api.delete(f"pages/it/component-groups/{created['id']}")
    assert response.status_code == 200 and response.json()["name"] == "Office IT"
    vpn.refresh_from_db()
    assert vpn.group_id is None and Component.objects.filter(pk=vpn.pk).exists()


def test_a_group_with_an_unknown_member_creates_nothing(api, it_page):
    response = api.post(
        "pages/it/component-groups",
        {"component_group": {"name": "Ghosts", "components": ["999999"]}},
    )
    assert_error(response, 422, "unknown_component", "components")
    assert not ComponentGroup.objects.filter(name="Ghosts").exists()


# --- incidents --------------------------------------------------------------------------------


def open_via_api(api, page, **incident):
    internet = comp(page, "Internet access")
    body = {
        "name": "Internet down",
        "status": "investigating",
        "body": "We are looking into it.",
        "components": {internet.public_id: "major_outage"},
        **incident,
    }
    response = api.post(f"pages/{page.slug}/incidents", {"incident": body})
    assert response.status_code == 201, response.content
    return response.json()


def test_opening_an_incident_sets_components_and_answers_statuspage_shape(api, it_page):
    version = it_page.version
    vpn = comp(it_page, "VPN")
    created = open_via_api(api, it_page, component_ids=[vpn.public_id], impact_override="major")
    assert set(created) == INCIDENT_FIELDS | {"started_at"}
    assert created["status"] == "investigating" and created["impact"] == "major"
    assert created["page_id"] == "it"
    incident = Incident.objects.get(public_id=created["id"])
    assert created["shortlink"].endswith(f"/p/it/incidents/{incident.pk}/")  # the permalink
    assert {c["name"] for c in created["components"]} == {"Internet access", "VPN"}
    (update,) = created["incident_updates"]
    assert set(update) == UPDATE_FIELDS
    assert update["body"] == "We are looking into it." and update["incident_id"] == created["id"]
    internet = comp(it_page, "Internet access")
    assert {"code": internet.public_id, "name": "Internet access", "old_status": "operational",
            "new_status": "major_outage"} in update["affected_components"]  # fmt: skip
    assert internet.status == "major_outage"
    it_page.refresh_from_db()
    assert it_page.version > version
    assert IncidentUpdate.objects.get(public_id=update["id"]).author_name == "API key deploy-bot"


def test_an_incident_without_a_body_gets_statuspages_default_message(api, it_page):
    response = api.post("pages/it/incidents", {"incident": {"name": "Slow VPN"}})
    assert response.status_code == 201, response.content
    update = response.json()["incident_updates"][0]
    assert update["status"] == "investigating"
    assert update["body"] == "We are currently investigating this issue."


def test_patching_status_and_body_posts_an_update_then_resolving_restores(api, it_page):
    created = open_via_api(api, it_page)
    path = f"pages/it/incidents/{created['id']}"
    response = api.patch(path, {"incident": {"status": "identified", "body": "A cut cable."}})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "identified"
    assert [u["status"] for u in body["incident_updates"]] == ["identified", "investigating"]

    response = api.patch(path, {"incident": {"status": "resolved"}})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "resolved" and body["resolved_at"]
    assert body["incident_updates"][0]["body"] == "This incident has been resolved."
    assert comp(it_page, "Internet access").status == "operational"


def test_resolving_twice_is_a_409_with_the_reason(api, it_page):
    created = open_via_api(api, it_page)
    path = f"pages/it/incidents/{created['id']}"
    api.patch(path, {"incident": {"status": "resolved"}})
    body = assert_error(
        api.patch(path, {"incident": {"status": "resolved", "body": "Again"}}),
        409,
        "invalid_transition",
        "status",
    )
    assert "resolved" in body["message"]


def test_an_open_status_on_a_resolved_incident_reopens_it(api, it_page):
    created = open_via_api(api, it_page)
    path = f"pages/it/incidents/{created['id']}"
    api.patch(path, {"incident": {"status": "resolved"}})
    response = api.patch(path, {"incident": {"status": "identified", "body": "It is back."}})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "identified"
    assert comp(it_page, "Internet access").status == "major_outage"


def test_maintenance_statuses_on_an_incident_are_refused(api, it_page):
    created = open_via_api(api, it_page)
    response = api.patch(
        f"pages/it/incidents/{created['id']}", {"incident": {"status": "verifying", "body": "x"}}
    )
    assert_error(response, 409, "invalid_transition", "status")


def test_renaming_and_changing_impact_posts_no_update(api, it_page):
    created = open_via_api(api, it_page)
    response = api.patch(
        f"pages/it/incidents/{created['id']}",
        {"incident": {"name": "Internet down in Utrecht", "impact_override": "minor"}},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "Internet down in Utrecht" and body["impact"] == "minor"
    assert len(body["incident_updates"]) == 1


def test_unknown_components_in_an_incident_are_refused_and_nothing_is_created(api, it_page):
    for incident in (
        {"name": "X", "body": "y", "components": {"999999": "major_outage"}},
        {"name": "X", "body": "y", "component_ids": ["999999"]},
    ):
        response = api.post("pages/it/incidents", {"incident": incident})
        assert_error(response, 422, "unknown_component", "components")
    response = api.post(
        "pages/it/incidents",
        {"incident": {"name": "X", "components": {"not-an-id": "major_outage"}}},
    )
    assert_error(response, 422, "invalid", "incident.components")
    assert not Incident.objects.exists()


def test_another_pages_component_cannot_be_put_in_an_incident(api, phone_page):
    inbound = comp(phone_page, "Inbound calls")
    response = api.post(
        "pages/it/incidents",
        {"incident": {"name": "X", "components": {inbound.public_id: "major_outage"}}},
    )
    assert_error(response, 422, "unknown_component", "components")


def test_fixing_a_typo_in_an_update(api, it_page):
    created = open_via_api(api, it_page)
    update_id = created["incident_updates"][0]["id"]
    response = api.patch(
        f"pages/it/incidents/{created['id']}/incident_updates/{update_id}",
        {"incident_update": {"body": "We are looking into it (fixed)."}},
    )
    assert response.status_code == 200, response.content
    assert set(response.json()) == UPDATE_FIELDS
    assert IncidentUpdate.objects.get(public_id=update_id).body == "We are looking into it (fixed)."
    other = open_via_api(api, it_page, name="Other")
    response = api.patch(
        f"pages/it/incidents/{other['id']}/incident_updates/{update_id}",
        {"incident_update": {"body": "Nope"}},
    )
    assert_error(response, 404, "not_found")


def test_incident_ids_are_public_ids_or_digits_so_list_names_never_reach_the_incidents(
    api, it_page
):
    # The fuzz run sent "active_maintenance" as an {incident_id}: a GET answered a list where
    # the schema promised one incident, a PATCH/DELETE a 405 the schema did not list.
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    operation = paths["/api/v1/pages/{page_id}/incidents/{incident_id}"]["get"]
    (incident_id,) = [p for p in operation["parameters"] if p["name"] == "incident_id"]
    assert incident_id["schema"]["pattern"] == "^(?:[a-z0-9]{12}|[0-9]+)$"
    assert_error(api.patch("pages/it/incidents/abc", {}), 404, "not_found")
    assert api.get("pages/it/incidents/active_maintenance").json() == []


def test_deleting_an_incident_gives_components_back(api, it_page):
    created = open_via_api(api, it_page)
    response = api.delete(f"pages/it/incidents/{created['id']}")
    assert response.status_code == 200 and response.json()["id"] == created["id"]
    assert not Incident.objects.filter(public_id=created["id"]).exists()
    assert comp(it_page, "Internet access").status == "operational"
    assert_error(api.get(f"pages/it/incidents/{created['id']}"), 404, "not_found")


def test_maintenance_lifecycle_through_the_api(api, it_page):
    vpn = comp(it_page, "VPN")
    start = timezone.now() + dt.timedelta(days=1)
    response = api.post(
        "pages/it/incidents",
        {
            "incident": {
                "name": "VPN upgrade",
                "status": "scheduled",
                "body": "We upgrade the VPN.",
                "scheduled_for": start.isoformat(),
                "scheduled_until": (start + dt.timedelta(hours=2)).isoformat(),
                "component_ids": [vpn.public_id],
            }
        },
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["status"] == "scheduled" and created["impact"] == "maintenance"
    assert created["scheduled_for"] and created["scheduled_until"]
    assert [i["id"] for i in api.get("pages/it/incidents/upcoming").json()] == [created["id"]]
    assert [i["id"] for i in api.get("pages/it/incidents/scheduled").json()] == [created["id"]]

    path = f"pages/it/incidents/{created['id']}"
    later = start + dt.timedelta(hours=1)
    response = api.patch(path, {"incident": {"scheduled_for": later.isoformat()}})
    assert response.status_code == 200, response.content
    assert Incident.objects.get(public_id=created["id"]).scheduled_for == later

    response = api.patch(path, {"incident": {"status": "in_progress"}})
    assert response.status_code == 200, response.content
    assert comp(it_page, "VPN").status == "under_maintenance"
    assert [i["id"] for i in api.get("pages/it/incidents/active_maintenance").json()] == [
        created["id"]
    ]
    response = api.patch(path, {"incident": {"status": "completed"}})
    assert response.status_code == 200, response.content
    assert comp(it_page, "VPN").status == "operational"
    assert api.get("pages/it/incidents/active_maintenance").json() == []


def test_maintenance_that_ends_before_it_starts_is_refused(api):
    start = timezone.now() + dt.timedelta(days=1)
    response = api.post(
        "pages/it/incidents",
        {
            "incident": {
                "name": "Backwards",
                "scheduled_for": start.isoformat(),
                "scheduled_until": (start - dt.timedelta(hours=1)).isoformat(),
            }
        },
    )
    assert_error(response, 422, "invalid", "scheduled_until")


def test_unresolved_lists_only_open_incidents(api, it_page):
    open_one = open_via_api(api, it_page, name="Open")
    closed = open_via_api(api, it_page, name="Closed")
    api.patch(f"pages/it/incidents/{closed['id']}", {"incident": {"status": "resolved"}})
    assert [i["id"] for i in api.get("pages/it/incidents/unresolved").json()] == [open_one["id"]]


def test_incidents_are_paginated_in_a_stable_order_and_searchable(api, it_page):
    ids = [open_via_api(api, it_page, name=f"Incident {n}")["id"] for n in range(5)]
    newest_first = list(reversed(ids))
    page1 = api.get("pages/it/incidents?per_page=2").json()
    page2 = api.get("pages/it/incidents?per_page=2&page=2").json()
    page3 = api.get("pages/it/incidents?per_page=2&page=3").json()
    assert [i["id"] for i in page1 + page2 + page3] == newest_first
    assert api.get("pages/it/incidents?page=4&per_page=2").json() == []
    assert [i["id"] for i in api.get("pages/it/incidents?limit=1").json()] == newest_first[:1]
    found = api.get("pages/it/incidents?q=incident 3").json()
    assert [i["id"] for i in found] == [ids[3]]
    api.patch(f"pages/it/incidents/{ids[1]}", {"incident": {"body": "The router in Zwolle."}})
    assert [i["id"] for i in api.get("pages/it/incidents?q=zwolle").json()] == [ids[1]]


@pytest.mark.parametrize("query", ["per_page=0", "per_page=101", "page=0", "page=x", "per_page=-5"])
def test_bad_paging_is_a_422(api, query):
    assert_error(api.get(f"pages/it/incidents?{query}"), 422, "invalid")


def test_incident_list_queries_do_not_grow_with_incidents(
    api, it_page, django_assert_max_num_queries
):
    for n in range(3):
        open_via_api(api, it_page, name=f"Incident {n}")
    # key lookup, page lookup, incidents, their updates, their affected components (+ components)
    with django_assert_max_num_queries(6):
        few = api.get("pages/it/incidents")
    for n in range(12):
        open_via_api(api, it_page, name=f"More {n}")
    with django_assert_max_num_queries(6):
        many = api.get("pages/it/incidents")
    assert len(few.json()) == 3 and len(many.json()) == 15


def test_component_list_queries_are_fixed(api, it_page, django_assert_max_num_queries):
    for n in range(20):
        services.create_component(it_page, actor=None, name=f"Extra {n}")
    # key, page, components, + the last_used update inside its own savepoint (SAVEPOINT,
    # UPDATE, RELEASE: a read-only database must not fail authentication)
    with django_assert_max_num_queries(6):
        response = api.get("pages/it/components")
    assert len(response.json()) == 23


# --- templates --------------------------------------------------------------------------------


def test_incident_templates_create_and_list(api, it_page):
    vpn = comp(it_page, "VPN")
    response = api.post(
        "pages/it/incident_templates",
        {
            "template": {
                "name": "VPN flaky",
                "title": "VPN connections drop",
                "body": "We are looking at the VPN concentrator.",
                "update_status": "identified",
                "component_ids": [vpn.public_id],
            }
        },
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert set(created) >= TEMPLATE_FIELDS
    assert created["update_status"] == "identified"
    assert [c["id"] for c in created["components"]] == [vpn.public_id]
    template = IncidentTemplate.objects.get(public_id=created["id"])
    assert list(template.components.all()) == [vpn]
    assert [t["name"] for t in api.get("pages/it/incident_templates").json()] == ["VPN flaky"]
    again = api.post(
        "pages/it/incident_templates",
        {"template": {"name": "VPN flaky", "title": "t", "body": "b"}},
    )
    assert_error(again, 422, "duplicate", "name")


# --- idempotency ------------------------------------------------------------------------------


def test_a_retried_post_with_the_same_idempotency_key_creates_nothing_twice(api, it_page):
    body = {"incident": {"name": "Retry me", "body": "First try."}}
    headers = {"Idempotency-Key": "alert-42"}
    first = api.post("pages/it/incidents", body, headers=headers)
    second = api.post("pages/it/incidents", body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Incident.objects.filter(name="Retry me").count() == 1
    other = api.post("pages/it/incidents", body, headers={"Idempotency-Key": "alert-43"})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


def test_an_idempotency_key_reused_for_another_request_is_refused(api, it_page):
    headers = {"Idempotency-Key": "same"}
    api.post("pages/it/incidents", {"incident": {"name": "A"}}, headers=headers)
    response = api.post("pages/it/incidents", {"incident": {"name": "B"}}, headers=headers)
    assert_error(response, 422, "idempotency_key_reused")
    assert not Incident.objects.filter(name="B").exists()


def test_a_failed_post_is_not_remembered(api, it_page):
    headers = {"Idempotency-Key": "try-again"}
    assert (
        api.post("pages/it/incidents", {"incident": {"name": ""}}, headers=headers).status_code
        == 422
    )
    response = api.post("pages/it/incidents", {"incident": {"name": "Now right"}}, headers=headers)
    assert response.status_code == 201


def test_idempotency_keys_are_per_api_key(api, it_page):
    other_api = make_api("other")[0]
    body = {"incident": {"name": "Same key, two clients"}}
    api.post("pages/it/incidents", body, headers={"Idempotency-Key": "k"})
    other_api.post("pages/it/incidents", body, headers={"Idempotency-Key": "k"})
    assert Incident.objects.filter(name="Same key, two clients").count() == 2


def test_expired_idempotency_keys_are_forgotten(api, it_page):
    import time_machine

    body = {"incident": {"name": "Daily check"}}
    api.post("pages/it/incidents", body, headers={"Idempotency-Key": "daily"})
    with time_machine.travel(timezone.now() + dt.timedelta(days=2)):
        response = api.post("pages/it/incidents", body, headers={"Idempotency-Key": "daily"})
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert Incident.objects.filter(name="Daily check").count() == 2


# --- malformed requests -----------------------------------------------------------------------


def test_malformed_json_is_a_400_in_the_error_shape(api):
    response = api.post("pages/it/incidents", raw=b'{"incident": {"name": ')
    assert_error(response, 400, "parse_error")


def test_a_non_json_body_is_a_415(api):
    response = api.client.post(
        "/api/v1/pages/it/incidents", data="name=x", content_type="text/plain", headers=api.headers
    )
    assert_error(response, 415, "unsupported_media_type")


def test_an_oversized_body_is_a_413(api, settings):
    settings.API_MAX_BODY_BYTES = 10_000
    body = {"incident": {"name": "Big", "body": "x" * 20_000}}
    assert_error(api.post("pages/it/incidents", body), 413, "too_large")
    assert not Incident.objects.exists()


def test_a_message_longer_than_the_limit_is_a_422(api):
    body = {"incident": {"name": "Long", "body": "x" * 20_001}}
    assert_error(api.post("pages/it/incidents", body), 422, "max_length", "incident.body")


def test_nul_characters_and_wrong_types_are_422_not_500(api):
    assert_error(
        api.post("pages/it/components", {"component": {"name": "a\x00b"}}),
        422,
        "null_characters_not_allowed",
    )
    assert_error(
        api.post("pages/it/incidents", {"incident": {"name": ["x"], "deliver_notifications": 3}}),
        422,
        "invalid",
    )
    assert_error(api.get("pages/it/incidents?q=a%00b"), 422, "invalid")


def test_unknown_api_paths_are_json_404s(api):
    assert_error(api.get("nothing/here"), 404, "not_found")
    # A line break in the path (found by the schema fuzzer) is still the API's JSON 404.
    assert_error(api.get("pages/it/component-groups/%0Ax"), 404, "not_found")


def test_writes_through_the_api_are_indistinguishable_from_the_admins(
    api, it_page, django_capture_on_commit_callbacks
):
    """Same version bump, history and one domain event: the API only calls the services."""
    import json

    from incidents.events import domain_event

    seen = []

    def listen(sender, event, **kwargs):
        seen.append(json.loads(json.dumps(event.as_dict())))

    domain_event.connect(listen, dispatch_uid="api-test")
    try:
        version = Page.objects.get(pk=it_page.pk).version
        with django_capture_on_commit_callbacks(execute=True):
            created = open_via_api(api, it_page)
    finally:
        domain_event.disconnect(dispatch_uid="api-test")
    assert Page.objects.get(pk=it_page.pk).version == version + 1
    assert [e["type"] for e in seen] == ["incident.created"]
    assert seen[0]["data"]["incident"]["public_id"] == created["id"]


def test_changing_only_components_of_an_incident_needs_a_message(api, it_page):
    created = open_via_api(api, it_page)
    vpn = comp(it_page, "VPN")
    path = f"pages/it/incidents/{created['id']}"
    body = {"incident": {"components": {vpn.public_id: "degraded_performance"}}}
    response = api.patch(path, body)
    assert_error(response, 422, "required", "body")
    response = api.patch(
        path,
        {
            "incident": {
                "body": "VPN slow too.",
                "components": {vpn.public_id: "degraded_performance"},
            }
        },
    )
    assert response.status_code == 200
    assert comp(it_page, "VPN").status == "degraded_performance"


# --- schema and docs --------------------------------------------------------------------------


def test_the_schema_and_docs_page_are_served_without_a_cdn(client):
    from django.contrib.staticfiles import finders

    schema = client.get("/api/v1/schema/", headers={"Accept": "application/json"})
    assert schema.status_code == 200
    document = schema.json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/pages/{page_id}/incidents" in document["paths"]
    assert "api_key" in document["components"]["securitySchemes"]
    docs = client.get("/api/v1/docs/").content.decode()
    assert "swagger-ui" in docs and "/static/drf_spectacular_sidecar/" in docs
    assert "cdn" not in docs.lower() and "unpkg" not in docs.lower()
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert client.get("/api/v1/redoc/").status_code == 200


def test_hostile_inputs_are_4xx_not_500(api):
    """What a fuzzer or an attacker sends: NUL bytes, deep nesting, junk keys."""
    deep = b"[" * 50_000 + b"]" * 50_000
    assert_error(api.post("pages/it/incidents", raw=deep), 400, "parse_error")
    assert_error(api.get("pages/a%00b/components"), 404, "not_found")
    assert_error(api.get("pages/%E2%98%83"), 404, "not_found")
    response = api.client.get(
        "/api/v1/pages", headers={"Authorization": "OAuth abc\x00defghijklmnop"}
    )
    assert response.status_code == 401
    body = {"incident": {"name": "x"}}
    assert_error(
        api.post("pages/it/incidents", body, headers={"Idempotency-Key": "é"}), 422, "invalid"
    )
    assert_error(
        api.post("pages/it/incidents", body, headers={"Idempotency-Key": "k" * 256}), 422, "invalid"
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_idempotency_key_create_one_incident(live_server, it_page):
    """Two copies of one POST racing on a live server (PostgreSQL: real parallel transactions)."""
    from concurrent.futures import ThreadPoolExecutor

    import requests
    from django.db import connection

    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    from incidents.api.authentication import create_api_key

    raw = create_api_key("racer")[1]

    def post(_):
        return requests.post(
            f"{live_server.url}/api/v1/pages/it/incidents",
            json={"incident": {"name": "Raced", "body": "Twice at once."}},
            headers={"Authorization": f"OAuth {raw}", "Idempotency-Key": "race-1"},
            timeout=30,
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(post, range(4)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 3
    assert Incident.objects.filter(name="Raced").count() == 1


def test_put_behaves_as_patch_everywhere_statuspage_offers_it(api, it_page):
    """Statuspage documents PUT next to PATCH with the same bodies; both update in place."""
    assert api.put("pages/it", {"page": {"name": "IT (put)"}}).json()["name"] == "IT (put)"
    group_id = api.get("pages/it/component-groups").json()[0]["id"]
    assert api.get(f"pages/it/component-groups/{group_id}").json()["name"] == "Network"
    response = api.put(
        f"pages/it/component-groups/{group_id}", {"component_group": {"name": "Net"}}
    )
    assert response.status_code == 200 and response.json()["name"] == "Net"
    created = open_via_api(api, it_page)
    response = api.put(
        f"pages/it/incidents/{created['id']}",
        {"incident": {"status": "monitoring", "body": "Watching."}},
    )
    assert response.status_code == 200 and response.json()["status"] == "monitoring"
    update_id = response.json()["incident_updates"][0]["id"]
    response = api.put(
        f"pages/it/incidents/{created['id']}/incident_updates/{update_id}",
        {"incident_update": {"body": "Watching closely."}},
    )
    assert response.status_code == 200 and response.json()["body"] == "Watching closely."
    single = api.get(f"pages/it/incidents/{created['id']}").json()
    assert single["incident_updates"][0]["body"] == "Watching closely."
