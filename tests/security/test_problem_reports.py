"""Finding 5: one anonymous report could name 50 components, and the threshold raised one alert
and one on-call mail per component. Finding 8 (part): the receipt relayed the sender's text to
any address they typed."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import time_machine
from django.core import mail

from incidents.models import Component, ReportAlert
from incidents.services import ServiceError
from incidents.services import reports as report_services
from tests.factories import make_component

pytestmark = pytest.mark.django_db

_sender = itertools.count(1)


def report(page, company, components, *, at, **fields):
    values = {
        "scope": "company",
        "has_power": "yes",
        "has_internet": "no",
        "since": "now",
        "description": "Nothing works.",
        "contact_name": "Someone",
        "company": company,
        "email": f"it@{company.lower()}.example",
        "phone": "123",
        **fields,
    }
    with time_machine.travel(at, tick=False):
        return report_services.submit_report(
            page,
            components=components,
            ip=f"10.1.{next(_sender) % 250}.1",
            **values,
        )


def test_a_burst_of_reports_naming_many_components_raises_one_alert_and_one_mail(
    it_page, django_capture_on_commit_callbacks
):
    for n in range(12):
        make_component(it_page, f"Service {n}")
    it_page.oncall_email = "oncall@example.com"
    it_page.save()
    many = list(Component.objects.filter(page=it_page).values_list("pk", flat=True))[:10]
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    for minute, company in enumerate(["A", "B", "C", "D", "E", "F"]):
        with django_capture_on_commit_callbacks(execute=True):
            report(it_page, company, many, at=start + dt.timedelta(minutes=minute))
    alert = ReportAlert.objects.get()
    assert alert.components.count() == 10  # one alert listing them all
    assert (alert.report_count, alert.company_count) == (6, 6)  # reports, not pairs
    oncall = [m for m in mail.outbox if m.to == ["oncall@example.com"]]
    assert len(oncall) == 1
    assert "Service 0" in oncall[0].subject or "Internet access" in oncall[0].subject


def test_one_report_names_at_most_ten_components(it_page):
    for n in range(12):
        make_component(it_page, f"Service {n}")
    all_of_them = list(Component.objects.filter(page=it_page).values_list("pk", flat=True))
    with pytest.raises(ServiceError) as refused:
        report(it_page, "A", all_of_them, at=dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))
    assert refused.value.field == "components"
    assert "at most 10" in refused.value.message


def test_the_receipt_repeats_nothing_the_sender_typed(it_page, django_capture_on_commit_callbacks):
    vpn = Component.objects.get(page=it_page, name="VPN")
    with django_capture_on_commit_callbacks(execute=True):
        report(
            it_page,
            "Cheap pills at evil.example",
            [vpn.pk],
            at=dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC),
            email="victim@example.com",
            contact_name="Visit evil.example now",
            description="BUY NOW at https://evil.example/pills",
            since="http://evil.example",
            phone="+1 900 EVIL",
        )
    receipt = next(m for m in mail.outbox if m.to == ["victim@example.com"])
    html = receipt.alternatives[0][0] if receipt.alternatives else ""
    for text in (receipt.subject, receipt.body, html):
        assert "evil" not in text.lower() and "pills" not in text.lower()
    assert "VPN" in receipt.body  # what it was about, in our words
