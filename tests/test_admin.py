"""The engineers' admin: open, update, resolve and reopen an incident through HTTP, bulk status,
and engineers limited to the pages they manage."""

from __future__ import annotations

import pytest
from django.urls import reverse

from incidents import services
from incidents.models import Component, ComponentStatusChange, Incident, IncidentTemplate, Page

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def component(page, name):
    return Component.objects.get(page=page, name=name)


def test_opening_an_incident_in_the_admin_sets_component_statuses(alice_client, it_page, alice):
    internet = component(it_page, "Internet access")
    url = reverse("admin:incidents_incident_add")
    form_page = alice_client.get(url)
    assert form_page.status_code == 200  # alice manages one page: straight to the form
    assert b"Internet access" in form_page.content
    response = alice_client.post(
        url,
        {
            "page": it_page.pk,
            "name": "Internet down",
            "status": "investigating",
            "impact": "",
            "body": "We are looking into it.",
            "deliver_notifications": "on",
            "components": [internet.pk],
            f"status_{internet.pk}": "major_outage",
        },
    )
    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:incidents_incident_change", args=[incident.pk])
    internet.refresh_from_db()
    assert internet.status == "major_outage"
    assert incident.impact == "critical"
    assert incident.updates.get().author == alice


def test_the_open_form_explains_what_is_missing(alice_client, it_page):
    response = alice_client.post(
        reverse("admin:incidents_incident_add"),
        {"page": it_page.pk, "status": "investigating", "name": "", "body": ""},
    )
    assert response.status_code == 200
    assert "Give the incident a title" in response.content.decode()
    assert not Incident.objects.exists()


def test_opening_from_a_template_fills_title_and_message(alice_client, it_page):
    template = IncidentTemplate.objects.create(
        page=it_page, name="Mail", title="Email delayed", body="Mail is slow.", impact="minor"
    )
    alice_client.post(
        reverse("admin:incidents_incident_add"),
        {
            "page": it_page.pk,
            "template": template.pk,
            "status": "investigating",
            "name": "",
            "body": "",
        },
    )
    incident = Incident.objects.get()
    assert incident.name == "Email delayed" and incident.updates.get().body == "Mail is slow."


def test_update_resolve_and_reopen_from_the_incident_page(alice_client, it_page, alice):
    vpn = component(it_page, "VPN")
    incident = services.open_incident(
        it_page,
        actor=alice,
        name="VPN slow",
        body="Slow.",
        components={vpn.pk: "degraded_performance"},
    )
    url = reverse("admin:incidents_incident_change", args=[incident.pk])
    page = alice_client.get(url)
    assert page.status_code == 200 and b"Timeline" in page.content and b"Slow." in page.content

    response = alice_client.post(
        url,
        {
            "action": "update",
            "status": "identified",
            "body": "Found it.",
            "components": [vpn.pk],
            f"status_{vpn.pk}": "partial_outage",
            "deliver_notifications": "on",
        },
    )
    assert response.status_code == 302
    vpn.refresh_from_db()
    assert vpn.status == "partial_outage"

    alice_client.post(url, {"action": "resolve", "body": "", "deliver_notifications": "on"})
    incident.refresh_from_db()
    vpn.refresh_from_db()
    assert incident.status == "resolved" and vpn.status == "operational"
    assert incident.updates.first().body == "This incident has been resolved."

    # A resolved incident offers reopen, and refuses a plain update with a clear message.
    refused = alice_client.post(
        url, {"action": "update", "status": "investigating", "body": "again"}, follow=True
    )
    assert "Reopen it first" in refused.content.decode()
    alice_client.post(url, {"action": "reopen", "status": "identified", "body": "Back again."})
    incident.refresh_from_db()
    assert incident.status == "identified"


def test_fixing_a_typo_in_the_timeline(alice_client, it_page, alice):
    incident = services.open_incident(it_page, actor=alice, name="Outage", body="Investigatng")
    update = incident.updates.get()
    url = reverse("admin:incidents_incident_change", args=[incident.pk])
    assert b"Save correction" in alice_client.get(url, {"edit": update.pk}).content
    alice_client.post(url, {"action": "edit", "update_id": update.pk, "body": "Investigating"})
    update.refresh_from_db()
    assert update.body == "Investigating"


def test_bulk_setting_component_status(alice_client, it_page):
    ids = list(Component.objects.filter(page=it_page).values_list("pk", flat=True))
    alice_client.post(
        reverse("admin:incidents_component_changelist"),
        {"action": "set_major_outage", "_selected_action": ids},
    )
    assert set(Component.objects.filter(page=it_page).values_list("status", flat=True)) == {
        "major_outage"
    }
    assert ComponentStatusChange.objects.filter(new_status="major_outage").count() == len(ids)


def test_editing_a_component_goes_through_the_services(alice_client, it_page):
    mail = component(it_page, "Email hosting")
    version = Page.objects.get(pk=it_page.pk).version
    response = alice_client.post(
        reverse("admin:incidents_component_change", args=[mail.pk]),
        {
            "name": "Email",
            "description": "",
            "position": 3,
            "status": "partial_outage",
            "is_visible": "on",
            "visibility": "public",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    mail.refresh_from_db()
    assert (mail.name, mail.status) == ("Email", "partial_outage")
    assert ComponentStatusChange.objects.filter(component=mail, new_status="partial_outage")
    assert Page.objects.get(pk=it_page.pk).version > version


def test_an_engineer_of_telephony_cannot_touch_the_it_page(client, bob, it_page, alice):
    incident = services.open_incident(it_page, actor=alice, name="IT outage", body="Down.")
    client.force_login(bob)
    listing = client.get(reverse("admin:incidents_incident_changelist"))
    assert listing.status_code == 200 and b"IT outage" not in listing.content
    assert (
        client.get(reverse("admin:incidents_incident_change", args=[incident.pk])).status_code
        == 404
    )
    response = client.post(
        reverse("admin:incidents_incident_change", args=[incident.pk]),
        {"action": "resolve", "body": ""},
    )
    assert response.status_code == 404
    incident.refresh_from_db()
    assert incident.status == "investigating"
    # The open form only offers bob's own page, and refuses the IT page's id.
    form = client.get(reverse("admin:incidents_incident_add"))
    assert b"Telephony" in form.content and b"IT services" not in form.content
    client.post(
        reverse("admin:incidents_incident_add"),
        {"page": it_page.pk, "name": "x", "body": "y", "status": "investigating"},
    )
    assert Incident.objects.count() == 1
    vpn = component(it_page, "VPN")
    assert client.get(reverse("admin:incidents_component_change", args=[vpn.pk])).status_code in (
        302,
        403,
        404,
    )


def test_an_incident_id_that_is_no_number_is_a_404_not_a_500(alice_client, it_page):
    for method in (alice_client.get, alice_client.post):
        response = method("/admin/incidents/incident/abc/change/", {"action": "resolve"})
        assert response.status_code == 404


@pytest.mark.parametrize(
    "changelist",
    [
        "admin:incidents_incident_changelist",
        "admin:incidents_component_changelist",
        "admin:incidents_componentstatuschange_changelist",
        "admin:incidents_problemreport_changelist",
        "admin:incidents_maintenance_changelist",
        "admin:notifications_subscriber_changelist",
    ],
)
def test_the_list_filters_name_nothing_of_another_page(client, bob, it_page, changelist):
    # The sidebar filters on relations (page, components) list only bob's own objects.
    client.force_login(bob)
    response = client.get(reverse(changelist))
    assert response.status_code == 200
    text = response.content.decode()
    for other in ("IT services", "Internet access", "VPN", "Email hosting"):
        assert other not in text, (changelist, other)


def test_a_stranger_gets_no_admin(client, charlie):
    client.force_login(charlie)
    response = client.get(reverse("admin:incidents_incident_changelist"))
    assert response.status_code == 302  # to the admin login: not staff


def test_opening_hours_are_edited_with_the_page(client, admin_user_, it_page):
    client.force_login(admin_user_)
    url = reverse("admin:incidents_page_change", args=[it_page.pk])
    data = {
        "name": it_page.name,
        "slug": it_page.slug,
        "headline": "",
        "is_default": "on",
        "custom_host": "",
        "default_language": "en",
        "time_zone": "Europe/Amsterdam",
        "logo_url": "",
        "accent_colour": "#0b5cad",
        "support_email": "s@example.com",
        "support_phone": "",
        "after_hours_phone": "",
        "after_hours_audience": "",
        "support_text": "",
        "oncall_email": "",
        "report_alert_count": 5,
        "report_alert_window_minutes": 10,
        "report_alert_min_companies": 3,
        "support_hours-TOTAL_FORMS": "1",
        "support_hours-INITIAL_FORMS": "0",
        "support_hours-MIN_NUM_FORMS": "0",
        "support_hours-MAX_NUM_FORMS": "1000",
        "support_hours-0-line": "office",
        "support_hours-0-weekday": "0",
        "support_hours-0-opens": "08:00",
        "support_hours-0-closes": "17:30",
        "roles-TOTAL_FORMS": "0",
        "roles-INITIAL_FORMS": "0",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(it_page.support_hours.values_list("weekday", "line")) == [(0, "office")]
