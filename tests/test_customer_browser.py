"""The customer view in Chromium: an office manager signs in by the mailed link, sees the
company's overview with no serious accessibility violations, and signs out.
`PLAYBOOK_SCREENSHOTS=docs` writes docs/customer-view.png."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail

from incidents import services
from incidents.models import Component, Customer, CustomerDomain
from tests.factories import make_component, office_hours
from tests.test_accessibility import blocking_violations, shoot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def acme(it_page, phone_page):
    office_hours(it_page)
    fibre = make_component(it_page, "Acme fibre Utrecht")
    Component.objects.filter(pk=fibre.pk).update(visibility="customers")
    customer = Customer.objects.create(
        code="acme",
        name="Acme",
        contract="extended_16x7",
        outage_phone="+31 20 999 0000",
        page=it_page,
    )
    internet = Component.objects.get(page=it_page, name="Internet access")
    inbound = Component.objects.get(page=phone_page, name="Inbound calls")
    customer.components.set([fibre, internet, inbound])
    CustomerDomain.objects.create(customer=customer, domain="acme.example")
    services.open_incident(
        it_page,
        actor=None,
        name="Fibre cut in Utrecht",
        body="A digger cut the fibre near the office. A crew is on its way.",
        components={fibre.pk: "major_outage"},
        impact="major",
    )
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    services.schedule_maintenance(
        phone_page,
        actor=None,
        name="New SIP trunks",
        body="Calls may drop for a minute.",
        scheduled_for=start,
        scheduled_until=start + dt.timedelta(hours=1),
        components=[inbound.pk],
    )
    return customer


def test_an_office_manager_signs_in_by_link_and_sees_the_company_overview(
    live_server, acme, browser
):
    page = browser.new_context(viewport={"width": 900, "height": 900}, locale="en-GB").new_page()
    page.goto(f"{live_server.url}/my/")
    assert page.url.endswith("/my/sign-in/")
    assert blocking_violations(page) == []
    page.fill("#id_email", "dana@acme.example")
    page.click("button[type=submit]")
    assert page.url.endswith("/my/sign-in/sent/")
    link = re.search(r"http://\S+/my/link/\?sesame=\S+", mail.outbox[-1].body).group(0)
    page.goto(live_server.url + link[link.index("/my/link/") :])
    page.click("button[type=submit]")
    assert page.url.endswith("/my/")
    assert page.get_by_text("Status overview for Acme").is_visible()
    assert page.get_by_role("heading", name="Fibre cut in Utrecht").is_visible()
    assert page.get_by_text("Acme fibre Utrecht").first.is_visible()
    assert blocking_violations(page) == []
    shoot(page, "customer-view.png")
    page.click(".sign-out button")
    assert page.url.endswith("/my/sign-in/")
