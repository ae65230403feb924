"""How django-allauth fits this service: no self sign-up for local accounts, SSO users are
staff whose page roles come from their provider's claim, and the sign-in throttle counts per
user name and address (statuspage.pages.client_ip honours TRUSTED_PROXIES)."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.http import HttpRequest

from statuspage.pages import client_ip


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        """Local accounts are made by an administrator (the break-glass admin, tests)."""
        return False

    def get_client_ip(self, request: HttpRequest) -> str:
        return client_ip(request) or "unknown"

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # allauth counts failed sign-ins per user name; we count per user name and address, so
        # that a stranger's guesses do not lock the engineer out from their own desk.
        name = super()._get_login_attempts_cache_key(request, **credentials)
        return f"{self.get_client_ip(request)}|{name}"


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        """A configured provider vouches for its people: their account is made on first sign-in."""
        return True

    def is_auto_signup_allowed(self, request: HttpRequest, sociallogin: Any) -> bool:
        return True

    def populate_user(self, request: HttpRequest, sociallogin: Any, data: dict) -> Any:
        user = super().populate_user(request, sociallogin, data)
        if not user.username:
            user.username = (data.get("username") or data.get("email") or "")[:150]
        user.is_staff = True  # the admin is what SSO is for; roles decide what they see
        return user

    def can_authenticate_by_email(self, login: Any, email: str) -> bool:
        # A local superuser (the break-glass admin) is never taken over by a provider that
        # happens to vouch for the same address.
        from django.contrib.auth import get_user_model

        if get_user_model().objects.filter(email__iexact=email, is_superuser=True).exists():
            return False
        return super().can_authenticate_by_email(login, email)
