"""The outage playbook's read-only pages: the printable handout (HTML and PDF) and the phone
line's message (JSON and plain text) for an IVR. All made from the page snapshot."""

from __future__ import annotations

import hashlib
import json

from django.core.cache import cache
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone, translation

from incidents.models import Page
from incidents.phone import phone_message
from incidents.snapshot import page_snapshot

from .handout import handout, handout_pdf
from .pages import SUPPORTED, page_view
from .views import other_pages, page_context


def _language(request, default: str) -> str:
    asked = request.GET.get("lang", "")
    return asked if asked in SUPPORTED else default


@page_view
def handout_page(request, page: Page):
    """The handout as a web page with a print stylesheet (visitor's language, or ?lang=)."""
    language = _language(request, request.LANGUAGE_CODE)
    snapshot = page_snapshot(page, language)
    with translation.override(language), timezone.override(page.tz):
        context = page_context(request, page, snapshot)
        context["handout"] = handout(snapshot, other_pages(page), language)
        response = render(request, "statuspage/handout.html", context)
    response["Content-Language"] = language
    return response


@page_view
def handout_pdf_view(request, page: Page):
    """The same handout as a one-page PDF."""
    language = _language(request, request.LANGUAGE_CODE)
    snapshot = page_snapshot(page)
    data = handout(snapshot, other_pages(page), language)
    # Same facts, same PDF: cache the bytes under a digest of what they say (~25 ms to build).
    accent = snapshot.page.accent_colour
    digest = hashlib.blake2s(json.dumps([data, accent]).encode(), digest_size=16).hexdigest()
    pdf = cache.get(f"handout-pdf:{digest}")
    if pdf is None:
        pdf = handout_pdf(data, accent)
        cache.set(f"handout-pdf:{digest}", pdf, 3600)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{page.slug}-outage-{language}.pdf"'
    response["Content-Language"] = language
    return response


def _phone(request, page: Page) -> dict:
    return phone_message(page, language=_language(request, page.default_language))


@page_view
def phone_json(request, page: Page):
    """What an IVR should play and where to forward a caller (page's language, or ?lang=)."""
    message = _phone(request, page)
    response = JsonResponse(message, json_dumps_params={"ensure_ascii": False})
    response["Content-Language"] = message["language"]
    response["Cache-Control"] = "no-cache"
    return response


@page_view
def phone_txt(request, page: Page):
    """The spoken summary alone, as text/plain; the decision data rides in headers."""
    message = _phone(request, page)
    response = HttpResponse(message["summary"] + "\n", content_type="text/plain; charset=utf-8")
    response["Content-Language"] = message["language"]
    response["X-Major-Outage"] = "yes" if message["major_outage"] else "no"
    response["X-Desk-Open"] = "yes" if message["desk"]["open"] else "no"
    if message["desk"]["forward_to"]:
        # One line whatever is stored: a line break in a header value is a 500 (BadHeaderError).
        response["X-Forward-To"] = " ".join(message["desk"]["forward_to"].split())
    response["Cache-Control"] = "no-cache"
    return response
