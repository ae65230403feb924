"""Customers read Dutch in the formal form ("u", "uw"), as the provider's own outage instructions
address them: the page, the report flow, the subscription pages, the handout, the phone line
and every translation they can meet. Engineers' screens (the admin) may stay informal."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from incidents import services
from incidents.models import Component

pytestmark = pytest.mark.django_db

PO = Path(__file__).resolve().parent.parent / "locale/nl/LC_MESSAGES/django.po"
INFORMAL = re.compile(r"\b(je|jij|jou|jouw|jullie|jezelf)\b", re.IGNORECASE)
# Translations only engineers see: the admin, the login lockout, the postmortem workflow.
ENGINEERS_ONLY = ("/admin/", "admin.py", "admin/", "postmortem", "api_keys")


def entries():
    for block in PO.read_text(encoding="utf-8").split("\n\n"):
        places = " ".join(line for line in block.splitlines() if line.startswith("#:"))
        strings = re.findall(r'msgstr(?:\[\d\])? ((?:".*"\n?)+)', block)
        text = "".join("".join(re.findall(r'"((?:[^"\\]|\\.)*)"', s)) for s in strings)
        yield places, text


def test_no_customer_facing_translation_says_je_or_jouw():
    informal = [
        text
        for places, text in entries()
        if INFORMAL.search(text) and places and not any(p in places for p in ENGINEERS_ONLY)
    ]
    assert informal == []


def test_the_dutch_pages_a_customer_walks_through_say_u(client, it_page):
    internet = Component.objects.get(page=it_page, name="Internet access")
    services.open_incident(
        it_page,
        actor=None,
        name="Internet down",
        body="Looking.",
        components={internet.pk: "major_outage"},
    )
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "nl"
    paths = [
        "/p/it/",
        "/p/it/handout/",
        "/p/it/report/",
        f"/p/it/report/known/?component={internet.pk}",
        "/p/it/report/form/",
        "/p/it/subscribe/",
        "/p/it/phone.txt",
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        text = re.sub(r"<[^>]+>", " ", response.content.decode())
        assert not INFORMAL.search(text), (path, INFORMAL.search(text))
    page = client.get("/p/it/").content.decode()
    assert '<html lang="nl">' in page and "u hoeft ons er niet over te bellen" in page
