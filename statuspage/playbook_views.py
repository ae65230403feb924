"""The outage playbook's read-only pages: the printable handout (HTML and PDF) and the phone
line's message (JSON and plain text) for an IVR. All made from the page snapshot."""

from __future__ import annotations

import hashlib
import json

from django.core.cache import cache
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers

from incidents.api.authentication import SCHEMES, key_for
from incidents.api.permissions import pages_for_key
from incidents.models import Customer, Page
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
    snapshot = page_snapshot(page)
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


class Refused(Exception):
    """A customer's phone message asked for without the right key, or for no customer."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _customer(request, page: Page) -> Customer | None:
    """The customer `?customer=<code>` names, for a request with an API key allowed for the
    page (the PBX's). Whether the code exists is told only to such a key: anything else is one
    and the same 403."""
    code = request.GET.get("customer")
    if code is None:
        return None
    scheme, _, raw = request.headers.get("Authorization", "").strip().partition(" ")
    key = key_for(raw.strip()) if scheme.lower() in SCHEMES and raw.strip() else None
    if key is None or not pages_for_key(key).filter(pk=page.pk).exists():
        raise Refused(
            403,
            "A customer's message needs an API key of this page: "
            "send it as `Authorization: Bearer <key>`.",
        )
    customer = Customer.objects.filter(code=code.strip().lower()).first() if code else None
    if customer is None:
        raise Refused(404, "No customer has this code.")
    return customer


def _phone(request, page: Page) -> dict:
    return phone_message(
        page,
        language=_language(request, page.default_language),
        customer=_customer(request, page),
    )


def _private(response: HttpResponse, request) -> HttpResponse:
    """One customer's answer is never kept by a shared cache (nor the last-good store, which
    keeps no address with another query than ?lang=)."""
    if "customer" in request.GET:
        response["Cache-Control"] = "private, no-store"
        patch_vary_headers(response, ["Authorization"])
    return response


def _refused(request, exc: Refused, *, text: bool) -> HttpResponse:
    if text:
        response = HttpResponse(exc.message + "\n", status=exc.status, content_type="text/plain")
    else:
        response = JsonResponse({"message": exc.message}, status=exc.status)
    return _private(response, request)


@page_view
def phone_json(request, page: Page):
    """What an IVR should play and where to forward a caller (page's language, or ?lang=);
    with `?customer=<code>` and the page's API key, that customer's message."""
    try:
        message = _phone(request, page)
    except Refused as exc:
        return _refused(request, exc, text=False)
    response = JsonResponse(message, json_dumps_params={"ensure_ascii": False})
    response["Content-Language"] = message["language"]
    response["Cache-Control"] = "no-cache"
    return _private(response, request)


@page_view
def phone_txt(request, page: Page):
    """The spoken summary alone, as text/plain; the decision data rides in headers."""
    try:
        message = _phone(request, page)
    except Refused as exc:
        return _refused(request, exc, text=True)
    response = HttpResponse(message["summary"] + "\n", content_type="text/plain; charset=utf-8")
    response["Content-Language"] = message["language"]
    response["X-Major-Outage"] = "yes" if message["major_outage"] else "no"
    response["X-Desk-Open"] = "yes" if message["desk"]["open"] else "no"
    if message["desk"]["forward_to"]:
        # One line whatever is stored: a line break in a header value is a 500 (BadHeaderError).
        response["X-Forward-To"] = " ".join(message["desk"]["forward_to"].split())
    response["Cache-Control"] = "no-cache"
    return _private(response, request)
