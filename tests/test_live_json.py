"""live.json: the status page's live sections for the page script's catch-up and polling."""

from __future__ import annotations

import json

import pytest

from incidents import services
from incidents.events import DomainEvent
from incidents.models import Component
from notifications.live import live_messages

pytestmark = pytest.mark.django_db


def test_live_json_has_the_sections_and_an_etag_of_the_version(client, it_page):
    response = client.get("/p/it/live.json")
    assert response.status_code == 200
    assert response["ETag"] == f'"{it_page.cache_key}-en"'
    # Proxies may serve the last copy while we answer errors (issue 12).
    assert response["Cache-Control"] == "no-cache, stale-if-error=86400"
    assert "Accept-Language" in response["Vary"]
    state = response.json()
    assert state["version"] == it_page.version
    assert set(state["html"]) == {"banner", "incidents", "maintenance", "components", "recent"}
    assert 'data-live="components"' in state["html"]["components"]
    assert "Internet access" in state["html"]["components"]
    assert state["title"] == "IT services — Status"


def test_an_unchanged_page_answers_304_without_building_anything(
    client, it_page, django_assert_max_num_queries
):
    etag = client.get("/p/it/live.json")["ETag"]
    with django_assert_max_num_queries(1):  # the page by slug; no snapshot, no rendering
        response = client.get("/p/it/live.json", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert response["ETag"] == etag


def test_a_change_gives_a_new_etag_and_the_new_state(client, it_page):
    etag = client.get("/p/it/live.json")["ETag"]
    vpn = Component.objects.get(page=it_page, name="VPN")
    services.set_component_status(vpn, "major_outage", actor=None)
    response = client.get("/p/it/live.json", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response["ETag"] != etag
    state = response.json()
    assert "status--major_outage" in state["html"]["components"]
    assert state["title"].startswith("(Major system outage)")


def test_the_etag_and_sections_follow_the_visitors_language(client, it_page):
    response = client.get("/live.json", HTTP_ACCEPT_LANGUAGE="nl")
    assert response["ETag"] == f'"{it_page.cache_key}-nl"'
    assert response.json()["language"] == "nl"
    assert "Actuele storingen" in response.json()["html"]["incidents"]  # Dutch labels
    # The root mount links to its own prefix.
    assert 'href="/history/"' in response.json()["html"]["recent"]


def test_pushed_sections_are_what_live_json_and_the_page_show(client, it_page):
    """The push renders the same includes as the page: a client ends where a reload would."""
    vpn = Component.objects.get(page=it_page, name="VPN")
    services.set_component_status(vpn, "partial_outage", actor=None)
    it_page.refresh_from_db()
    event = DomainEvent(it_page.pk, "it", it_page.version, "component.updated", {})
    for language in ("en", "nl"):
        pushed = json.loads(live_messages(it_page, event)[language])
        fetched = client.get("/p/it/live.json", HTTP_ACCEPT_LANGUAGE=language).json()
        assert pushed["html"] == fetched["html"]
        assert pushed["title"] == fetched["title"]
        page = client.get("/p/it/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
        for section in ("banner", "incidents", "recent"):
            assert pushed["html"][section] in page
        assert "data-component" in pushed["html"]["components"]
        assert "uptime-bars" not in pushed["html"]["components"]  # the page keeps its own
        assert f'data-version="{it_page.version}"' in page
        assert f'<meta name="live-etag" content="&quot;{it_page.cache_key}-{language}' in page


def test_the_status_page_loads_the_live_script_deferred(client, it_page):
    page = client.get("/p/it/").content.decode()
    assert 'src="/static/statuspage/live.js" defer' in page
    assert 'id="live-announcer"' in page and 'aria-live="polite"' in page
