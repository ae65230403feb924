"""Finding 2: a page-limited API key or an engineer of one page could take over `/` of the main
host by setting their page's custom host (a custom-host match outranked the default page)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from incidents import services
from incidents.models import Page
from incidents.services import ServiceError
from tests.api_helpers import make_api

pytestmark = pytest.mark.django_db


def test_a_page_limited_key_cannot_set_a_custom_host(it_page, phone_page):
    api, _key = make_api("telephony-bot", pages=[phone_page])
    response = api.patch("pages/telephony", {"page": {"domain": "127.0.0.1"}})
    assert response.status_code == 403, response.content
    assert response.json()["field"] == "custom_host"
    assert Page.objects.get(slug="telephony").custom_host == ""
    # Its other settings still change.
    assert api.patch("pages/telephony", {"page": {"name": "Phones"}}).status_code == 200


def test_a_key_for_every_page_may_set_another_host_but_never_the_sites_own(it_page, phone_page):
    api, _key = make_api("deploy-bot")
    response = api.patch("pages/telephony", {"page": {"domain": "127.0.0.1"}})  # SITE_URL's host
    assert response.status_code == 422, response.content
    assert "SITE_URL" in response.json()["message"]
    response = api.patch("pages/telephony", {"page": {"domain": "phones.example.com"}})
    assert response.status_code == 200, response.content


def test_an_engineer_sees_the_host_read_only_and_cannot_post_it(client, alice, it_page):
    client.force_login(alice)
    url = f"/admin/incidents/page/{it_page.pk}/change/"
    response = client.get(url)
    assert response.status_code == 200  # was a 500 (KeyError 'slug': prepopulated read-only)
    assert 'name="custom_host"' not in response.content.decode()
    form = {
        "name": "IT services",
        "custom_host": "127.0.0.1",
        "time_zone": "Europe/Amsterdam",
        "default_language": "en",
        "accent_colour": "#0b5cad",
        "report_alert_count": 5,
        "report_alert_window_minutes": 10,
        "report_alert_min_companies": 3,
        "maintenance_reminder_hours": "24",
        "supporthours_set-TOTAL_FORMS": 0,
        "supporthours_set-INITIAL_FORMS": 0,
    }
    client.post(url, form)
    assert Page.objects.get(pk=it_page.pk).custom_host == ""


def test_the_page_manager_role_may_set_hosts_engineers_may_not(alice, it_page):
    with pytest.raises(ServiceError) as refused:
        it_page.custom_host = "status.example.com"
        services.save_page(it_page, actor=alice)
    assert refused.value.code == "forbidden"
    alice.user_permissions.add(Permission.objects.get(codename="manage_page_hosts"))
    alice = type(alice).objects.get(pk=alice.pk)  # a fresh permission cache
    it_page.custom_host = "status.example.com"
    assert services.save_page(it_page, actor=alice).custom_host == "status.example.com"


def test_a_stored_custom_host_equal_to_the_sites_host_never_shadows_the_default_page(
    client, it_page, phone_page
):
    Page.objects.filter(pk=phone_page.pk).update(custom_host="127.0.0.1")  # an old row
    response = client.get("/", HTTP_HOST="127.0.0.1")
    assert response.status_code == 200
    assert "IT services" in response.content.decode()
    assert "<title>Telephony" not in response.content.decode()
