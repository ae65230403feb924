"""Links without SITE_URL: `make run PORT=8300` (or a visitor on another address) gets links to
the address it was reached at in the handout, the PDF, the confirmation and support mails; the
mirror keeps SITE_URL's links."""

from __future__ import annotations

import io
import re

import pytest
from django.core import mail
from pypdf import PdfReader

from .test_reports import answers

pytestmark = pytest.mark.django_db

HOST = "127.0.0.1:8300"


@pytest.fixture
def unset_site_url(settings):
    settings.SITE_URL_FROM_REQUEST = True
    settings.SITE_URL = "http://127.0.0.1:8000"  # the built-in default


def test_the_handout_and_its_pdf_link_to_the_address_they_were_fetched_from(
    client, it_page, phone_page, unset_site_url
):
    body = client.get("/p/it/handout/", HTTP_HOST=HOST).content.decode()
    assert f'href="http://{HOST}/p/it/"' in body
    assert f'href="http://{HOST}/p/telephony/"' in body
    assert "8000" not in body
    pdf = client.get("/p/it/handout.pdf", HTTP_HOST=HOST)
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert f"http://{HOST}/p/it/" in text and "8000" not in text


def test_the_confirmation_mail_links_to_where_the_person_subscribed(
    client, it_page, unset_site_url, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/p/it/subscribe/", {"email": "dana@example.com", "language": "en"}, HTTP_HOST=HOST
        )
    (message,) = mail.outbox
    links = re.findall(r"https?://[^\s\"<>]+", message.body)
    assert links and all(link.startswith(f"http://{HOST}/p/it/") for link in links)


def test_the_support_mail_and_receipt_link_to_where_the_report_was_made(
    client, it_page, unset_site_url, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/p/it/report/form/", answers(it_page), HTTP_HOST=HOST)
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        links = re.findall(r"https?://[^\s\"<>]+", message.body)
        assert links and all(link.startswith(f"http://{HOST}/") for link in links)


def test_a_configured_site_url_wins_over_the_request(client, it_page, settings):
    settings.SITE_URL = "https://status.example.com"
    settings.SITE_URL_FROM_REQUEST = False
    body = client.get("/p/it/handout/", HTTP_HOST=HOST).content.decode()
    assert 'href="https://status.example.com/p/it/"' in body and HOST not in body


def test_the_mirror_keeps_site_url_whatever_host_it_renders_with(it_page, unset_site_url):
    from statuspage.mirror.site import build_site

    site = build_site(["it"])
    handout = next(f for path, f in site.files.items() if path.endswith("it/handout/index.html"))
    body = handout.body.decode()
    assert 'href="http://127.0.0.1:8000/p/it/"' in body and "testserver" not in body
