"""The printable "What to do during an outage" handout: HTML with a print sheet, and a one-page
PDF whose extracted text follows the page's data (office hours change, it changes)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from pypdf import PdfReader

from incidents import services
from incidents.models import SupportHours

from .factories import office_hours

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(it_page, phone_page, settings):
    settings.SITE_URL = "https://status.example.com"
    office_hours(it_page)  # Monday–Friday 08:00–17:30
    office_hours(it_page, weekdays=range(7), opens="17:30", closes="08:00", line="after_hours")
    it_page.after_hours_phone = "+31 20 999 0000"
    it_page.after_hours_audience = "contracts with 24x7 support"
    return services.save_page(it_page, actor=None)


def pdf_text(client, path, **params):
    response = client.get(path, params)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_the_handout_page_says_what_to_do_from_the_pages_data(client, desk):
    response = client.get("/p/it/handout/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "<h1>What to do during an outage</h1>" in body
    assert 'href="https://status.example.com/p/it/"' in body
    assert 'Telephony: <a href="https://status.example.com/p/telephony/"' in body
    assert "mailto:support@example.com" in body
    assert "Is there power? Is there internet?" in body
    assert "Monday–Friday: 08:00–17:30" in body and "Saturday–Sunday: closed" in body
    assert "+31 20 999 0000" in body and "For: contracts with 24x7 support" in body
    assert "Outside office hours, call your outage number with your PIN." in body
    assert 'href="/p/it/handout.pdf?lang=en"' in body


def test_the_handout_page_has_a_print_stylesheet(client, desk):
    css = Path(finders.find("statuspage/status.css")).read_text(encoding="utf-8")
    assert "@media print" in css and ".no-print" in css


def test_the_handout_in_dutch(client, desk):
    response = client.get("/p/it/handout/", {"lang": "nl"})
    body = response.content.decode()
    assert response["Content-Language"] == "nl"
    assert '<html lang="nl">' in body
    assert "Wat te doen bij een storing" in body
    assert "maandag–vrijdag: 08:00–17:30" in body
    assert "Buiten kantoortijden belt u uw storingsnummer met uw pincode." in body


def test_the_pdf_is_one_page_with_the_same_facts(client, desk, django_assert_max_num_queries):
    # snapshot on a cold cache (9) + the other pages' list (1)
    with django_assert_max_num_queries(10):
        pages, text = pdf_text(client, "/p/it/handout.pdf")
    assert pages == 1
    flat = " ".join(text.split())
    for fact in (
        "What to do during an outage",
        "IT services",
        "https://status.example.com/p/it/",
        "Telephony: https://status.example.com/p/telephony/",
        "support@example.com",
        "https://status.example.com/p/it/report/",
        "Does it affect one person, several people or the whole company?",
        "Support desk: +31 20 123 4567",
        "Monday–Friday: 08:00–17:30",
        "Saturday–Sunday: closed",
        "After-hours line: +31 20 999 0000",
        "For: contracts with 24x7 support",
        "Outside office hours, call your outage number with your PIN.",
    ):
        assert fact in flat, fact


def test_the_dutch_pdf_keeps_its_accents(client, desk):
    pages, text = pdf_text(client, "/p/it/handout.pdf", lang="nl")
    flat = " ".join(text.split())
    assert pages == 1
    assert "Wat te doen bij een storing" in flat
    assert "Gaat het om één persoon, een paar mensen of het hele bedrijf?" in flat
    assert "maandag–vrijdag: 08:00–17:30" in flat
    assert "pincode" in flat


def test_changing_the_office_hours_changes_the_handout(client, desk, it_page):
    _, before = pdf_text(client, "/p/it/handout.pdf")
    assert "Monday–Friday: 08:00–17:30" in before
    SupportHours.objects.filter(page=it_page, line="office", weekday=4).update(closes="16:00")
    services.touch_page(it_page, actor=None)
    _, after = pdf_text(client, "/p/it/handout.pdf")
    assert "Monday–Thursday: 08:00–17:30" in after
    assert "Friday: 08:00–16:00" in after
    assert "Monday–Friday" not in after


def test_characters_outside_the_pdf_font_do_not_break_the_pdf(client, desk, it_page):
    it_page.name = "Łódź IT 🚀"
    services.save_page(it_page, actor=None)
    pages, text = pdf_text(client, "/p/it/handout.pdf")
    assert pages == 1
    assert "?ód? IT ?" in text  # replaced, and the rest of the handout is there
    assert "support@example.com" in text
