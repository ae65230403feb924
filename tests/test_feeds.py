"""Atom and RSS feeds of a page: incidents and maintenance with every update, read by a real
feed parser, linked from the page."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
import zoneinfo

import feedparser
import pytest

from incidents import services
from incidents.models import Component

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def history(it_page, alice, time_machine):
    """An incident with three updates (resolved) and a scheduled maintenance, on the IT page."""
    vpn = Component.objects.get(page=it_page, name="VPN")
    time_machine.move_to(dt.datetime(2026, 11, 20, 9, 0, tzinfo=AMS), tick=False)
    incident = services.open_incident(
        it_page,
        actor=alice,
        name="VPN drops connections",
        body="We are *investigating* dropped VPN sessions.",
        components={vpn.pk: "partial_outage"},
    )
    time_machine.move_to(dt.datetime(2026, 11, 20, 9, 30, tzinfo=AMS), tick=False)
    services.post_update(incident, actor=alice, status="identified", body="A bad firewall rule.")
    time_machine.move_to(dt.datetime(2026, 11, 20, 10, 15, tzinfo=AMS), tick=False)
    services.resolve_incident(incident, actor=alice, body="Rule reverted; sessions are stable.")
    maintenance = services.schedule_maintenance(
        it_page,
        actor=alice,
        name="Core switch firmware",
        body="Firmware upgrade of the core switches.",
        scheduled_for=dt.datetime(2026, 12, 1, 22, 0, tzinfo=AMS),
        scheduled_until=dt.datetime(2026, 12, 2, 1, 0, tzinfo=AMS),
        components=[vpn],
    )
    time_machine.move_to(dt.datetime(2026, 11, 21, 12, 0, tzinfo=AMS), tick=False)
    return incident, maintenance


def test_the_atom_feed_validates_and_carries_every_update(client, history):
    incident, maintenance = history
    response = client.get("/p/it/history.atom")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert feed.bozo == 0 and feed.version == "atom10"
    assert feed.feed.title == "IT services status"
    assert [e.title for e in feed.entries] == ["Core switch firmware", "VPN drops connections"]
    entry = feed.entries[1]
    assert entry.link == f"http://testserver/p/it/incidents/{incident.pk}/"
    assert entry.id == entry.link
    summary = entry.summary
    # Newest first, each with its time in the page's zone, status and (rendered) message.
    assert summary.index("Resolved") < summary.index("Identified") < summary.index("Investigating")
    assert "<em>investigating</em>" in summary and "20 Nov 2026 10:15 CET" in summary
    assert entry.updated_parsed[:5] == (2026, 11, 20, 9, 15)  # UTC
    assert "Scheduled for" in feed.entries[0].summary
    assert feed.entries[0].tags[0].term == "maintenance"
    # The elements RFC 4287 requires of a feed and of each entry.
    root = ET.fromstring(response.content)
    for name in ("id", "title", "updated"):
        assert root.find(ATOM + name) is not None
    assert (
        root.find(ATOM + "link[@rel='self']").get("href") == "http://testserver/p/it/history.atom"
    )
    for element in root.findall(ATOM + "entry"):
        for name in ("id", "title", "updated", "link"):
            assert element.find(ATOM + name) is not None


def test_the_rss_feed_validates(client, history):
    incident, _ = history
    response = client.get("/p/it/history.rss")
    assert response["Content-Type"].startswith("application/rss+xml")
    feed = feedparser.parse(response.content)
    assert feed.bozo == 0 and feed.version == "rss20"
    assert feed.feed.link == "http://testserver/p/it/"
    assert len(feed.entries) == 2
    entry = next(e for e in feed.entries if e.title == "VPN drops connections")
    assert entry.guid == f"http://testserver/p/it/incidents/{incident.pk}/"
    assert entry.published_parsed[:5] == (2026, 11, 20, 8, 0)
    assert "Rule reverted" in entry.description
    channel = ET.fromstring(response.content).find("channel")
    for name in ("title", "link", "description"):
        assert channel.find(name) is not None


def test_feeds_are_per_page_and_served_at_the_root_for_the_default_page(
    client, history, phone_page, bob
):
    services.open_incident(phone_page, actor=bob, name="Geen inkomende gesprekken", body="...")
    root = feedparser.parse(client.get("/history.atom").content)
    assert [e.title for e in root.entries] == ["Core switch firmware", "VPN drops connections"]
    assert root.entries[0].link.startswith("http://testserver/incidents/")
    phone = feedparser.parse(client.get("/p/telephony/history.rss").content)
    assert [e.title for e in phone.entries] == ["Geen inkomende gesprekken"]
    assert phone.feed.language == "nl"  # the page's default language


def test_a_feed_is_read_from_the_snapshot(client, history, django_assert_max_num_queries):
    client.get("/p/it/")  # builds and caches the snapshot
    # 1 query: the page by its slug; everything else comes from the cached snapshot.
    with django_assert_max_num_queries(1):
        response = client.get("/p/it/history.atom")
    assert response.status_code == 200


def test_the_page_links_its_feeds_in_the_head_and_the_footer(client, history):
    html = client.get("/p/it/").content.decode()
    head = html[: html.index("</head>")]
    assert 'rel="alternate" type="application/atom+xml"' in head
    assert 'href="/p/it/history.atom"' in head and 'href="/p/it/history.rss"' in head
    footer = html[html.index('<footer class="site-footer">') :]
    assert 'href="/p/it/history.atom"' in footer and 'href="/p/it/history.rss"' in footer
