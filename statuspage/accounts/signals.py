"""Audit rows for signing in, failing to, and signing out; an SSO sign-in brings its roles."""

from __future__ import annotations

from typing import Any

from allauth.account.signals import user_logged_in as allauth_logged_in
from allauth.mfa.signals import authentication_failed as second_factor_failed
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from statuspage.pages import client_ip

from . import services


def _methods(request) -> list[str]:
    records = request.session.get("account_authentication_methods", []) if request else []
    methods = []
    for record in records:
        method = record.get("method", "")
        if method == "socialaccount":
            method = f"sso:{record.get('provider', '')}"
        elif method == "mfa":
            method = record.get("type", "mfa")
        if method and method not in methods:
            methods.append(method)
    return methods or ["password"]


@receiver(user_logged_in, dispatch_uid="accounts.audit_sign_in")
def audit_sign_in(sender, request, user, **kwargs):
    services.record_sign_in(user, methods=_methods(request))


@receiver(user_login_failed, dispatch_uid="accounts.audit_failed_sign_in")
def audit_failed_sign_in(sender, credentials, request=None, **kwargs):
    name = credentials.get("username") or credentials.get("email") or ""
    services.record_failed_sign_in(str(name), ip=client_ip(request) if request else "")


@receiver(second_factor_failed, dispatch_uid="accounts.audit_failed_second_factor")
def audit_failed_second_factor(sender, request, user, authenticator, **kwargs):
    services.record_failed_second_factor(
        user,
        kind=str(authenticator.type),
        ip=client_ip(request) if request else "",
        reauthentication=bool(kwargs.get("reauthentication")),
    )


@receiver(user_logged_out, dispatch_uid="accounts.audit_sign_out")
def audit_sign_out(sender, request, user, **kwargs):
    if user is not None:
        services.record_sign_out(user)


@receiver(allauth_logged_in, dispatch_uid="accounts.sso_roles")
def roles_from_provider(sender, request, user, sociallogin=None, **kwargs):
    """On each SSO sign-in, the page roles named by the provider's claim (or the provider's
    default roles) replace the user's roles; a claim naming none leaves them as they are."""
    if sociallogin is None:
        return
    provider_id = sociallogin.account.provider
    providers: dict[str, Any] = settings.SOCIALACCOUNT_PROVIDERS
    apps: list[dict[str, Any]] = providers["openid_connect"]["APPS"]
    app = next((a for a in apps if a["provider_id"] == provider_id), None)
    if app is None:
        return
    data = sociallogin.account.extra_data or {}
    claims = data.get("userinfo") or data.get("id_token") or data
    values = claims.get(app["settings"]["roles_claim"]) or app["settings"]["default_roles"]
    roles = services.parse_roles(values if isinstance(values, list) else [values])
    if roles:
        services.sync_sso_roles(user, actor=user, roles=roles)
