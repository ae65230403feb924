"""API keys: how they are made (shown once, stored hashed) and how a request proves one.

A key is sent as `Authorization: OAuth <key>` (Statuspage's form) or `Authorization: Bearer <key>`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Iterable

from django.db import DatabaseError, transaction
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from incidents.models import APIKey, Page

log = logging.getLogger(__name__)

KEY_PREFIX_LENGTH = 12
# Record `last_used_at` at most this often per key, so reads do not all write.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
SCHEMES = ("oauth", "bearer")
# Keys are URL-safe base64; anything else cannot be one (and never reaches the database).
KEY_SHAPE = re.compile(r"^[A-Za-z0-9_-]{12,200}$")


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_api_key(
    name: str,
    *,
    pages: Iterable[Page] = (),
    read_only: bool = False,
    expires_at: dt.datetime | None = None,
    created_by=None,
) -> tuple[APIKey, str]:
    """Make a key and return it with its raw value, which is never stored and never shown again.

    The audited service (`services.create_api_key`) does the work; `created_by` is its actor.
    """
    from incidents import services

    return services.create_api_key(
        actor=created_by or services.System("command", kind="command"),
        name=name,
        pages=pages,
        read_only=read_only,
        expires_at=expires_at,
    )


def assign_secret(key: APIKey) -> str:
    """Give an unsaved key (the admin form's) a fresh secret; returns the raw value."""
    raw = secrets.token_urlsafe(32)
    key.prefix = raw[:KEY_PREFIX_LENGTH]
    key.hashed_key = hash_key(raw)
    return raw


def key_for(raw: str) -> APIKey | None:
    """The usable key with this raw value: not revoked, not expired; else None."""
    if not KEY_SHAPE.match(raw):
        return None
    key = APIKey.objects.filter(prefix=raw[:KEY_PREFIX_LENGTH]).first()
    if key is None or not hmac.compare_digest(key.hashed_key, hash_key(raw)):
        return None
    now = timezone.now()
    if key.revoked or (key.expires_at is not None and key.expires_at <= now):
        return None
    return key


def record_last_use(key: APIKey, now: dt.datetime) -> None:
    """Note when the key was used, if the database takes writes: a read-only database (a
    replica during a failover) must not turn every API call into an error."""
    try:
        with transaction.atomic():
            APIKey.objects.filter(pk=key.pk).update(last_used_at=now)
    except DatabaseError as exc:
        log.warning("could not record the use of API key %s: %s", key.prefix, exc)
        return
    key.last_used_at = now


class APIKeyAuthentication(authentication.BaseAuthentication):
    """DRF authentication by API key; a missing, unknown, revoked or expired key is a 401."""

    def authenticate(self, request):
        header = request.headers.get("Authorization", "")
        scheme, _, raw = header.strip().partition(" ")
        if scheme.lower() not in SCHEMES or not raw.strip():
            return None
        key = key_for(raw.strip())
        if key is None:
            raise exceptions.AuthenticationFailed(
                "This API key is unknown, revoked or expired.", code="invalid_api_key"
            )
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            record_last_use(key, now)
        return key, key

    def authenticate_header(self, request) -> str:
        return 'OAuth realm="api"'


class APIKeyScheme(OpenApiAuthenticationExtension):
    target_class = "incidents.api.authentication.APIKeyAuthentication"
    name = "api_key"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`OAuth <key>` or `Bearer <key>`.",
        }
