"""The public pages' fast path: a GET answered from this process's copy of the cached rendering
before the middleware stack runs (issue 18).

The status page, an incident's page and the history are rendered once per page version,
language and minute (`views.cached_html`). The first request for an address goes the whole way
(page lookup, the view, every middleware: security headers, CSP, the last good copy); this
middleware, first in the list, keeps what came out (both bodies, every header but the
encoding's) and answers the next requests for the same address, scheme and visitor language
itself, 200 or 304 on the same ETag. No query: a rendering is answered only while the shared
cache's version stamp of its page (`incidents.snapshot.stamp_version`, set on every version bump
and page deletion) still names the version it was built from, and until its minute ends (30 s
for a host's root routes, as the page lookup re-resolves a host). A missing stamp (Redis down,
evicted) or anything unusual (a query string, a cookie being set, a stale copy) takes the
ordinary path.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseNotModified

from incidents.snapshot import VERSION_STAMP_SECONDS, version_stamp_key

from .pages import visitor_language

MAX_ADDRESSES = 500
# Headers that differ between the plain and the compressed body, set per answer.
PER_BODY = {"content-encoding", "content-length"}


@dataclass(frozen=True)
class Rendering:
    """What `cached_html` made for one (page version, language, address, minute)."""

    page_id: int
    stamp: str  # the page's cache_key when it was built: what its version stamp must say
    default_language: str
    language: str
    etag: str
    expires: float  # time.time() after which the ordinary path renders again
    plain: bytes
    packed: bytes  # gzip


@dataclass
class Answer:
    """A rendering with the headers the whole middleware stack gave its 200."""

    rendering: Rendering
    headers: list[tuple[str, str]]


@dataclass
class Address:
    default_language: str
    by_language: dict[str, Answer] = field(default_factory=dict)


_addresses: dict[tuple[bool, str, str], Address] = {}


def forget() -> None:
    """Drop this process's copies (tests)."""
    _addresses.clear()


def _answer(request, place: Address):
    answer = place.by_language.get(visitor_language(request, place.default_language))
    if answer is None:
        return None
    rendering = answer.rendering
    if time.time() >= rendering.expires:
        return None
    if cache.get(version_stamp_key(rendering.page_id)) != rendering.stamp:
        return None
    response: HttpResponse
    if rendering.etag in request.headers.get("If-None-Match", ""):
        response = HttpResponseNotModified()
        for name, value in answer.headers:
            response.headers[name] = value
        del response.headers["Content-Type"]
        response.headers["Content-Length"] = "0"
        return response
    gzip_ok = "gzip" in request.headers.get("Accept-Encoding", "")
    body = rendering.packed if gzip_ok else rendering.plain
    response = HttpResponse(body)
    for name, value in answer.headers:
        response.headers[name] = value
    if gzip_ok:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Content-Length"] = str(len(body))
    return response


def _keep(address: tuple[bool, str, str], response) -> None:
    rendering: Rendering | None = getattr(response, "public_rendering", None)
    if (
        rendering is None
        or response.status_code != 200
        or response.streaming
        or response.cookies  # a session or language cookie is this visitor's alone
        or "X-Status-Page-Stale" in response.headers
    ):
        return
    headers = [(k, v) for k, v in response.headers.items() if k.lower() not in PER_BODY]
    place = _addresses.get(address)
    if place is None:
        if len(_addresses) >= MAX_ADDRESSES:
            _addresses.clear()
        place = _addresses[address] = Address(rendering.default_language)
    place.default_language = rendering.default_language
    place.by_language[rendering.language] = Answer(rendering, headers)
    # A process that starts after the last change has no stamp to go by: the version it just
    # read from the database is it (`add`: a stamp set by a change is never overwritten).
    cache.add(version_stamp_key(rendering.page_id), rendering.stamp, VERSION_STAMP_SECONDS)


class PublicPageFastPath:
    """First middleware: answer a public page's GET from the kept rendering when it is current."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            not settings.PUBLIC_FAST_PATH
            or request.method not in ("GET", "HEAD")
            or request.META.get("QUERY_STRING")
        ):
            return self.get_response(request)
        address = (request.is_secure(), request.get_host().lower(), request.path)
        place = _addresses.get(address)
        if place is not None:
            response = _answer(request, place)
            if response is not None:
                return response
        response = self.get_response(request)
        _keep(address, response)
        return response
