"""The public read API (Statuspage v2 shapes), built from the page snapshot: documents field by
field, page resolution, visibility, ETag/304, caching headers, CORS and bounded queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import Component

from .factories import make_component, make_page

pytestmark = pytest.mark.django_db

PAGE_FIELDS = {"id", "name", "url", "time_zone", "updated_at"}
COMPONENT_FIELDS = {
    "id", "name", "status", "created_at", "updated_at", "position", "description", "showcase",
    "start_date", "group_id", "page_id", "group", "only_show_if_degraded",
}  # fmt: skip
INCIDENT_FIELDS = {
    "id", "name", "status", "created_at", "updated_at", "monitoring_at", "resolved_at", "impact",
    "shortlink", "started_at", "page_id", "incident_updates", "components",
}  # fmt: skip
UPDATE_FIELDS = {
    "id", "status", "body", "incident_id", "created_at", "updated_at", "display_at",
    "affected_components", "deliver_notifications", "custom_tweet", "tweet_id",
}  # fmt: skip
ENDPOINTS = [
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
]


def comp(page, name):
    return Component.objects.get(page=page, name=name)


@pytest.fixture
def busy_it_page(it_page):
    """The IT page with an open incident, a resolved one, upcoming and active maintenance."""
    internet, vpn, email = (comp(it_page, n) for n in ("Internet access", "VPN", "Email hosting"))
    services.open_incident(
        it_page, actor=None, name="Internet down", body="Looking.",
        components={internet.pk: "partial_outage"},
    )  # fmt: skip
    old = services.open_incident(it_page, actor=None, name="Old problem", body="Hm.")
    services.resolve_incident(old, actor=None)
    now = timezone.now()
    services.schedule_maintenance(
        it_page, actor=None, name="Mail move", body="Moving mail.",
        scheduled_for=now + dt.timedelta(days=2), scheduled_until=now + dt.timedelta(days=3),
        components=[email.pk],
    )  # fmt: skip
    active = services.schedule_maintenance(
        it_page, actor=None, name="VPN patch", body="Patching.",
        scheduled_for=now - dt.timedelta(minutes=5), scheduled_until=now + dt.timedelta(hours=1),
        components=[vpn.pk],
    )  # fmt: skip
    services.start_maintenance(active, actor=None)
    it_page.refresh_from_db()
    return it_page


def get(client, path, **headers):
    return client.get(path, headers=headers)


def test_summary_has_statuspages_shape_field_by_field(client, busy_it_page):
    response = get(client, "/api/v2/summary.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    doc = response.json()
    assert set(doc) == {"page", "status", "components", "incidents", "scheduled_maintenances"}
    assert set(doc["page"]) == PAGE_FIELDS
    assert doc["page"]["id"] == "it" and doc["page"]["url"].endswith("/p/it")
    assert doc["status"] == {"indicator": "major", "description": "Partial System Outage"}

    group, internet, vpn, email = doc["components"]
    assert set(internet) == COMPONENT_FIELDS
    assert set(group) == COMPONENT_FIELDS | {"components"}
    assert group["group"] is True and group["name"] == "Network"
    assert group["components"] == [internet["id"], vpn["id"]]
    assert internet["group_id"] == group["id"] and email["group_id"] is None
    assert internet["status"] == "partial_outage" and vpn["status"] == "under_maintenance"
    assert isinstance(internet["id"], str) and internet["page_id"] == "it"

    (incident,) = doc["incidents"]
    # Ours: the published postmortem (null until then), as the management API names it.
    assert set(incident) == INCIDENT_FIELDS | {"postmortem_body", "postmortem_published_at"}
    assert incident["postmortem_body"] is None
    assert incident["name"] == "Internet down" and incident["impact"] == "major"
    (update,) = incident["incident_updates"]
    assert set(update) == UPDATE_FIELDS
    assert update["incident_id"] == incident["id"]
    assert update["affected_components"] == [
        {"code": internet["id"], "name": "Internet access",
         "old_status": "operational", "new_status": "partial_outage"}
    ]  # fmt: skip
    assert [c["id"] for c in incident["components"]] == [internet["id"]]

    names = [m["name"] for m in doc["scheduled_maintenances"]]
    assert names == ["VPN patch", "Mail move"]  # active first, then upcoming
    for maintenance in doc["scheduled_maintenances"]:
        assert set(maintenance) == INCIDENT_FIELDS | {"scheduled_for", "scheduled_until"}
        assert maintenance["impact"] == "maintenance"


def test_each_document_holds_what_statuspage_puts_there(client, busy_it_page):
    def names(path, key):
        return [i["name"] for i in get(client, f"/api/v2/{path}").json()[key]]

    status = get(client, "/api/v2/status.json").json()
    assert set(status) == {"page", "status"}
    components = get(client, "/api/v2/components.json").json()
    assert set(components) == {"page", "components"} and len(components["components"]) == 4
    assert names("incidents.json", "incidents") == ["Old problem", "Internet down"]
    assert names("incidents/unresolved.json", "incidents") == ["Internet down"]
    assert set(names("scheduled-maintenances.json", "scheduled_maintenances")) == {
        "VPN patch",
        "Mail move",
    }
    assert names("scheduled-maintenances/upcoming.json", "scheduled_maintenances") == ["Mail move"]
    assert names("scheduled-maintenances/active.json", "scheduled_maintenances") == ["VPN patch"]


def test_incidents_json_lists_newest_first(client, it_page):
    for n in range(3):
        services.open_incident(it_page, actor=None, name=f"Incident {n}", body="x")
    names = [i["name"] for i in get(client, "/api/v2/incidents.json").json()["incidents"]]
    assert names == ["Incident 2", "Incident 1", "Incident 0"]


def test_a_quiet_page_says_all_systems_operational(client, phone_page):
    doc = get(client, "/p/telephony/api/v2/summary.json").json()
    assert doc["status"] == {"indicator": "none", "description": "All Systems Operational"}
    assert doc["incidents"] == [] and doc["scheduled_maintenances"] == []


def test_the_page_comes_from_the_slug_the_host_or_the_default(
    client, it_page, phone_page, settings
):
    settings.SITE_URL = "https://status.example.com"  # a custom host gets SITE_URL's scheme
    phone_page.custom_host = "status.phones.example.com"
    services.save_page(phone_page, actor=None)
    assert get(client, "/api/v2/status.json").json()["page"]["id"] == "it"  # the default
    by_slug = get(client, "/p/telephony/api/v2/status.json").json()
    assert by_slug["page"]["id"] == "telephony"
    by_host = client.get("/api/v2/status.json", HTTP_HOST="status.phones.example.com").json()
    assert by_host["page"] == {**by_slug["page"], "url": "https://status.phones.example.com"}
    assert get(client, "/p/nope/api/v2/status.json").status_code == 404


def test_hidden_components_never_appear(client, it_page):
    secret = make_component(it_page, "Secret backend", is_visible=False)
    services.open_incident(
        it_page, actor=None, name="Backend trouble", body="x",
        components={secret.pk: "major_outage"},
    )  # fmt: skip
    doc = get(client, "/api/v2/summary.json").json()
    assert "Secret backend" not in {c["name"] for c in doc["components"]}
    # An incident about hidden components only is internal: it is not public at all (issue 13).
    assert doc["incidents"] == []
    # One that also affects a visible component shows, with the visible one only.
    vpn = it_page.components.get(name="VPN")
    services.open_incident(
        it_page, actor=None, name="Backend and VPN trouble", body="x",
        components={secret.pk: "major_outage", vpn.pk: "partial_outage"},
    )  # fmt: skip
    doc = get(client, "/api/v2/summary.json").json()
    (incident,) = doc["incidents"]
    assert [c["name"] for c in incident["components"]] == ["VPN"]
    assert [c["name"] for c in incident["incident_updates"][0]["affected_components"]] == ["VPN"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_etag_304_cache_control_and_cors(client, it_page, endpoint):
    path = f"/api/v2/{endpoint}"
    first = get(client, path)
    assert first.status_code == 200
    etag = first["ETag"]
    assert str(it_page.version) in etag
    assert first["Access-Control-Allow-Origin"] == "*"
    cache_control = {part.strip() for part in first["Cache-Control"].split(",")}
    assert {"public", "max-age=10", "stale-while-revalidate=60"} <= cache_control
    again = get(client, path, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag and again["Access-Control-Allow-Origin"] == "*"

    services.open_incident(it_page, actor=None, name="Changed", body="x")
    changed = get(client, path, **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_preflight_and_writes(client, it_page):
    preflight = client.options("/api/v2/summary.json")
    assert preflight.status_code == 204 and preflight["Access-Control-Allow-Origin"] == "*"
    assert client.post("/api/v2/summary.json").status_code == 405


def test_cors_is_only_on_the_public_api(client, it_page):
    assert "Access-Control-Allow-Origin" not in client.get("/api/v1/pages")
    assert "Access-Control-Allow-Origin" not in client.get("/")


def test_a_304_needs_no_snapshot(client, it_page, django_assert_max_num_queries):
    etag = get(client, "/api/v2/summary.json")["ETag"]
    with django_assert_max_num_queries(2):  # the page by host, then the default page
        assert get(client, "/api/v2/summary.json", **{"If-None-Match": etag}).status_code == 304


def fill(page, components: int, incidents: int):
    for n in range(components):
        make_component(page, f"Extra {n}")
    ids = list(Component.objects.filter(page=page).values_list("pk", flat=True))
    for n in range(incidents):
        services.open_incident(
            page, actor=None, name=f"Incident {n}", body="x",
            components={ids[n % len(ids)]: "degraded_performance"},
        )  # fmt: skip


@pytest.mark.parametrize("endpoint", ["summary.json", "incidents.json", "components.json"])
def test_queries_do_not_grow_with_the_page(client, django_assert_max_num_queries, endpoint):
    from django.core.cache import cache

    small = make_page(slug="small", name="Small")
    big = make_page(slug="big", name="Big")
    fill(small, components=2, incidents=1)
    fill(big, components=60, incidents=30)
    # page by slug, then the snapshot: components, groups, hours, 2 id lists, incidents,
    # updates, affected components, and 2 for the uptime bars (11 in all, or none when cached)
    for slug in ("small", "big"):
        cache.clear()
        with django_assert_max_num_queries(11):
            response = get(client, f"/p/{slug}/api/v2/{endpoint}")
        assert response.status_code == 200
        with django_assert_max_num_queries(1):  # cached snapshot: only the page lookup
            get(client, f"/p/{slug}/api/v2/{endpoint}")
    assert len(get(client, "/p/big/api/v2/components.json").json()["components"]) == 60
