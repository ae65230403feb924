"""A part of ours that is down answers 503 with a message, never an HTML 500.

The management API gets its JSON error shape (`{"message", "code"}`), everything else (the admin,
forms) a readable page; both say nothing was saved and to try again shortly.
"""

from __future__ import annotations

import logging

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from . import resilience

log = logging.getLogger(__name__)

RETRY_AFTER = "30"


def database_unavailable_message() -> str:
    return _(
        "The database is unavailable, so nothing was saved. Please try again in a minute; "
        "the public status page keeps showing its last known state."
    )


class PartUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not resilience.cannot_write(exception):
            return None
        if isinstance(exception, resilience.DATABASE_DOWN):
            resilience.failed(resilience.database, exception)
        log.error("database unavailable during %s %s: %s", request.method, request.path, exception)
        message = database_unavailable_message()
        response: HttpResponse
        if request.path.startswith("/api/"):
            response = JsonResponse(
                {"message": message, "code": "database_unavailable"}, status=503
            )
        else:
            response = render(
                request, "statuspage/database_unavailable.html", {"message": message}, status=503
            )
        response["Retry-After"] = RETRY_AFTER
        response["Cache-Control"] = "no-store"
        return response
