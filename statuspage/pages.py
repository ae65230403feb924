"""Which page a public request is for: `/p/<slug>/...`, a page's custom host, or the default."""

from __future__ import annotations

import functools

from django.db.models import Case, Value, When
from django.http import Http404
from django.utils import translation

from incidents.models import Page

SUPPORTED = ("en", "nl")


def page_for_request(request, slug: str | None = None) -> Page:
    """The page named by the URL, else by the host, else the default page (or 404)."""
    if slug is not None:
        page = Page.objects.filter(slug=slug).first()
    else:
        host = request.get_host().split(":")[0].lower().rstrip(".")
        # One query: this host's page first, else the default page, else the oldest page.
        page = (
            Page.objects.annotate(
                rank=Case(
                    When(custom_host=host, then=Value(0)),
                    When(is_default=True, then=Value(1)),
                    default=Value(2),
                )
            )
            .order_by("rank", "pk")
            .first()
        )
    if page is None:
        raise Http404("No status page here.")
    return page


def public_language(request, page: Page) -> str:
    """The visitor's explicit choice (cookie) > Accept-Language > the page's default language."""
    from django.conf import settings
    from django.utils.translation.trans_real import parse_accept_lang_header

    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    if chosen[:2] in SUPPORTED:
        return chosen[:2]
    for code, _q in parse_accept_lang_header(request.META.get("HTTP_ACCEPT_LANGUAGE", "")):
        if code == "*":
            break
        if code.split("-")[0] in SUPPORTED:
            return code.split("-")[0]
    return page.default_language if page.default_language in SUPPORTED else "en"


def client_ip(request) -> str:
    """The visitor's address, for rate limits. Behind our reverse proxy (`USE_X_FORWARDED_FOR`)
    that is the last `X-Forwarded-For` entry, the one the proxy added; otherwise REMOTE_ADDR
    (and the header, which anyone can send, is ignored)."""
    from django.conf import settings

    if settings.USE_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        if forwarded:
            return forwarded[:64]
    return request.META.get("REMOTE_ADDR", "")


def page_view(view):
    """Resolve the page (slug kwarg or host) and the visitor's language for a public view.

    The view is called as `view(request, page, **kwargs)` with the language activated; the
    response varies on the headers that chose it.
    """

    @functools.wraps(view)
    def wrapper(request, *args, slug: str | None = None, **kwargs):
        page = page_for_request(request, slug)
        language = public_language(request, page)
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
