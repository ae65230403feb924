"""Writes to API keys: create, change, revoke. Each is audited (a key is a door in)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents.models import APIKey, Page

from .audit import as_actor, intent
from .base import PermissionRefused, ServiceError


def _check_pages(actor: Any, pages: list[Page]) -> None:
    """A person who is not a superuser may only make keys limited to pages they are a page
    manager of (a key for no page touches every page)."""
    from incidents.models import Role
    from incidents.permissions import pages_for

    user = as_actor(actor).user
    if user is None or user.is_superuser:
        return
    if not pages:
        raise PermissionRefused(
            _("Only a superuser may make a key for every page; choose the pages it may touch."),
            field="pages",
        )
    allowed = set(pages_for(user, Role.PAGE_MANAGER).values_list("pk", flat=True))
    refused = [page.name for page in pages if page.pk not in allowed]
    if refused:
        raise PermissionRefused(
            _("Keys for %(pages)s need the role “page manager” there, which you do not have.")
            % {"pages": ", ".join(refused)},
            field="pages",
        )


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ServiceError(_("An API key needs a name."), code="required", field="name")
    return name


@intent("create_api_key")
def create_api_key(
    *,
    actor: Any,
    name: str,
    pages: Iterable[Page] = (),
    read_only: bool = False,
    expires_at: dt.datetime | None = None,
    key: APIKey | None = None,
) -> tuple[APIKey, str]:
    """Make a key and return it with its raw value, which is never stored and never shown
    again. `key` is an unsaved key to fill (the admin form's); its scope is kept. A person
    may only make keys for pages they are a page manager of (`PermissionRefused`)."""
    from incidents.api.authentication import assign_secret

    pages = list(pages)
    _check_pages(actor, pages)

    key = (
        key
        if key is not None
        else APIKey(scope=APIKey.Scope.READ_ONLY if read_only else APIKey.Scope.READ_WRITE)
    )
    key.name = _check_name(name)
    key.expires_at = expires_at
    key.created_by = as_actor(actor).user
    raw = assign_secret(key)
    key.save()
    key.pages.set(pages)
    return key, raw


@intent("change_api_key")
@transaction.atomic
def change_api_key(
    key: APIKey,
    *,
    actor: Any,
    name: str,
    scope: str,
    expires_at: dt.datetime | None,
    pages: Iterable[Page],
    revoked: bool = False,
) -> APIKey:
    """Rename a key, change its scope, expiry or pages, and revoke it if asked. A revoked key
    stays revoked (make a new one)."""
    pages = list(pages)
    _check_pages(actor, pages)
    key = APIKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked and not revoked:
        raise ServiceError(
            _("A revoked key stays revoked; create a new key instead."), field="revoked"
        )
    key.name, key.scope, key.expires_at = _check_name(name), scope, expires_at
    fields = ["name", "scope", "expires_at"]
    if revoked and not key.revoked:
        key.revoked, key.revoked_at = True, timezone.now()
        fields += ["revoked", "revoked_at"]
    key.save(update_fields=fields)
    key.pages.set(pages)
    return key


@intent("revoke_api_key")
@transaction.atomic
def revoke_api_key(key: APIKey, *, actor: Any) -> APIKey:
    """Revoke a key for good: requests with it are refused from now on."""
    updated = APIKey.objects.filter(pk=key.pk, revoked=False).update(
        revoked=True, revoked_at=timezone.now()
    )
    if not updated:
        raise ServiceError(_("This key is already revoked."), code="invalid", field="revoked")
    return APIKey.objects.get(pk=key.pk)
