"""Finding 7: an engineer got a 500 opening their own page's form (KeyError 'slug'), and the
template admin form saved components of another page (a telephony component on an IT
template, then visible to an IT-only key)."""

from __future__ import annotations

import pytest

from incidents.models import Component, IncidentTemplate

pytestmark = pytest.mark.django_db


def test_an_engineer_opens_their_own_page_form(client, alice, it_page):
    client.force_login(alice)
    response = client.get(f"/admin/incidents/page/{it_page.pk}/change/")
    assert response.status_code == 200
    assert "IT services" in response.content.decode()


def test_the_template_form_refuses_another_pages_component(
    client, admin_user_, it_page, phone_page
):
    client.force_login(admin_user_)
    inbound = Component.objects.get(page=phone_page, name="Inbound calls")
    response = client.post(
        "/admin/incidents/incidenttemplate/add/",
        {
            "page": it_page.pk,
            "name": "Calls down",
            "title": "Calls down",
            "body": "We are on it.",
            "impact": "major",
            "update_status": "investigating",
            "components": [inbound.pk],
        },
        follow=True,
    )
    assert response.status_code == 200
    template = IncidentTemplate.objects.filter(name="Calls down").first()
    assert template is None or not template.components.filter(pk=inbound.pk).exists()
    assert "on this page" in response.content.decode()  # the service's message


def test_the_template_form_saves_its_own_pages_components(client, admin_user_, it_page):
    client.force_login(admin_user_)
    vpn = Component.objects.get(page=it_page, name="VPN")
    client.post(
        "/admin/incidents/incidenttemplate/add/",
        {
            "page": it_page.pk,
            "name": "VPN down",
            "title": "VPN down",
            "body": "We are on it.",
            "impact": "major",
            "update_status": "investigating",
            "components": [vpn.pk],
        },
    )
    assert list(IncidentTemplate.objects.get(name="VPN down").components.all()) == [vpn]
