"""The sign-in page: allauth's, answering 429 with a page that says why when sign-ins from this
address as this user are paused (the same page whether or not the account exists)."""

from __future__ import annotations

from allauth.account.views import LoginView
from django.conf import settings
from django.forms import Form
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import urlencode


def paused(request) -> HttpResponse:
    context = {
        "failure_limit": settings.SIGN_IN_FAILURE_LIMIT,
        "cooloff_minutes": settings.SIGN_IN_COOLOFF_MINUTES,
    }
    return render(request, "admin/locked_out.html", context, status=429)


class SignInView(LoginView):
    def form_invalid(self, form: Form) -> HttpResponse:
        if form.has_error("__all__", "too_many_login_attempts"):
            return paused(self.request)
        return super().form_invalid(form)


def admin_login(request) -> HttpResponse:
    """The admin's own sign-in form would skip the second factor: it sends people here."""
    target = request.GET.get("next") or "/admin/"
    return HttpResponseRedirect(f"/accounts/login/?{urlencode({'next': target})}")
