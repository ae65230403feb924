"""Times in the admin are the page's, with the zone's abbreviation (issue 14): list columns,
read-only fields, the timeline, reports, alerts, the audit log, maintenance; datetime inputs
say which zone they read. Maintenance "Add" asks for the page first."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from incidents import services
from incidents.models import AuditEntry, Component, ComponentStatusChange, Incident, PageRole
from tests.factories import make_component, make_page

pytestmark = pytest.mark.django_db

WINTER = dt.datetime(2026, 1, 15, 8, 30, tzinfo=dt.UTC)  # 09:30 CET in Amsterdam
SUMMER = dt.datetime(2026, 7, 15, 8, 30, tzinfo=dt.UTC)  # 10:30 CEST


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def opened_at(page, actor, moment, name="Outage"):
    with time_machine.travel(moment, tick=False):
        return services.open_incident(
            page,
            actor=actor,
            name=name,
            body="x",
            components={Component.objects.filter(page=page).first().pk: "major_outage"},
        )


def test_list_columns_show_the_pages_time_with_its_abbreviation(alice_client, alice, it_page):
    opened_at(it_page, alice, WINTER, "Winter outage")
    opened_at(it_page, alice, SUMMER, "Summer outage")
    html = alice_client.get(reverse("admin:incidents_incident_changelist")).content.decode()
    assert "15 Jan 2026, 09:30 CET" in html
    assert "15 Jul 2026, 10:30 CEST" in html
    assert "08:30" not in html
    history = alice_client.get(
        reverse("admin:incidents_componentstatuschange_changelist")
    ).content.decode()
    assert "15 Jan 2026, 09:30 CET" in history


def test_the_audit_log_shows_the_pages_time(alice_client, alice, it_page):
    opened_at(it_page, alice, WINTER)
    AuditEntry.objects.update(created_at=WINTER)
    html = alice_client.get(reverse("admin:incidents_auditentry_changelist")).content.decode()
    assert "15 Jan 2026, 09:30 CET" in html
    entry = AuditEntry.objects.filter(action="open_incident").get()
    detail = alice_client.get(
        reverse("admin:incidents_auditentry_change", args=[entry.pk])
    ).content.decode()
    assert "15 Jan 2026, 09:30 CET" in detail


def test_an_engineer_of_a_page_elsewhere_sees_its_zone(client, alice):
    page = make_page(slug="nyc", name="New York office", time_zone="America/New_York")
    make_component(page, "Phones")
    PageRole.objects.filter(user=alice).delete()
    PageRole.objects.create(page=page, user=alice, role="responder")
    opened_at(page, alice, WINTER, "Phones down")
    client.force_login(alice)
    html = client.get(reverse("admin:incidents_incident_changelist")).content.decode()
    assert "15 Jan 2026, 03:30 EST" in html


def test_a_list_filtered_on_one_page_uses_that_pages_zone(client, admin_user_, it_page, alice):
    page = make_page(slug="nyc", name="New York office", time_zone="America/New_York")
    make_component(page, "Phones")
    opened_at(page, alice, WINTER, "Phones down")
    client.force_login(admin_user_)  # the default page (Amsterdam) sets the zone otherwise
    url = reverse("admin:incidents_incident_changelist")
    assert "09:30 CET" in client.get(url).content.decode()
    assert "03:30 EST" in client.get(url, {"page__id__exact": page.pk}).content.decode()


def test_a_read_only_detail_shows_the_pages_time(alice_client, alice, it_page):
    incident = opened_at(it_page, alice, WINTER)
    change = ComponentStatusChange.objects.filter(incident=incident).first()
    detail = alice_client.get(
        reverse("admin:incidents_componentstatuschange_change", args=[change.pk])
    ).content.decode()
    assert "15 Jan 2026, 09:30 CET" in detail


def test_datetime_inputs_say_which_zone_they_read(alice_client, it_page):
    with time_machine.travel(WINTER, tick=False):
        form = alice_client.get(
            reverse("admin:incidents_maintenance_add"), {"page": it_page.pk}
        ).content.decode()
    assert form.count('class="timezone"') == 2  # starts and ends
    assert "CET (Europe/Amsterdam)" in form


def test_a_time_typed_in_the_pages_zone_is_stored_as_that_moment(alice_client, it_page):
    vpn = Component.objects.get(page=it_page, name="VPN")
    response = alice_client.post(
        reverse("admin:incidents_maintenance_add") + f"?page={it_page.pk}",
        {
            "page": it_page.pk,
            "name": "Summer upgrade",
            "body": "New firmware.",
            "affected": [vpn.pk],
            "scheduled_for_0": "2027-07-01",
            "scheduled_for_1": "10:00",
            "scheduled_until_0": "2027-07-01",
            "scheduled_until_1": "12:00",
            "deliver_notifications": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    maintenance = Incident.objects.get(kind="maintenance")
    assert maintenance.scheduled_for == dt.datetime(2027, 7, 1, 8, 0, tzinfo=dt.UTC)  # CEST
    change = alice_client.get(
        reverse("admin:incidents_maintenance_change", args=[maintenance.pk])
    ).content.decode()
    assert 'name="scheduled_for_1" value="10:00' in change  # shown again as typed


def test_maintenance_add_asks_for_the_page_first_and_offers_only_its_components(
    client, admin_user_, it_page, phone_page
):
    client.force_login(admin_user_)
    url = reverse("admin:incidents_maintenance_add")
    choice = client.get(url).content.decode()
    assert "Which page is the maintenance on?" in choice
    assert f'href="?page={it_page.pk}"' in choice and f'href="?page={phone_page.pk}"' in choice
    assert 'name="scheduled_for_0"' not in choice
    form = client.get(url, {"page": phone_page.pk}).content.decode()
    assert "Inbound calls" in form
    assert "VPN" not in form and "Internet access" not in form
    assert f'<input type="hidden" name="page" value="{phone_page.pk}"' in form


def test_an_engineer_of_one_page_goes_straight_to_its_form(alice_client, it_page, phone_page):
    response = alice_client.get(reverse("admin:incidents_maintenance_add"))
    assert response.status_code == 200
    form = response.content.decode()
    assert "VPN" in form and "Inbound calls" not in form
    assert f'<input type="hidden" name="page" value="{it_page.pk}"' in form
