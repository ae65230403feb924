"""The public pages' fast path: a GET answered from this process's copy of the cached rendering
before the middleware stack runs (issue 18).

The status page, an incident's page and the history are rendered once per page version,
language and minute (`views.cached_html`). The first request for an address goes the whole way
(page lookup, the view, every middleware: security headers, CSP, the last good copy); the
middleware here, first in the list, keeps what came out (both bodies, every header) and answers
the next GETs for the same address (scheme, host, path) and visitor language itself, 200 or
304 on the same ETag, without a query. Under ASGI (`statuspage.asgi`) `FastPathASGI` answers
them before Django's handler, in the event loop.

A rendering is answered only while the shared cache's version stamp of its page
(`incidents.snapshot.stamp_version`, set on every version bump and page deletion) names the
version it was built from, read at most every `PUBLIC_FAST_PATH_RECHECK_SECONDS` per process,
and until its minute ends (30 s for a host's root routes, as the page lookup re-resolves a
host; then one request renders the next while the others get this one for up to 5 s more).
A missing stamp (Redis down or evicted), a query string, a signed-in visitor (a session
cookie), a response that sets a cookie or a stale last-good copy takes the ordinary path.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpResponse
from django.http.cookie import parse_cookie
from django.http.response import ResponseHeaders

from incidents.snapshot import UNREAD, forget_stamps, read_version_stamp, stamp_if_none

from .pages import choose_language

MAX_ADDRESSES = 500
# Past its minute, a rendering is still answered this long while one request renders the next
# (instead of every request at once rendering it: with 64 connections, seconds of queueing).
REFRESH_GRACE = 5.0
# Headers that differ between the plain and the compressed body, set per answer.
PER_BODY = {"content-encoding", "content-length"}

# (scheme the server saw, the proxy's scheme header, host, path): what Django's security
# middleware and host validation decide from, raw.
Key = tuple[str, str, str, str]


@dataclass(frozen=True)
class Rendering:
    """What `cached_html` made for one (page version, language, address, minute)."""

    stamp_key: str  # where the page's version stamp is (incidents.snapshot.version_stamp_key)
    stamp: str  # the page's cache_key when it was built: what its version stamp must say
    default_language: str
    language: str
    etag: str
    expires: float  # time.time() after which the ordinary path renders again
    plain: bytes
    packed: bytes  # gzip


def _raw(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]


@dataclass(frozen=True)
class Hit:
    status: int
    headers: list[tuple[str, str]]
    raw_headers: list[tuple[bytes, bytes]]  # for ASGI
    body: bytes


class Answer:
    """A rendering with the headers the whole middleware stack gave its 200 (and its 304)."""

    def __init__(self, rendering: Rendering, headers: list[tuple[str, str]]):
        self.rendering = rendering
        self.refresh_claimed = 0.0  # when a request last went to render the next minute
        common = [(k, v) for k, v in headers if k.lower() not in PER_BODY]
        plain = [*common, ("Content-Length", str(len(rendering.plain)))]
        packed = [
            *common,
            ("Content-Encoding", "gzip"),
            ("Content-Length", str(len(rendering.packed))),
        ]
        # A 304 carries the 200's headers but its body's type and length (what Django sends).
        unchanged = [(k, v) for k, v in common if k.lower() != "content-type"]
        unchanged.append(("Content-Length", "0"))
        self.plain = Hit(200, plain, _raw(plain), rendering.plain)
        self.packed = Hit(200, packed, _raw(packed), rendering.packed)
        self.not_modified = Hit(304, unchanged, _raw(unchanged), b"")


@dataclass
class Address:
    default_language: str
    by_language: dict[str, Answer] = field(default_factory=dict)


_addresses: dict[Key, Address] = {}


def forget() -> None:
    """Drop this process's copies (tests)."""
    _addresses.clear()
    forget_stamps()


def find(
    key: Key,
    chosen_language: str | None,
    accept_language: str,
    accept_encoding: str,
    if_none_match: str,
    *,
    known_only: bool = False,
) -> Hit | None | object:
    """The answer to a GET of `key` if a current rendering is kept; `UNREAD` when `known_only`
    and the version stamp must be read from the cache first."""
    place = _addresses.get(key)
    if place is None or chosen_language is None:
        return None
    language = choose_language(chosen_language, accept_language, place.default_language)
    answer = place.by_language.get(language)
    if answer is None:
        return None
    rendering = answer.rendering
    now = time.time()
    if now >= rendering.expires:
        # One request renders the new minute; meanwhile the others still get this one (its
        # version is still checked below), for at most REFRESH_GRACE seconds.
        late = now >= rendering.expires + REFRESH_GRACE
        if late or answer.refresh_claimed + REFRESH_GRACE < now:
            answer.refresh_claimed = now
            return None
    stamp = read_version_stamp(
        rendering.stamp_key,
        fresh_for=settings.PUBLIC_FAST_PATH_RECHECK_SECONDS,
        known_only=known_only,
    )
    if stamp is UNREAD:
        return UNREAD
    if stamp != rendering.stamp:
        return None
    if rendering.etag in if_none_match:
        return answer.not_modified
    return answer.packed if "gzip" in accept_encoding else answer.plain


def keep(key: Key, response) -> None:
    """Keep a response of the ordinary path when `cached_html` made it and it is everyone's."""
    rendering: Rendering | None = getattr(response, "public_rendering", None)
    if (
        rendering is None
        or response.status_code != 200
        or response.streaming
        or response.cookies  # a session or language cookie is this visitor's alone
        or "X-Status-Page-Stale" in response.headers
    ):
        return
    place = _addresses.get(key)
    if place is None:
        if len(_addresses) >= MAX_ADDRESSES:
            _addresses.clear()
        place = _addresses[key] = Address(rendering.default_language)
    place.default_language = rendering.default_language
    place.by_language[rendering.language] = Answer(rendering, list(response.headers.items()))
    # A process that starts after the last change has no stamp to go by: the version it just
    # read from the database is it (a stamp set by a change is never overwritten).
    stamp_if_none(rendering.stamp_key, rendering.stamp)


def visitor_choice(cookies: dict[str, str]) -> str | None:
    """The language cookie's value ("" without one); None for a signed-in visitor (a session
    cookie), who takes the ordinary path: what a signed-in person sees is decided there."""
    if settings.SESSION_COOKIE_NAME in cookies:
        return None
    return cookies.get(settings.LANGUAGE_COOKIE_NAME, "")


def _proxy_header() -> str:
    """The request header (META name) that says the scheme behind a proxy, or ""."""
    proxy = settings.SECURE_PROXY_SSL_HEADER
    return proxy[0] if proxy else ""


def request_key(request) -> Key:
    proxy = _proxy_header()
    return (
        request._get_scheme(),
        request.META.get(proxy, "") if proxy else "",
        request._get_raw_host().lower(),  # X-Forwarded-Host, Host or the server's name
        request.path,
    )


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
        key = request_key(request)
        meta = request.META
        hit = find(
            key,
            visitor_choice(request.COOKIES),
            meta.get("HTTP_ACCEPT_LANGUAGE", ""),
            meta.get("HTTP_ACCEPT_ENCODING", ""),
            meta.get("HTTP_IF_NONE_MATCH", ""),
        )
        if isinstance(hit, Hit):
            response = HttpResponse(hit.body, status=hit.status)
            response.headers = ResponseHeaders(dict(hit.headers))
            return response
        response = self.get_response(request)
        keep(key, response)
        return response


class FastPathASGI:
    """In front of Django's ASGI handler: a hit is answered in the event loop (no thread, no
    request object); everything else goes to Django, whose first middleware keeps renderings."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and not scope.get("query_string")
            and not scope.get("root_path")
            and settings.PUBLIC_FAST_PATH
        ):
            hit = await self._find(scope)
            if hit is not None:
                await send(
                    {
                        "type": "http.response.start",
                        "status": hit.status,
                        "headers": hit.raw_headers,
                    }
                )
                await send({"type": "http.response.body", "body": hit.body})
                return
        await self.app(scope, receive, send)

    async def _find(self, scope) -> Hit | None:
        headers = dict(scope["headers"])
        host = headers.get(b"host")
        if settings.USE_X_FORWARDED_HOST and b"x-forwarded-host" in headers:
            host = headers[b"x-forwarded-host"]
        if not host:
            return None
        proxy = _proxy_header()
        proxy_name = proxy[5:].replace("_", "-").lower().encode() if proxy else b""
        key = (
            scope.get("scheme", "http"),
            headers.get(proxy_name, b"").decode("latin-1") if proxy else "",
            host.decode("latin-1").lower(),
            scope["path"],
        )
        cookie = headers.get(b"cookie")
        chosen = visitor_choice(parse_cookie(cookie.decode("latin-1")) if cookie else {})
        args = (
            key,
            chosen,
            headers.get(b"accept-language", b"").decode("latin-1"),
            headers.get(b"accept-encoding", b"").decode("latin-1"),
            headers.get(b"if-none-match", b"").decode("latin-1"),
        )
        hit = find(*args, known_only=True)
        if hit is UNREAD:  # the stamp is read from the cache (Redis) off the event loop
            hit = await sync_to_async(find, thread_sensitive=False)(*args)
        return hit if isinstance(hit, Hit) else None


class FastPathWSGI:
    """In front of Django's WSGI handler (gunicorn): a hit is answered without building a
    request or running the handler's signals; everything else goes to Django."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if (
            environ.get("REQUEST_METHOD") == "GET"
            and not environ.get("QUERY_STRING")
            and not environ.get("SCRIPT_NAME")
            and path.isascii()  # as Django decodes it
            and settings.PUBLIC_FAST_PATH
        ):
            hit = find(*self._request(environ, path))
            if isinstance(hit, Hit):
                start_response(STATUS_LINES[hit.status], hit.headers)
                return [hit.body]
        return self.app(environ, start_response)

    @staticmethod
    def _request(environ, path: str) -> tuple[Key, str | None, str, str, str]:
        proxy = _proxy_header()
        if settings.USE_X_FORWARDED_HOST and "HTTP_X_FORWARDED_HOST" in environ:
            host = environ["HTTP_X_FORWARDED_HOST"]
        elif "HTTP_HOST" in environ:
            host = environ["HTTP_HOST"]
        else:  # as Django's HttpRequest._get_raw_host
            host = environ.get("SERVER_NAME", "")
            port = str(environ.get("SERVER_PORT", ""))
            if port != ("443" if environ.get("wsgi.url_scheme") == "https" else "80"):
                host = f"{host}:{port}"
        key = (
            environ.get("wsgi.url_scheme", "http"),
            environ.get(proxy, "") if proxy else "",
            host.lower(),
            path,
        )
        cookie = environ.get("HTTP_COOKIE")
        chosen = visitor_choice(parse_cookie(cookie) if cookie else {})
        return (
            key,
            chosen,
            environ.get("HTTP_ACCEPT_LANGUAGE", ""),
            environ.get("HTTP_ACCEPT_ENCODING", ""),
            environ.get("HTTP_IF_NONE_MATCH", ""),
        )


STATUS_LINES = {200: "200 OK", 304: "304 Not Modified"}
