"""The public status page: what it shows, in which language, for which host, and how cheaply."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache

from incidents import services
from incidents.models import Component, Page
from incidents.snapshot import PageSnapshot, build_page_snapshot, page_snapshot

from .factories import make_component, make_group, make_page, office_hours

pytestmark = pytest.mark.django_db


def component(page, name):
    return Component.objects.get(page=page, name=name)


def test_the_default_page_is_served_at_the_root_and_by_slug(client, it_page, phone_page):
    root = client.get("/")
    assert root.status_code == 200
    assert "IT services" in root.content.decode()
    assert 'href="/p/telephony/"' in root.content.decode()  # links to the other pages
    by_slug = client.get("/p/telephony/")
    assert "Inbound calls" in by_slug.content.decode()
    assert client.get("/p/nope/").status_code == 404


def test_a_custom_host_shows_its_own_page_at_the_root(client, it_page, phone_page):
    phone_page.custom_host = "phone-status.example.com"
    services.save_page(phone_page, actor=None)
    own = client.get("/", HTTP_HOST="phone-status.example.com")
    assert "Inbound calls" in own.content.decode()
    other = client.get("/", HTTP_HOST="status.example.com")
    assert "Internet access" in other.content.decode()  # not a page's host: the default page


def test_banner_components_and_open_incident_with_its_timeline(client, it_page, alice):
    internet = component(it_page, "Internet access")
    incident = services.open_incident(
        it_page,
        actor=alice,
        name="Fibre cut near Utrecht",
        body="We are investigating.",
        components={internet.pk: "major_outage"},
    )
    services.post_update(incident, actor=alice, status="identified", body="Carrier on site.")
    html = client.get("/p/it/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Major system outage" in html
    assert "Fibre cut near Utrecht" in html
    assert html.index("Carrier on site.") < html.index("We are investigating.")  # newest first
    assert "Major outage" in html  # status in words, not colour alone
    assert "there is no need to call or email us about it" in html
    detail = client.get(f"/p/it/incidents/{incident.pk}/").content.decode()
    assert "Carrier on site." in detail and "<h1" in detail


def test_all_operational_and_hidden_components_stay_hidden(client, it_page):
    make_component(it_page, "Secret probe", is_visible=False)
    html = client.get("/").content.decode()
    assert "All systems operational" in html
    assert "Secret probe" not in html


def test_an_incident_of_another_page_is_not_found(client, it_page, phone_page, alice):
    incident = services.open_incident(phone_page, actor=alice, name="Calls", body="x")
    assert client.get(f"/p/it/incidents/{incident.pk}/").status_code == 404
    assert client.get(f"/p/telephony/incidents/{incident.pk}/").status_code == 200


def test_messages_are_rendered_as_markdown_and_sanitized(client, it_page, alice):
    services.open_incident(
        it_page,
        actor=alice,
        name="XSS attempt",
        body="**Bold** <script>alert(1)</script> [bad](javascript:alert(2)) "
        '<img src=x onerror="alert(3)"> [good](https://example.com)',
    )
    html = client.get("/").content.decode()
    assert "<strong>Bold</strong>" in html
    assert "<script>alert(1)" not in html
    assert 'href="javascript:' not in html
    assert "<img" not in html
    assert 'href="https://example.com" rel="noopener noreferrer nofollow"' in html


def test_history_is_paginated_by_month_newest_first(client, it_page, alice):
    with time_machine.travel(dt.datetime(2026, 9, 10, 12, tzinfo=dt.UTC), tick=False):
        old = services.open_incident(it_page, actor=alice, name="September outage", body="x")
        services.resolve_incident(old, actor=alice)
    with time_machine.travel(dt.datetime(2026, 11, 2, 12, tzinfo=dt.UTC), tick=False):
        services.open_incident(it_page, actor=alice, name="November outage", body="x")
        november = client.get("/history/").content.decode()
    assert "November outage" in november and "September outage" not in november
    assert 'href="/history/2026/9/"' in november
    september = client.get("/history/2026/9/").content.decode()
    assert "September outage" in september and 'href="/history/2026/11/"' in september
    assert client.get("/history/2026/13/").status_code == 404
    assert client.get("/history/2026/0/").status_code == 404  # not the current month
    assert client.get("/history/0/0/").status_code == 404


class TestLanguage:
    def test_accept_language_chooses_dutch(self, client, it_page):
        response = client.get("/", HTTP_ACCEPT_LANGUAGE="nl-NL,nl;q=0.9,en;q=0.5")
        html = response.content.decode()
        assert '<html lang="nl">' in html
        assert "Alle systemen werken" in html
        assert response["Content-Language"] == "nl"
        assert "Accept-Language" in response["Vary"]

    def test_the_page_default_applies_without_a_preference(self, client, phone_page):
        html = client.get("/p/telephony/").content.decode()
        assert '<html lang="nl">' in html

    def test_an_explicit_choice_beats_accept_language(self, client, it_page):
        switch = client.get("/language/nl/", {"next": "/p/it/"})
        assert switch.status_code == 302 and switch["Location"] == "/p/it/"
        html = client.get("/p/it/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert '<html lang="nl">' in html

    def test_the_switch_refuses_to_redirect_elsewhere(self, client, it_page):
        assert client.get("/language/en/", {"next": "https://evil.test/"})["Location"] == "/"

    def test_every_public_string_is_translated(self, client, it_page, alice):
        internet = component(it_page, "Internet access")
        services.open_incident(
            it_page, actor=alice, name="Storing", body="x", components={internet.pk: "major_outage"}
        )
        office_hours(it_page)
        it_page.after_hours_phone = "+31 20 555 0199"
        services.save_page(it_page, actor=None)
        html = client.get("/", HTTP_ACCEPT_LANGUAGE="nl").content.decode()
        for english in [
            "Major system outage",
            "Current incidents",
            "Services",
            "Operational",
            "Problem not listed here?",
            "Opening hours",
            "Incident history",
            "Investigating",
            "Major outage",
        ]:
            assert f">{english}<" not in html and f"{english}" not in html, english


class TestSupportDesk:
    @pytest.fixture
    def page(self, it_page):
        office_hours(it_page)  # Monday–Friday 08:00–17:30, Europe/Amsterdam
        return it_page

    def test_open_during_office_hours(self, client, page):
        # Wednesday 2026-11-25 10:00 in Amsterdam (09:00 UTC)
        with time_machine.travel(dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC), tick=False):
            html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "Open now, until 17:30" in html

    def test_closed_at_the_weekend_says_when_it_opens(self, client, page):
        # Saturday 2026-11-28 12:00 UTC
        with time_machine.travel(dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC), tick=False):
            html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
            dutch = client.get("/", HTTP_ACCEPT_LANGUAGE="nl").content.decode()
        assert "Closed, opens Monday 08:00" in html
        assert "Gesloten, open maandag 08:00" in dutch


def test_snapshot_query_count_does_not_grow_with_the_page(django_assert_num_queries, alice):
    small = make_page(slug="small")
    only = make_component(small, "Only one")
    services.open_incident(
        small, actor=alice, name="One", body="x", components={only.pk: "major_outage"}
    )
    big = make_page(slug="big")
    groups = [make_group(big, f"Group {g}") for g in range(5)]
    components = [make_component(big, f"C{n}", group=groups[n % 5]) for n in range(50)]
    for i in range(10):
        incident = services.open_incident(
            big,
            actor=alice,
            name=f"Incident {i}",
            body="x",
            components={components[i].pk: "partial_outage", components[i + 10].pk: "major_outage"},
        )
        for u in range(9):
            services.post_update(incident, actor=alice, status="identified", body=f"Update {u}")
    big.refresh_from_db()
    small.refresh_from_db()
    # components, groups, opening hours, recent incident ids, recent maintenance ids,
    # incidents, their updates, their affected components, uptime rows, incidents per day
    with django_assert_num_queries(10):
        small_snapshot = build_page_snapshot(small)
    with django_assert_num_queries(10):
        big_snapshot = build_page_snapshot(big)
    assert len(small_snapshot.components) == 1
    assert len(big_snapshot.components) == 50
    assert len(big_snapshot.unresolved_ids) == 10
    assert sum(len(i.incident_updates) for i in big_snapshot.incidents.values()) == 100


def test_the_public_page_costs_two_queries_once_the_snapshot_is_cached(
    client, it_page, django_assert_max_num_queries
):
    client.get("/")  # builds and caches the snapshot
    # the page lookup by host or default, plus the other pages' names (cached after first use)
    with django_assert_max_num_queries(2):
        assert client.get("/").status_code == 200


def test_a_change_invalidates_the_cached_page_at_once(client, it_page, alice):
    assert "All systems operational" in client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    services.set_component_status(component(it_page, "VPN"), "partial_outage", actor=alice)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Partial system outage" in html
    cache.clear()


def test_the_page_works_for_a_page_without_components_or_hours(client, db):
    page = make_page(slug="empty", name="Empty", is_default=True)
    assert client.get("/").status_code == 200
    assert Page.objects.get(pk=page.pk)


def test_a_revalidation_with_the_etag_is_answered_304(client, it_page, alice):
    first = client.get("/p/it/", HTTP_ACCEPT_LANGUAGE="en")
    etag = first["ETag"]
    assert "s-maxage" in first["Cache-Control"]
    again = client.get("/p/it/", HTTP_ACCEPT_LANGUAGE="en", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    dutch = client.get("/p/it/", HTTP_ACCEPT_LANGUAGE="nl", HTTP_IF_NONE_MATCH=etag)
    assert dutch.status_code == 200  # another language is another representation
    services.set_component_status(component(it_page, "VPN"), "major_outage", actor=alice)
    changed = client.get("/p/it/", HTTP_ACCEPT_LANGUAGE="en", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_the_page_is_sent_compressed_to_clients_that_accept_gzip(client, it_page):
    import gzip

    plain = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    packed = client.get("/", HTTP_ACCEPT_LANGUAGE="en", HTTP_ACCEPT_ENCODING="gzip, br")
    assert packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed["Vary"]
    assert gzip.decompress(packed.content) == plain.content
    assert len(packed.content) < len(plain.content) / 3


def test_a_page_recreated_under_the_same_slug_is_never_confused_with_the_old_one(client, db):
    old = make_page(slug="ops", name="Old operations page")
    assert "Old operations page" in client.get("/p/ops/").content.decode()
    old.delete()
    assert client.get("/p/ops/").status_code == 404
    make_page(slug="ops", name="New operations page")
    assert "New operations page" in client.get("/p/ops/").content.decode()


def test_a_known_page_costs_one_lookup_query_and_sees_every_change(
    client, it_page, alice, django_assert_num_queries
):
    client.get("/p/it/")
    with django_assert_num_queries(1):  # the version check of the page this process knows
        client.get("/p/it/")
    it_page.name = "IT services (renamed)"
    services.save_page(it_page, actor=alice)
    assert "IT services (renamed)" in client.get("/p/it/").content.decode()


def test_an_unknown_address_gets_a_page_with_the_way_back(client, it_page):
    # A customer following an old or mistyped link gets a way back, in their language.
    response = client.get("/p/no-such-page/", HTTP_ACCEPT_LANGUAGE="nl")
    assert response.status_code == 404
    text = response.content.decode()
    assert 'lang="nl"' in text and 'href="/"' in text
    assert "Terug naar de statuspagina" in text


def test_a_cached_snapshot_comes_back_typed_and_equal_without_queries(
    it_page, alice, django_assert_num_queries
):
    services.set_component_status(component(it_page, "VPN"), "partial_outage", actor=alice)
    it_page.refresh_from_db()
    built = page_snapshot(it_page)  # built and cached
    with django_assert_num_queries(0):
        cached = page_snapshot(it_page)
    assert cached == built and cached is not built  # decoded from the cache's bytes
    assert isinstance(cached, PageSnapshot)
    vpn = component(it_page, "VPN").pk
    assert cached.components[vpn].status == "partial_outage"  # keyed by int, not str(id)
    assert cached.uptime.components[vpn].days[-1].level == "partial"
    cache.clear()


@pytest.mark.parametrize(
    "stale", [{"version": 1, "components": {}}, b"\x81\xa7version\x01", b"not msgpack"]
)
def test_a_snapshot_cached_in_another_shape_is_rebuilt_not_served(it_page, stale):
    # what an older release (a dict of strings) or a changed snapshot shape left in the cache
    key = f"snapshot:{it_page.cache_key}:page"
    cache.set(key, stale, 60)
    snapshot = page_snapshot(it_page)
    assert isinstance(snapshot, PageSnapshot) and snapshot.page.slug == "it"
    assert snapshot.components == build_page_snapshot(it_page).components
    assert cache.get(key) != stale  # and the rebuilt one replaced it
    cache.clear()
