"""One JSON error shape for the whole API: `{"message", "code", "field"?, "errors"?}`.

`message` is for a person, `code` for a program, `field` names the input at fault. Service
refusals keep their own status (422, or 409 for a lifecycle step that is not allowed); nothing a
client sends may turn into a 500, and a database that is down is a 503 that says so.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from incidents.services import ServiceError
from statuspage import resilience
from statuspage.middleware import database_unavailable_message


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


class IdempotencyConflict(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used for a different request."
    default_code = "idempotency_key_reused"


def error_body(message: str, code: str, field: str | None = None, errors=None) -> dict:
    body = {"message": str(message), "code": code}
    if field:
        body["field"] = field
    if errors:
        body["errors"] = errors
    return body


def _first_error(detail, path: str = "") -> tuple[str | None, exceptions.ErrorDetail | str]:
    """The first (dotted field path, message) in DRF's nested validation detail."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = path if key == "non_field_errors" else f"{path}.{key}" if path else str(key)
            return _first_error(value, name)
    if isinstance(detail, list) and detail:
        for index, value in enumerate(detail):
            if isinstance(value, dict | list):
                return _first_error(value, f"{path}.{index}" if path else str(index))
            return path or None, value
    return path or None, detail if not isinstance(detail, list | dict) else "Invalid input."


def api_exception_handler(exc, context):
    """Render every refusal in the one shape (configured as DRF's EXCEPTION_HANDLER)."""
    if isinstance(exc, ServiceError):
        return Response(
            error_body(exc.message, exc.code, exc.field), status=getattr(exc, "status_code", 422)
        )
    if resilience.cannot_write(exc):
        if isinstance(exc, resilience.DATABASE_DOWN):
            resilience.failed(resilience.database, exc)
        return Response(
            error_body(database_unavailable_message(), "database_unavailable"),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "30", "Cache-Control": "no-store"},
        )
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, RecursionError):  # JSON nested deeper than the parser can follow
        exc = exceptions.ParseError("The JSON is nested too deeply.")
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        field, message = _first_error(exc.detail)
        code = getattr(message, "code", None) or "invalid"
        text = f"{field}: {message}" if field else str(message)
        response.data = error_body(text, code, field, errors=exc.detail)
        response.status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    elif isinstance(exc, exceptions.APIException):
        code = getattr(exc.detail, "code", None) or exc.default_code
        if isinstance(exc.detail, dict | list):
            _field, detail = _first_error(exc.detail)
        else:
            detail = exc.detail
        response.data = error_body(str(detail), str(code))
    return response
