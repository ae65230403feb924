"""Public subscription pages: subscribe (double opt-in), confirm, preferences, unsubscribe.

No page here says whether an address is subscribed. Manage and unsubscribe links carry the
subscriber's secret token, so they need no login; unsubscribing is one POST (also the RFC 8058
one-click POST that mail clients send).
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from incidents import visibility
from incidents.models import Component, Page, Visibility
from incidents.ratelimit import take_attempt
from incidents.services import ServiceError
from incidents.services.audit import Actor
from incidents.snapshot import page_snapshot
from statuspage.pages import client_ip, page_view
from statuspage.views import page_context

from . import services
from .forms import PreferencesForm, SubscribeForm
from .models import Subscriber

RATE_WINDOW = 3600


def _over_limit(kind: str, value: str, limit: int) -> bool:
    """Count one attempt for (kind, value); True when past `limit` an hour."""
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return not take_attempt(f"subscribe-rate:{kind}:{digest}", limit, RATE_WINDOW)


def _render(request, page: Page, template: str, extra: dict, status: int = 200, snapshot=None):
    context = page_context(request, page, snapshot or page_snapshot(page, request.LANGUAGE_CODE))
    context.update(extra)
    return render(request, template, context, status=status)


@require_http_methods(["GET", "POST"])
@page_view
def subscribe(request, page: Page):
    snapshot = page_snapshot(page, request.LANGUAGE_CODE)
    initial = {"language": request.LANGUAGE_CODE}
    if request.method == "GET":
        form = SubscribeForm(snapshot=snapshot, initial=initial)
        return _render(
            request, page, "notifications/subscribe.html", {"form": form}, snapshot=snapshot
        )
    form = SubscribeForm(request.POST, snapshot=snapshot, initial=initial)
    if not form.is_valid():
        return _render(request, page, "notifications/subscribe.html", {"form": form}, 400)
    email = form.cleaned_data["email"].strip().lower()
    ip = client_ip(request)
    limited = _over_limit("ip", ip, settings.NOTIFICATIONS_SUBSCRIBE_RATE_IP)
    limited |= bool(email) and _over_limit(
        "email", f"{page.pk}:{email}", settings.NOTIFICATIONS_SUBSCRIBE_RATE_EMAIL
    )
    if limited:
        form.add_error(None, _("Too many attempts. Please wait an hour and try again."))
        return _render(request, page, "notifications/subscribe.html", {"form": form}, 429)
    if not form.cleaned_data["website"]:
        language = form.cleaned_data["language"] or request.LANGUAGE_CODE
        kind = form.cleaned_data["kind"] or "email"
        try:
            if kind == "email":
                services.subscribe(
                    page,
                    email=email,
                    components=form.cleaned_data["components"],
                    language=language,
                    actor=Actor.visitor(),
                )
            else:  # confirmed by the owner's email first, like an email subscription
                services.add_endpoint(
                    page,
                    kind=kind,
                    endpoint=form.cleaned_data["endpoint"],
                    email=email,
                    components=form.cleaned_data["components"],
                    language=language,
                    actor=Actor.visitor(),
                )
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            return _render(request, page, "notifications/subscribe.html", {"form": form}, 400)
    # The same answer for a new, pending or confirmed address.
    return _render(request, page, "notifications/subscribe_sent.html", {"email": email})


@never_cache  # secret-token pages: "private, no-store", no shared cache or disk keeps them
@require_http_methods(["GET", "POST"])
@page_view
def confirm(request, page: Page, signed: str):
    if request.method == "GET":
        # Link scanners open links: confirming takes a deliberate POST.
        return _render(request, page, "notifications/confirm.html", {"signed": signed})
    try:
        subscriber = services.confirm(page, signed)  # the subscriber is the actor
    except ServiceError as exc:
        return _render(request, page, "notifications/confirm.html", {"error": exc.message}, 400)
    if subscriber.kind == Subscriber.Kind.WEBHOOK:
        # The signing secret is shown here, once: confirming again gives a new one.
        context = {"subscriber": subscriber, "secret": subscriber.secret}
        return _render(request, page, "notifications/webhook_confirmed.html", context)
    return HttpResponseRedirect(
        f"{request.page_prefix}subscription/{subscriber.token}/?confirmed=1"
    )


def _subscriber(page: Page, token: str) -> Subscriber:
    subscriber = Subscriber.objects.filter(page=page, token=token).first()
    if subscriber is None:
        raise Http404(_("This link is not valid (any more)."))
    return subscriber


def _own_components(page: Page, subscriber: Subscriber) -> list[tuple[str, str]]:
    """A customer's subscriber also chooses among its customer's own (customer-only)
    components of the page; nobody else sees them here."""
    if subscriber.customer is None:
        return []
    own = (
        visibility.components_visible_to(subscriber.customer, Component.objects.filter(page=page))
        .exclude(visibility=Visibility.PUBLIC)
        .select_related("group")
        .order_by("position", "id")
    )
    return [(str(c.pk), str(c)) for c in own]


@never_cache
@require_http_methods(["GET", "POST"])
@page_view
def manage(request, page: Page, token: str):
    subscriber = _subscriber(page, token)
    snapshot = page_snapshot(page, request.LANGUAGE_CODE)
    own = _own_components(page, subscriber)
    if request.method == "POST":
        form = PreferencesForm(request.POST, snapshot=snapshot, own_components=own)
        if form.is_valid():
            try:
                services.update_preferences(
                    subscriber,
                    components=form.cleaned_data["components"],
                    language=form.cleaned_data["language"] or subscriber.language,
                    actor=Actor.subscriber(subscriber),
                )
            except ServiceError as exc:
                form.add_error("components", exc.message)
            else:
                return HttpResponseRedirect(f"{request.path}?saved=1")
        status = 400
    else:
        chosen = [str(pk) for pk in subscriber.components.values_list("pk", flat=True)]
        form = PreferencesForm(
            snapshot=snapshot,
            own_components=own,
            initial={"components": chosen, "language": subscriber.language},
        )
        status = 200
    context = {
        "form": form,
        "subscriber": subscriber,
        "saved": request.GET.get("saved") == "1",
        "confirmed": request.GET.get("confirmed") == "1",
    }
    return _render(request, page, "notifications/manage.html", context, status)


@never_cache
@csrf_exempt  # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" without a form
@require_http_methods(["GET", "POST"])
@page_view
def unsubscribe(request, page: Page, token: str):
    subscriber = _subscriber(page, token)
    if request.method == "POST":
        services.unsubscribe(subscriber, actor=Actor.subscriber(subscriber))
    context = {"subscriber": subscriber, "done": subscriber.unsubscribed_at is not None}
    return _render(request, page, "notifications/unsubscribe.html", context)
