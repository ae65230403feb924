"""Session hygiene in front of the engineers' pages (`/admin/`, `/accounts/`): active sessions,
the idle timeout, and REQUIRE_MFA for the admin.

They read the session and the user before any view runs, so a database that is down would be a
500 there (PartUnavailableMiddleware only sees views' exceptions): each answers the readable 503
itself. Public pages never sign anyone in, so these checks stay off them: a visitor with a session
cookie is served from the last good copy when the database is down, like everyone else.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from statuspage.middleware import database_unavailable_response

# How often the last-seen stamp is written (seconds): not a session write on every request.
_STAMP_EVERY = 60
SIGNED_IN_PATHS = ("/admin/", "/accounts/")


class SignedInAreaMiddleware:
    """Runs `check` on the engineers' paths only; an answer from it ends the request there."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(SIGNED_IN_PATHS):
            try:
                response = self.check(request)
            except Exception as exc:
                response = database_unavailable_response(request, exc)
                if response is None:
                    raise
            if response is not None:
                return response
        return self.get_response(request)

    def check(self, request) -> HttpResponse | None:
        raise NotImplementedError


class UserSessionsMiddleware(SignedInAreaMiddleware):
    """allauth's list of a person's active sessions: their last activity and address."""

    def check(self, request) -> HttpResponse | None:
        from allauth.usersessions.internal import usersessionkit

        usersessionkit.track_activity(
            request,
            user=getattr(request, "user", None),
            session=getattr(request, "session", None),
        )
        return None


class IdleTimeoutMiddleware(SignedInAreaMiddleware):
    """Sign a person out after SESSION_IDLE_MINUTES without a request (0: never)."""

    def check(self, request) -> HttpResponse | None:
        idle = settings.SESSION_IDLE_MINUTES
        if idle and request.session.session_key and request.user.is_authenticated:
            now = int(time.time())
            last = request.session.get("last_seen")
            if last is not None and now - last > idle * 60:
                logout(request)
                messages.info(request, _("You were signed out after a while without activity."))
                login = reverse("account_login")
                return HttpResponseRedirect(f"{login}?{urlencode({'next': request.path})}")
            elif last is None or now - last >= _STAMP_EVERY:
                request.session["last_seen"] = now
        return None


def needs_second_factor(user) -> bool:
    """Whether REQUIRE_MFA keeps this staff user out of the admin until they add a factor."""
    if not settings.REQUIRE_MFA or not user.is_authenticated or not user.is_staff:
        return False
    if not user.has_usable_password() and not settings.REQUIRE_MFA_FOR_SSO:
        return False  # an SSO-only user: their provider's MFA counts
    from allauth.mfa.models import Authenticator

    return not Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    ).exists()


class RequireMFAMiddleware(SignedInAreaMiddleware):
    """With REQUIRE_MFA=1, every admin page sends a staff user without a second factor to add
    one first (signing out stays possible)."""

    def check(self, request) -> HttpResponse | None:
        if (
            settings.REQUIRE_MFA
            and request.path.startswith("/admin/")
            and request.path != reverse("admin:logout")
            and needs_second_factor(request.user)
        ):
            messages.warning(
                request,
                _("Add a second factor (an authenticator app or a passkey) to use the admin."),
            )
            return HttpResponseRedirect(reverse("mfa_index"))
        return None
