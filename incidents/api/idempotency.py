"""`Idempotency-Key` on POST: a retried request returns the first response and creates nothing.

The work and the record of its response commit in one transaction, so a retry either finds the
record or does the work itself; two concurrent first tries collide on the unique key and the
loser rolls its work back and replays the winner's response.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.response import Response

from incidents.models import IdempotencyRecord

from .errors import IdempotencyConflict

# How long a key is remembered (Statuspage-style clients retry within minutes).
RETENTION = dt.timedelta(hours=24)
MAX_KEY_LENGTH = 255
REPLAY_HEADER = "Idempotent-Replayed"


class _Replay(Exception):
    pass


def _fingerprint(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\0" + request.path.encode() + b"\0")
    digest.update(json.dumps(request.data, sort_keys=True, cls=DjangoJSONEncoder).encode())
    return digest.hexdigest()


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise IdempotencyConflict()
    response = Response(record.body, status=record.status_code)
    response[REPLAY_HEADER] = "true"
    return response


def _existing(api_key, key: str) -> IdempotencyRecord | None:
    record = IdempotencyRecord.objects.filter(api_key=api_key, key=key).first()
    if record is not None and record.created_at < timezone.now() - RETENTION:
        record.delete()
        return None
    return record


def idempotent(method):
    """Decorate a view's `post`: honour the request's `Idempotency-Key` header, if any."""

    @functools.wraps(method)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return method(view, request, *args, **kwargs)
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
            raise exceptions.ValidationError(
                {"Idempotency-Key": [f"Send 1 to {MAX_KEY_LENGTH} printable ASCII characters."]}
            )
        fingerprint = _fingerprint(request)
        record = _existing(request.auth, key)
        if record is not None:
            return _replay(record, fingerprint)
        try:
            with transaction.atomic():
                response = method(view, request, *args, **kwargs)
                body = json.loads(json.dumps(response.data, cls=DjangoJSONEncoder))
                try:
                    with transaction.atomic():
                        IdempotencyRecord.objects.create(
                            api_key=request.auth,
                            key=key,
                            method=request.method,
                            path=request.path[:500],
                            fingerprint=fingerprint,
                            status_code=response.status_code,
                            body=body,
                        )
                except IntegrityError:
                    raise _Replay() from None
        except _Replay:
            return _replay(
                IdempotencyRecord.objects.get(api_key=request.auth, key=key), fingerprint
            )
        # Forget expired keys on the path that makes new ones (one indexed delete).
        forget_expired_keys()
        return response

    return wrapper


def forget_expired_keys() -> int:
    """Delete records past their retention; returns how many."""
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - RETENTION
    ).delete()
    return deleted
