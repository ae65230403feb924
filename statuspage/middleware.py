"""Request-wide middleware: a part of ours that is down answers 503 with a message, never an
HTML 500 (the management API gets its JSON error shape, `{"message", "code"}`, everything else a
readable page); without SITE_URL, links name the address the request came to.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from incidents.models.pages import request_site_url

from . import resilience

log = logging.getLogger(__name__)

RETRY_AFTER = "30"


def database_unavailable_message() -> str:
    return _(
        "The database is unavailable, so nothing was saved. Please try again in a minute; "
        "the public status page keeps showing its last known state."
    )


class RequestSiteUrlMiddleware:
    """Without SITE_URL, the handout, the PDF and the mails a request sends link to the address
    the visitor used (`make run PORT=8300` or a LAN address), not the default port 8000. A
    caller that already chose a base (the mirror renders with SITE_URL) keeps it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not settings.SITE_URL_FROM_REQUEST or request_site_url.get() is not None:
            return self.get_response(request)
        token = request_site_url.set(f"{request.scheme}://{request.get_host()}")
        try:
            return self.get_response(request)
        finally:
            request_site_url.reset(token)


class InlineStyleHashes:
    """Adds the hashes of the inline styles a response's template wrote (`{% accent_style %}`)
    to its `style-src`; listed after django-csp's middleware, so it runs before CSP writes
    the header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        hashes = request.__dict__.get("csp_style_hashes")
        if hashes:
            update = dict(getattr(response, "_csp_update", None) or {})
            update["style-src"] = [*update.get("style-src", []), *sorted(hashes)]
            response._csp_update = update
        return response


class PartUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        return database_unavailable_response(request, exception)


def database_unavailable_response(request, exception: BaseException) -> HttpResponse | None:
    """The 503 for a request the database cannot serve now (JSON under /api/, else a readable
    page); None when `exception` is something else."""
    if not resilience.cannot_write(exception):
        return None
    if isinstance(exception, resilience.DATABASE_DOWN):
        resilience.failed(resilience.database, exception)
    log.error("database unavailable during %s %s: %s", request.method, request.path, exception)
    message = database_unavailable_message()
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"message": message, "code": "database_unavailable"}, status=503)
    else:
        response = render(
            request, "statuspage/database_unavailable.html", {"message": message}, status=503
        )
    response["Retry-After"] = RETRY_AFTER
    response["Cache-Control"] = "no-store"
    return response
