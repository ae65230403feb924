"""The status board in Chromium (issue 14): from /admin/ to an open incident on two components
with subscribers notified in at most 5 clicks (it took 9 over 3 screens), and the one-click
status buttons. Every click the engineer makes is counted; typing is not a click, focusing a
field with the mouse is.

The README's screenshots come from the demo data: docs/admin_screenshots.py.
"""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from incidents import services
from incidents.models import Component, Incident, IncidentTemplate
from notifications.models import Delivery, Subscriber

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class Clicks:
    """Clicks and screens (page loads) from the admin index on."""

    def __init__(self, page):
        self.page = page
        self.count = 0
        self.screens = 1

    def click(self, selector_or_locator, *, navigates: bool = False) -> None:
        locator = (
            self.page.locator(selector_or_locator)
            if isinstance(selector_or_locator, str)
            else selector_or_locator
        )
        self.count += 1
        if navigates:
            with self.page.expect_navigation():
                locator.click()
            self.screens += 1
        else:
            locator.click()


@pytest.fixture
def signed_in(alice, live_server, browser):
    """Alice's browser at 1280 px, signed in (the sign-in is not part of the count)."""
    client = Client()
    client.force_login(alice)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def subscribers(it_page):
    now = timezone.now()
    Subscriber.objects.create(page=it_page, email="ann@example.com", confirmed_at=now)
    Subscriber.objects.create(page=it_page, email="ben@example.com", confirmed_at=now)


def notified(incident: Incident, expected: int, timeout: float = 10.0) -> int:
    """Deliveries recorded for the incident's first update (the outbox fills after commit)."""
    deadline = time.monotonic() + timeout
    count = 0
    while time.monotonic() < deadline:
        count = Delivery.objects.filter(notification__incident=incident).count()
        if count >= expected:
            return count
        time.sleep(0.1)
    return count


def test_opening_an_incident_on_two_components_takes_at_most_five_clicks(
    it_page, subscribers, signed_in, live_server
):
    page = signed_in
    page.goto(f"{live_server.url}/admin/")
    clicks = Clicks(page)

    clicks.click(page.locator("#board-it a.board-open"), navigates=True)
    # The title has the focus: type it; then the message, two components, open.
    page.keyboard.type("Internet and VPN down in Utrecht")
    clicks.click("#id_body")
    page.keyboard.type("A fibre cable was cut. Engineers are on site.")
    internet = Component.objects.get(page=it_page, name="Internet access")
    vpn = Component.objects.get(page=it_page, name="VPN")
    clicks.click(f"#id_components_{internet.pk}")
    clicks.click(f"label[for=id_components_{vpn.pk}]")  # the name is a target too
    assert page.locator("#id_deliver_notifications").is_checked()  # notify: the default
    clicks.click(page.get_by_role("button", name="Open incident"), navigates=True)

    incident = Incident.objects.get(name="Internet and VPN down in Utrecht")
    assert page.url.endswith(f"/admin/incidents/incident/{incident.pk}/change/")
    assert sorted(incident.affected.values_list("component__name", flat=True)) == [
        "Internet access",
        "VPN",
    ]
    assert set(incident.affected.values_list("status", flat=True)) == {"partial_outage"}
    assert incident.updates.get().deliver_notifications
    assert notified(incident, 2) == 2  # one email to each subscriber, queued
    assert clicks.count <= 5, clicks.count
    assert clicks.screens <= 3
    print(f"free path: {clicks.count} clicks over {clicks.screens} screens (was 9 over 3)")


@pytest.fixture
def template(it_page):
    internet = Component.objects.get(page=it_page, name="Internet access")
    vpn = Component.objects.get(page=it_page, name="VPN")
    template = IncidentTemplate(
        page=it_page,
        name="Internet outage",
        title="Internet disrupted",
        body="We look into it.",
        impact="critical",
    )
    return services.save_incident_template(template, actor=None, components=[internet.pk, vpn.pk])


def test_from_a_template_it_takes_two_clicks(
    it_page, subscribers, template, signed_in, live_server
):
    internet = Component.objects.get(page=it_page, name="Internet access")
    vpn = Component.objects.get(page=it_page, name="VPN")
    page = signed_in
    page.goto(f"{live_server.url}/admin/")
    clicks = Clicks(page)
    clicks.click(
        page.locator("#board-it .board-templates a", has_text="Internet outage"), navigates=True
    )
    # Its components are ticked at the status its impact stands for, still editable.
    assert page.locator(f"#id_components_{internet.pk}").is_checked()
    assert page.locator(f"#id_status_{vpn.pk}").input_value() == "major_outage"
    clicks.click(page.get_by_role("button", name="Open incident"), navigates=True)

    incident = Incident.objects.get(name="Internet disrupted")
    assert set(incident.affected.values_list("status", flat=True)) == {"major_outage"}
    assert notified(incident, 2) == 2
    assert clicks.count == 2


@pytest.fixture
def vpn_slow(it_page, alice):
    vpn = Component.objects.get(page=it_page, name="VPN")
    return services.open_incident(
        it_page,
        actor=alice,
        name="VPN slow",
        body="Slow.",
        components={vpn.pk: "degraded_performance"},
    )


def test_a_status_change_is_one_click_on_the_board(it_page, vpn_slow, signed_in, live_server):
    vpn = Component.objects.get(page=it_page, name="VPN")
    page = signed_in
    page.goto(f"{live_server.url}/admin/")
    clicks = Clicks(page)
    # The first form is in "Components not operational" (the full list is folded away).
    buttons = page.locator(f'#board-it form[action$="/{vpn.pk}/set-status/"]').first
    clicks.click(buttons.get_by_role("button", name="Operational"), navigates=True)
    vpn.refresh_from_db()
    assert vpn.status == "operational"
    assert clicks.count == 1
    assert "is now “Operational”" in page.content()


def test_choosing_a_template_in_the_form_ticks_its_components(
    it_page, template, signed_in, live_server
):
    internet = Component.objects.get(page=it_page, name="Internet access")
    wifi = Component.objects.get(page=it_page, name="Email hosting")
    page = signed_in
    page.goto(f"{live_server.url}/admin/incidents/incident/add/?page={it_page.pk}")
    assert not page.locator(f"#id_components_{internet.pk}").is_checked()
    page.select_option("#id_template", str(template.pk))
    assert page.locator(f"#id_components_{internet.pk}").is_checked()
    assert page.locator(f"#id_status_{internet.pk}").input_value() == "major_outage"
    assert page.locator("#id_name").input_value() == "Internet disrupted"
    # Choosing a status on another row ticks that row too.
    page.select_option(f"#id_status_{wifi.pk}", "degraded_performance")
    assert page.locator(f"#id_components_{wifi.pk}").is_checked()
