"""An incident's own page in the admin (issue 14): the header shows the components' state now,
the resolving entry lists the components that went back, each update says how many subscribers
it notified and by which channel, and "Delete" sits apart from "View on the status page" and
asks to confirm. Times are the page's, with the zone's abbreviation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents import services
from incidents.models import Component, Incident
from notifications.models import Delivery, Notification, Subscriber
from notifications.outbox import fan_out

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def component(page, name):
    return Component.objects.get(page=page, name=name)


def manage_url(incident):
    return reverse("admin:incidents_incident_change", args=[incident.pk])


def header(html: str) -> str:
    """The lines above the forms and the timeline."""
    return html[html.index('id="content"') : html.index('class="incident-layout"')]


def test_after_resolving_the_header_shows_the_components_state_now(alice_client, alice, it_page):
    vpn = component(it_page, "VPN")
    incident = services.open_incident(
        it_page, actor=alice, name="VPN down", body="Down.", components={vpn.pk: "partial_outage"}
    )
    assert "Partial outage" in header(alice_client.get(manage_url(incident)).content.decode())
    services.resolve_incident(incident, actor=alice)
    top = header(alice_client.get(manage_url(incident)).content.decode())
    assert "VPN" in top and "Operational" in top
    assert "Partial outage" not in top


def test_the_resolving_entry_lists_the_components_that_went_back(alice_client, alice, it_page):
    vpn = component(it_page, "VPN")
    internet = component(it_page, "Internet access")
    incident = services.open_incident(
        it_page,
        actor=alice,
        name="Network down",
        body="Down.",
        components={vpn.pk: "partial_outage", internet.pk: "major_outage"},
    )
    # Another open incident still holds the internet access: it does not go back.
    services.open_incident(
        it_page,
        actor=alice,
        name="Fibre cut",
        body="Cut.",
        components={internet.pk: "major_outage"},
    )
    closing = services.resolve_incident(incident, actor=alice)
    assert closing.affected_components == [
        {
            "code": vpn.pk,
            "name": "VPN",
            "old_status": "partial_outage",
            "new_status": "operational",
        }
    ]
    html = alice_client.get(manage_url(incident)).content.decode()
    entry = html[html.index(f'id="update-{closing.pk}"') :]
    entry = entry[: entry.index("</li>")]
    assert "VPN: Partial outage → Operational" in entry


def test_each_update_says_how_many_subscribers_it_notified_by_channel(
    alice_client, alice, it_page, captured_events
):
    now = timezone.now()
    for address in ("ann@example.com", "ben@example.com"):
        Subscriber.objects.create(page=it_page, email=address, confirmed_at=now)
    Subscriber.objects.create(
        page=it_page,
        kind="webhook",
        email="ops@example.com",
        endpoint="https://hooks.example.com/status",
        confirmed_at=now,
    )
    Subscriber.objects.create(page=it_page, email="unconfirmed@example.com")
    with captured_events():
        incident = services.open_incident(it_page, actor=alice, name="Mail slow", body="Slow.")
        quiet = services.post_update(
            incident, actor=alice, body="Typo fixed.", deliver_notifications=False
        )
    notification = Notification.objects.get(incident=incident)
    list(fan_out(notification))  # what the worker does: one delivery per subscriber and channel
    # However far the in-process worker got: one email sent, the rest waiting.
    Delivery.objects.update(state="pending")
    first_email = Delivery.objects.filter(channel="email").order_by("pk").first()
    Delivery.objects.filter(pk=first_email.pk).update(state="sent")
    html = alice_client.get(manage_url(incident)).content.decode()
    first = incident.updates.order_by("created_at", "pk").first()
    entry = html[html.index(f'id="update-{first.pk}"') :]
    entry = entry[: entry.index("</li>")]
    assert "Notified 3 subscribers" in entry
    assert "2 by email (1 sent, 1 queued)" in entry
    assert "1 by webhook (1 queued)" in entry
    quiet_entry = html[html.index(f'id="update-{quiet.pk}"') :]
    quiet_entry = quiet_entry[: quiet_entry.index("</li>")]
    assert "not notified" in quiet_entry and "Notified" not in quiet_entry


def test_delete_is_apart_from_the_public_link_and_asks_to_confirm(alice_client, alice, it_page):
    incident = services.open_incident(it_page, actor=alice, name="Test", body="Oops.")
    html = alice_client.get(manage_url(incident)).content.decode()
    delete_url = reverse("admin:incidents_incident_delete", args=[incident.pk])
    assert "View on the status page" in header(html)
    assert delete_url not in header(html)
    assert 'id="delete"' in html and delete_url in html
    # Following the link asks first; only the confirmation's POST deletes.
    confirm = alice_client.get(delete_url)
    assert confirm.status_code == 200 and "Are you sure" in confirm.content.decode()
    assert Incident.objects.filter(pk=incident.pk).exists()
    alice_client.post(delete_url, {"post": "yes"})
    assert not Incident.objects.filter(pk=incident.pk).exists()


def test_times_on_the_incident_page_are_the_pages_with_their_zone(alice_client, alice, it_page):
    incident = services.open_incident(it_page, actor=alice, name="Winter", body="Cold.")
    moment = dt.datetime(2026, 1, 15, 8, 30, tzinfo=dt.UTC)  # 09:30 in Amsterdam (CET)
    incident.updates.update(display_at=moment)
    html = alice_client.get(manage_url(incident)).content.decode()
    assert "15 Jan 2026 09:30 CET" in html
    assert "08:30" not in html


def test_maintenance_updates_say_whom_they_notified_too(
    alice_client, alice, it_page, captured_events
):
    Subscriber.objects.create(page=it_page, email="ann@example.com", confirmed_at=timezone.now())
    starts = timezone.now() + dt.timedelta(days=2)
    with captured_events():
        maintenance = services.schedule_maintenance(
            it_page,
            actor=alice,
            name="Router upgrade",
            body="New routers.",
            scheduled_for=starts,
            scheduled_until=starts + dt.timedelta(hours=1),
            components=[component(it_page, "VPN")],
        )
    list(fan_out(Notification.objects.get(incident=maintenance)))
    html = alice_client.get(
        reverse("admin:incidents_maintenance_change", args=[maintenance.pk])
    ).content.decode()
    # Queued or already sent by the in-process worker: either way, one email.
    assert "Notified 1 subscriber: 1 by email (1 " in html
