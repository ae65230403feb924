"""Which page a public request is for: `/p/<slug>/...`, a page's custom host, or the default."""

from __future__ import annotations

import copy
import datetime
import functools
import ipaddress
import time

from django.db import connection
from django.db.models import Case, Q, Value, When
from django.http import Http404, HttpRequest
from django.utils import translation

from incidents.models import Page
from incidents.permissions import site_host

SUPPORTED = ("en", "nl")


# Pages found by slug or host in this process, re-checked against the database's version on
# every request with one precompiled query: building the ORM lookup cost more than the rest
# of a cached page. A host mapping is re-resolved after RESOLVE_TTL, so a page that takes over
# a host (or becomes the default) is found within that time.
RESOLVE_TTL = 30.0
RESOLVE_MAX = 1000
_resolved: dict[tuple[str, str], tuple[float, Page]] = {}


def forget_pages() -> None:
    """Drop this process's page lookups (tests; never needed for correctness)."""
    _resolved.clear()


def _still_current(page: Page) -> bool:
    """Whether the database still holds this page, unchanged (same row, same version)."""
    table = Page._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT version, created_at FROM {table} WHERE id = %s", [page.pk])
        row = cursor.fetchone()
    if row is None or row[0] != page.version:
        return False
    created, known = row[1], page.created_at
    if isinstance(created, str):  # a backend that returns text
        created = datetime.datetime.fromisoformat(created)
    if created.tzinfo is None:  # SQLite: naive UTC
        known = known.astimezone(datetime.UTC).replace(tzinfo=None)
    return created == known


def _lookup(slug: str | None, host: str) -> Page | None:
    if slug is not None:
        return Page.objects.filter(slug=slug).first()
    # One query: this host's page first, else the default page, else the oldest page. The main
    # site's own host is never a custom host (a row saved before that rule must not shadow `/`).
    if host == site_host():
        host = ""
    return (
        Page.objects.annotate(
            rank=Case(
                When(Q(custom_host=host) & ~Q(custom_host=""), then=Value(0)),
                When(is_default=True, then=Value(1)),
                default=Value(2),
            )
        )
        .order_by("rank", "pk")
        .first()
    )


def page_for_request(request, slug: str | None = None) -> Page:
    """The page named by the URL, else by the host, else the default page (or 404).

    Returns a copy the caller may keep; one query when this process has seen the page before.
    """
    host = "" if slug is not None else request.get_host().split(":")[0].lower().rstrip(".")
    key = ("slug", slug) if slug is not None else ("host", host)
    now = time.monotonic()
    hit = _resolved.get(key)
    if hit is not None and hit[0] > now and _still_current(hit[1]):
        return copy.copy(hit[1])
    page = _lookup(slug, host)
    if page is None:
        _resolved.pop(key, None)
        raise Http404("No status page here.")
    if len(_resolved) >= RESOLVE_MAX:
        _resolved.clear()
    _resolved[key] = (now + RESOLVE_TTL, page)
    return copy.copy(page)


def public_language(request, page: Page) -> str:
    """The visitor's explicit choice (cookie) > Accept-Language > the page's default language."""
    return visitor_language(request, page.default_language)


def visitor_language(request, default: str) -> str:
    """The visitor's explicit choice (cookie) > Accept-Language > `default` (no page needed)."""
    from django.conf import settings

    return choose_language(
        request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, ""),
        request.META.get("HTTP_ACCEPT_LANGUAGE", ""),
        default,
    )


def choose_language(chosen: str, accept_language: str, default: str) -> str:
    """`visitor_language` from the cookie's value and the Accept-Language header."""
    from django.utils.translation.trans_real import parse_accept_lang_header

    if chosen[:2] in SUPPORTED:
        return chosen[:2]
    for code, _q in parse_accept_lang_header(accept_language):
        if code == "*":
            break
        if code.split("-")[0] in SUPPORTED:
            return code.split("-")[0]
    return default if default in SUPPORTED else "en"


def _is_trusted_proxy(address: str) -> bool:
    from django.conf import settings

    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in network for network in settings.TRUSTED_PROXY_NETWORKS)


def client_ip(request) -> str:
    """The visitor's address, for rate limits.

    `X-Forwarded-For`, which anyone can send, counts only when the request came from one of
    our reverse proxies (`TRUSTED_PROXIES`): then the address is the right-most entry that is
    not itself one of those proxies (the one our first proxy saw). Otherwise REMOTE_ADDR.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    if not _is_trusted_proxy(remote):
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    for hop in reversed(hops):
        if not _is_trusted_proxy(hop):
            return hop[:64]
    return hops[0][:64] if hops else remote


class PageRequest(HttpRequest):
    """What a view under `page_view` is given: a request with the page it is for (for typing;
    `page_view` sets the attributes on Django's request)."""

    status_page: Page
    page_prefix: str  # "/p/<slug>/", or "/" when the page is served at the host's root


def page_view(view):
    """Resolve the page (slug kwarg or host) and the visitor's language for a public view.

    The view is called as `view(request, page, **kwargs)` with the language activated; the
    response varies on the headers that chose it.
    """

    from .templatetags.status import allow_accent_style

    @functools.wraps(view)
    def wrapper(request, *args, slug: str | None = None, **kwargs):
        page = page_for_request(request, slug)
        language = public_language(request, page)
        # The accent colour's inline style, also when the HTML comes from a cache.
        allow_accent_style(request, page.accent_colour)
        with translation.override(language):
            request.LANGUAGE_CODE = language
            request.status_page = page
            request.page_prefix = f"/p/{page.slug}/" if slug is not None else "/"
            response = view(request, page, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
        response.headers.setdefault("Content-Language", language)
        vary = {v.strip() for v in response.headers.get("Vary", "").split(",") if v.strip()}
        response.headers["Vary"] = ", ".join(sorted(vary | {"Accept-Language", "Cookie"}))
        return response

    return wrapper
