"""Writes about accounts: the audit rows of signing in and out, and the roles an SSO sign-in
brings (`<page slug>:<role>` values of the provider's claim)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from incidents.models import AuditEntry, Page, PageRole, Role
from incidents.services import audit

log = logging.getLogger(__name__)


def _person(name: str, user: Any = None) -> audit.Actor:
    return audit.Actor(AuditEntry.ActorType.USER, name[:150], AuditEntry.Channel.ADMIN, user=user)


@transaction.atomic
def record_sign_in(user: Any, *, methods: list[str]) -> AuditEntry:
    """One audit row: `user` signed in, with how (password, sso:<provider>, totp...)."""
    return audit.record(
        _person(user.get_username(), user),
        action="sign_in",
        obj=user,
        object_type="user",
        changes={"methods": methods},
    )


@transaction.atomic
def record_failed_sign_in(username: str, *, ip: str) -> AuditEntry:
    """One audit row for a refused sign-in: the name typed (which may be no account) and the
    address it came from. Superusers read these (they belong to no page)."""
    return audit.record(
        _person(username or "?"),
        action="sign_in_failed",
        obj=None,
        object_type="user",
        object_id="",
        changes={"ip": ip},
    )


@transaction.atomic
def record_failed_second_factor(
    user: Any, *, kind: str, ip: str, reauthentication: bool = False
) -> AuditEntry:
    """One audit row for a wrong second-factor code (authenticator app or recovery code): the
    password was right, so repeated rows mean someone may hold the password. The code typed is
    not kept."""
    return audit.record(
        _person(user.get_username(), user),
        action="second_factor_failed",
        obj=user,
        object_type="user",
        changes={
            "ip": ip,
            "kind": kind,
            **({"reauthentication": True} if reauthentication else {}),
        },
    )


@transaction.atomic
def record_sign_out(user: Any) -> AuditEntry:
    return audit.record(
        _person(user.get_username(), user), action="sign_out", obj=user, object_type="user"
    )


def parse_roles(values: Iterable[str]) -> dict[str, str]:
    """`{"it": "responder"}` from `["it:responder", ...]`; unknown roles are skipped (logged).
    The highest role wins when a page is named twice."""
    roles: dict[str, str] = {}
    order = list(Role.values)
    for value in values:
        slug, _, role = str(value).partition(":")
        slug, role = slug.strip(), role.strip()
        if role not in order or not slug:
            log.info("SSO role %r is not <page slug>:<role>; skipped", value)
            continue
        if slug not in roles or order.index(role) > order.index(roles[slug]):
            roles[slug] = role
    return roles


@transaction.atomic
def sync_sso_roles(user: Any, *, actor: Any, roles: dict[str, str]) -> dict[str, Any]:
    """Make the user's page roles exactly those their identity provider says (`{slug: role}`)
    and return the changes; when there are any, one audit row ("sso_roles") lists them. Names
    of pages that do not exist are skipped."""
    pages = {page.slug: page for page in Page.objects.filter(slug__in=roles)}
    before = {
        r.page.slug: r.role for r in PageRole.objects.filter(user=user).select_related("page")
    }
    wanted = {slug: role for slug, role in roles.items() if slug in pages}
    changes = {}
    for slug in set(before) | set(wanted):
        old, new = before.get(slug), wanted.get(slug)
        if old == new:
            continue
        changes[slug] = {"before": old, "after": new}
        if new is None:
            PageRole.objects.filter(user=user, page__slug=slug).delete()
        else:
            PageRole.objects.update_or_create(user=user, page=pages[slug], defaults={"role": new})
    if changes:
        audit.record(
            actor, action="sso_roles", obj=user, object_type="user", changes={"roles": changes}
        )
    return changes
