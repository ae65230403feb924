"""The customer view, /my/: sign-in by one-time link, the company's overview, its incidents,
and the read-only wall-screen link.

Views translate the request and call `incidents.services.customer_access` (writes) or
`statuspage.customer_view` (the read model); nothing here decides who sees what.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import login, logout
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from incidents.models import Customer, CustomerMember, Page
from incidents.services import ServiceError
from incidents.services.customer_access import (
    customer_for_wall_token,
    member_for_user,
    request_sign_in_link,
    sign_in_with_link,
)
from incidents.snapshot import page_snapshot
from incidents.snapshot_languages import localize_incident
from incidents.snapshot_types import IncidentView

from .customer_view import (
    CustomerView,
    build_customer_view,
    customer_incident,
    home_page,
    localize_view,
    view_context,
)
from .pages import SUPPORTED, client_ip, visitor_language
from .views import sibling_pages

SIGN_IN = "/my/sign-in/"
# What a wall screen reloads after (it has no session, so no websocket).
WALL_REFRESH_SECONDS = 60


class SignInForm(forms.Form):
    email = forms.EmailField(
        label=gettext_lazy("Your work email address"),
        max_length=254,
        error_messages={
            "required": gettext_lazy("Enter your email address."),
            "invalid": gettext_lazy("Enter an email address like name@example.com."),
        },
    )


def _default_page() -> Page | None:
    return Page.objects.order_by("-is_default", "pk").first()


def _render(
    request, template: str, page: Page | None, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """Render in the visitor's language with the home page's look (base template names)."""
    language = visitor_language(request, page.default_language if page else "en")
    if isinstance(context.get("view"), CustomerView):
        context.update(view_context(localize_view(context["view"], language)))
    if isinstance(context.get("incident"), IncidentView):
        context["incident"] = localize_incident(context["incident"], language)
    with translation.override(language):
        request.LANGUAGE_CODE = language
        if page is not None:
            snapshot = page_snapshot(page)
            context.setdefault("page", snapshot.page)
            context.setdefault("prefix", f"/p/{page.slug}/")
            context["other_pages"] = sibling_pages(page, include_self=True)
        context["languages"] = [(c, n) for c, n in settings.LANGUAGES if c in SUPPORTED]
        context["customer_area"] = True
        tz = page.tz if page is not None else timezone.get_default_timezone()
        with timezone.override(tz):
            response = render(request, template, context, status=status)
    response["Content-Language"] = language
    response["Cache-Control"] = "private, no-store"
    response["Vary"] = "Cookie, Accept-Language"
    return response


def _member(request) -> CustomerMember | None:
    return member_for_user(getattr(request, "user", None))


@never_cache
def sign_in(request):
    """Ask for a sign-in link. Every valid address gets the same answer; only a customer's
    gets mail."""
    page = _default_page()
    if _member(request) is not None:
        return HttpResponseRedirect("/my/")
    form = SignInForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            language = visitor_language(request, page.default_language if page else "en")
            try:
                request_sign_in_link(
                    form.cleaned_data["email"], ip=client_ip(request), language=language
                )
            except ServiceError as error:
                form.add_error("email" if error.field == "email" else None, error.message)
                status = 429 if error.code == "rate_limited" else 400
            else:
                return HttpResponseRedirect("/my/sign-in/sent/")
    return _render(request, "statuspage/my/sign_in.html", page, {"form": form}, status)


def sign_in_sent(request):
    return _render(
        request,
        "statuspage/my/sign_in_sent.html",
        _default_page(),
        {"minutes": max(1, settings.SESAME_MAX_AGE // 60)},
    )


@never_cache
def follow_link(request):
    """The link from the mail. GET shows a button (mail scanners that open links must not use
    up the one-time link); POST signs in and goes to /my/."""
    token = request.POST.get("sesame") or request.GET.get(settings.SESAME_TOKEN_NAME, "")
    page = _default_page()
    if request.method != "POST":
        return _render(request, "statuspage/my/link.html", page, {"token": token[:512]})
    try:
        member = sign_in_with_link(token[:512])
    except ServiceError as error:
        return _render(
            request, "statuspage/my/link_invalid.html", page, {"message": error.message}, 400
        )
    assert member.user is not None
    login(request, member.user, backend="django.contrib.auth.backends.ModelBackend")
    return HttpResponseRedirect("/my/")


@require_POST
def sign_out(request):
    logout(request)
    return HttpResponseRedirect(SIGN_IN)


def _overview(request, customer: Customer, *, wall: bool) -> HttpResponse:
    view = build_customer_view(customer)
    page = home_page(customer)
    context = view_context(view)
    context.update(wall=wall, wall_refresh=WALL_REFRESH_SECONDS)
    if page is None:
        return _render(request, "statuspage/my/overview.html", None, context)
    return _render(request, "statuspage/my/overview.html", page, context)


@never_cache
def overview(request):
    """The signed-in customer's overview (a sign-in form for anyone else)."""
    member = _member(request)
    if member is None:
        return HttpResponseRedirect(SIGN_IN)
    return _overview(request, member.customer, wall=False)


@never_cache
def sections(request):
    """The overview's live sections as HTML, for the page's script after a push."""
    member = _member(request)
    if member is None:
        return JsonResponse({"message": _("Sign in again.")}, status=403)
    view = build_customer_view(member.customer)
    page = home_page(member.customer)
    language = visitor_language(request, page.default_language if page else "en")
    context = view_context(localize_view(view, language))
    context.update(wall=False, prefix=f"/p/{page.slug}/" if page else "/")
    with translation.override(language), timezone.override(page.tz if page else dt.UTC):
        html = render_to_string("statuspage/my/_sections.html", context, request=request)
    response = JsonResponse({"html": html, "indicator": view.indicator})
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
def incident(request, pk: int):
    """One incident touching the customer's services (404 for anything else)."""
    member = _member(request)
    if member is None:
        return HttpResponseRedirect(SIGN_IN)
    found = customer_incident(member.customer, pk)
    if found is None:
        raise Http404(_("No such incident."))
    return _render(
        request,
        "statuspage/my/incident.html",
        home_page(member.customer),
        {"incident": found, "customer": member.customer},
    )


@never_cache
def wall(request, token: str):
    """The read-only overview for a wall screen: no session, no reports, no sign-out."""
    customer = customer_for_wall_token(token)
    if customer is None:
        raise Http404(_("This wall-screen link is not valid (any more)."))
    response = _overview(request, customer, wall=True)
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response
