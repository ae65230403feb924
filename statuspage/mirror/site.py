"""Build the mirror's files: every public path of every page, rendered by the app's own views.

The pages are fetched through the real URLconf with Django's test client (same middleware,
views, templates and caches as a visitor gets), starting from each page's root and its
machine-readable endpoints and following the links the pages themselves show, so the mirror
holds exactly what is public and never drifts from the app. Then, per copy:

- `/<path>` is each page in its default language (as a first visit to the app shows it), and
  `/<lang>/<path>` each supported language; links are rewritten to stay in their language tree
  and the language switch points at the other tree (static hosting cannot set a cookie);
- CSS/JS get content-hashed names; text files get `.gz` and `.br` siblings (nginx's
  `gzip_static` and, where the module is installed, `brotli_static`);
- a page with a custom host also gets a tree of its own, `hosts/<host>/`, laid out as the app
  serves that host (the page at `/`, its links without `/p/<slug>/`), for that host's DNS or
  CDN to point at;
- every HTML page gets the standby note (and the stale-heartbeat warning its script shows); a
  page carries the time its snapshot last changed, never the publish time, so a heartbeat that
  finds nothing new rewrites `/mirror.json` alone (the script reads the heartbeat's age there);
- links to what only the live app can do (report form, subscribe) get a small page saying so,
  with the numbers to call;
- `/mirror.json` names the publish time and each page's version (the heartbeat).
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import StreamingHttpResponse
from django.template.loader import render_to_string
from django.test import Client
from django.urls import Resolver404, resolve
from django.utils import timezone, translation

from incidents.models import Page
from incidents.models.pages import request_site_url
from incidents.snapshot import page_snapshot

from ..pages import SUPPORTED

HEARTBEAT_FILE = "mirror.json"
NOT_FOUND_FILE = "404.html"
# Routes (url names in statuspage.page_urls) whose GET is the same for every visitor.
MIRRORED_ROUTES = {
    "status",
    "incident",
    "history",
    "history-month",
    "api-v2-summary",
    "api-v2-status",
    "api-v2-components",
    "api-v2-incidents",
    "api-v2-unresolved",
    "api-v2-scheduled-maintenances",
    "api-v2-upcoming",
    "api-v2-active",
    "handout",
    "handout-pdf",
    "phone-json",
    "phone-txt",
    "feed-atom",
    "feed-rss",
    "live",
    "badge",
    "component-badge",
}
# What no page links to but clients fetch: the JSON APIs, the feeds, the phone line, live.json.
SEEDS = (
    "",
    "live.json",
    "history/",
    "history.atom",
    "history.rss",
    "handout/",
    "handout.pdf",
    "phone.json",
    "phone.txt",
    "api/v2/summary.json",
    "api/v2/status.json",
    "api/v2/components.json",
    "api/v2/incidents.json",
    "api/v2/incidents/unresolved.json",
    "api/v2/scheduled-maintenances.json",
    "api/v2/scheduled-maintenances/upcoming.json",
    "api/v2/scheduled-maintenances/active.json",
    "badge.svg",
)
HOSTS_DIR = "hosts"
COMPRESSED = {".gz": "gzip", ".br": "br"}
COMPRESSIBLE: tuple[str, ...] = (
    "text/",
    "application/json",
    "application/javascript",
    "application/atom+xml",
)
COMPRESSIBLE += ("application/rss+xml", "application/xml", "image/svg+xml")
LINK = re.compile(r'\b(?P<attr>href|src|data-prefix)=(?P<q>\\?")(?P<url>/[^"\\]*)(?P=q)')
NONCE = re.compile(r' nonce="[^"]*"')
HASHED = re.compile(r"\.[0-9a-f]{12}\.[A-Za-z0-9]+$")


class MirrorBuildError(Exception):
    """A public path did not render: nothing is published from a half-built copy."""


@dataclass(frozen=True)
class MirrorFile:
    body: bytes
    content_type: str
    encoding: str = ""  # "gzip" or "br" for a pre-compressed sibling

    @property
    def digest(self) -> str:
        return hashlib.md5(self.body, usedforsecurity=False).hexdigest()


@dataclass
class Site:
    """The files of one publish, by path relative to the mirror's root (`p/it/index.html`)."""

    files: dict[str, MirrorFile] = field(default_factory=dict)
    published_at: dt.datetime = field(default_factory=timezone.now)
    versions: dict[str, int] = field(default_factory=dict)
    # The pages this copy was built for (None: all of them); other pages' files are kept.
    only: frozenset[str] | None = None
    default_slug: str = ""
    hosts: dict[str, str] = field(default_factory=dict)  # custom host -> page slug

    @property
    def bytes(self) -> int:
        return sum(len(f.body) for f in self.files.values())


def file_path(url_path: str) -> str:
    """`/p/it/` -> `p/it/index.html`; `/p/it/live.json` -> `p/it/live.json`."""
    path = url_path.lstrip("/")
    return path + "index.html" if path == "" or path.endswith("/") else path


def uncompressed(path: str) -> str:
    """`p/it/index.html.br` -> `p/it/index.html`: the file a pre-compressed sibling stands for."""
    for suffix in COMPRESSED:
        if path.endswith(suffix):
            return path[: -len(suffix)]
    return path


def owner(path: str, default_slug: str, hosts: dict[str, str] | None = None) -> str | None:
    """The page slug a mirror file belongs to (None: shared, such as assets and mirror.json).
    `hosts` (custom host -> slug) names the owners of the custom hosts' trees."""
    parts = uncompressed(path).split("/")
    if parts[0] == HOSTS_DIR and len(parts) > 2:
        return (hosts or {}).get(parts[1], parts[1])
    if parts[0] in SUPPORTED and len(parts) > 1:
        parts = parts[1:]
    if parts[0] == "static" or (len(parts) == 1 and parts[0] in {HEARTBEAT_FILE, NOT_FOUND_FILE}):
        return None
    if parts[0] == "p" and len(parts) > 2:
        return parts[1]
    return default_slug


def content_type_for(path: str) -> str:
    """The Content-Type a file of the mirror is served with (as nginx's mime.types says)."""
    name = uncompressed(path)
    if name.endswith((".atom",)):
        return "application/atom+xml; charset=utf-8"
    if name.endswith(".rss"):
        return "application/rss+xml; charset=utf-8"
    guessed = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if guessed.startswith("text/") or guessed in {"application/json", "application/javascript"}:
        guessed += "; charset=utf-8"
    return guessed


# Compressed bodies by (digest, encoding): a heartbeat or a change to one page recompresses
# only what changed (compressing every file was most of a publish).
_packed: dict[tuple[str, str], bytes] = {}
PACKED_MAX = 8000
# Brotli's densest level for assets (compressed once, cached for good); pages change with the
# page, and quality 11 costs ~14x gzip -9's CPU (most of a one-page publish) for ~10% less
# than quality 5, which is still about half of gzip's size.
BROTLI_QUALITY_ASSETS = 11
BROTLI_QUALITY_PAGES = 5


def _compress(path: str, body: bytes, encoding: str) -> bytes:
    if encoding == "br":
        import brotli  # type: ignore[import-untyped]

        asset = path.startswith("static/") or "/static/" in path
        quality = BROTLI_QUALITY_ASSETS if asset else BROTLI_QUALITY_PAGES
        return brotli.compress(body, quality=quality)
    return gzip.compress(body, compresslevel=9, mtime=0)


def with_compressed(files: dict[str, MirrorFile]) -> dict[str, MirrorFile]:
    """The files plus `.gz` and `.br` siblings of each text file (deterministic: no name, no
    time, so an unchanged file has unchanged siblings)."""
    result = {}
    for path, item in files.items():
        result[path] = item
        if item.content_type.startswith(COMPRESSIBLE) and len(item.body) > 256:
            digest = item.digest
            for suffix, encoding in COMPRESSED.items():
                packed = _packed.get((digest, encoding))
                if packed is None:
                    packed = _compress(path, item.body, encoding)
                    if len(_packed) >= PACKED_MAX:
                        _packed.clear()
                    _packed[(digest, encoding)] = packed
                result[path + suffix] = MirrorFile(packed, item.content_type, encoding)
    return result


def _static_prefix() -> str:
    return "/" + settings.STATIC_URL.lstrip("/")


class _Builder:
    def __init__(self, only: Iterable[str] | None):
        self.pages = {p.slug: p for p in Page.objects.order_by("pk")}
        default = next((p for p in self.pages.values() if p.is_default), None)
        # None only when there are no pages at all: build() then returns an empty copy.
        self.default: Page | None = default or next(iter(self.pages.values()), None)
        self.default_slug: str = self.default.slug if self.default is not None else ""
        self.only = frozenset(only) if only is not None else None
        unknown = sorted(set(self.only or ()) - set(self.pages))
        if unknown:
            raise MirrorBuildError(f"No such page: {', '.join(unknown)}")
        self.snapshots = {slug: page_snapshot(page) for slug, page in self.pages.items()}
        self.host = self._host()
        self.now = timezone.now()
        self.assets: dict[str, str] = {}  # app static URL -> mirror URL
        self.files: dict[str, MirrorFile] = {}
        self.language_free: dict[str, tuple[bytes, str]] = {}
        self.unavailable: set[tuple[str | None, str]] = set()
        self.blocks: dict[tuple[str, str], str] = {}

    @staticmethod
    def _host() -> str:
        """A host the app answers for: SITE_URL's when allowed, else the first plain one."""
        from django.http.request import validate_host

        site = urlsplit(settings.SITE_URL).hostname or ""
        hosts = list(settings.ALLOWED_HOSTS)
        if site and validate_host(site, hosts):
            return site
        plain = [h for h in hosts if h and not h.startswith(".") and h != "*"]
        return plain[0] if plain else "localhost"

    def wanted(self, slug: str | None) -> bool:
        return slug is not None and (self.only is None or slug in self.only)

    # --- fetching -----------------------------------------------------------------------
    def crawl(self, language: str | None) -> dict[str, tuple[bytes, str]]:
        client = _client(self.host)
        client.cookies.clear()
        if language:
            client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        queue: list[str] = []
        for page_slug in self.pages:
            if self.wanted(page_slug) and self.in_tree(page_slug, language):
                queue += [f"/p/{page_slug}/{suffix}" for suffix in SEEDS]
                # A badge per public component (the snapshot holds only the visible ones).
                queue += [
                    f"/p/{page_slug}/components/{pk}/badge.svg"
                    for pk in self.snapshots[page_slug].components
                ]
        seen: set[str] = set()
        fetched: dict[str, tuple[bytes, str]] = {}
        while queue:
            path = queue.pop(0)
            if path in seen:
                continue
            seen.add(path)
            slug = owner(file_path(path), self.default_slug)
            if not (self.wanted(slug) and self.in_tree(slug, language)):
                continue
            if not self._mirrored(path):
                self.unavailable.add((language, path))
                continue
            if language and path in self.language_free:  # the v2 JSON speaks no language
                fetched[path] = self.language_free[path]
                continue
            # Links name the public site (SITE_URL), never the crawl's own host.
            pinned = request_site_url.set(settings.SITE_URL)
            try:
                response = client.get(path)
            finally:
                request_site_url.reset(pinned)
            if response.status_code == 404:
                continue  # a link to something that has gone: the app shows a 404 too
            if response.status_code != 200:
                raise MirrorBuildError(f"{path} answered {response.status_code}")
            body = (
                b"".join(response.streaming_content)
                if isinstance(response, StreamingHttpResponse)
                else bytes(response.content)
            )
            content_type = response.get("Content-Type", "application/octet-stream")
            fetched[path] = (body, content_type)
            if "/api/v2/" in path and language is None:
                self.language_free[path] = (body, content_type)
            if content_type.startswith("text/html"):
                for match in LINK.finditer(body.decode()):
                    link = urlsplit(match["url"]).path
                    if match["attr"] == "href" and not link.startswith(
                        (_static_prefix(), "/language/")
                    ):
                        queue.append(link)
        return fetched

    def default_language(self, slug: str | None) -> str:
        page = self.pages.get(slug or "") or self.default
        if page is None:
            raise MirrorBuildError("There are no pages to mirror.")
        return page.default_language if page.default_language in SUPPORTED else "en"

    def in_tree(self, slug: str | None, language: str | None) -> bool:
        """Whether a page has a `/<language>/` tree: not in its default language (that one is
        the unprefixed tree, as a first visit to the app shows it)."""
        return language is None or (slug in self.pages and self.default_language(slug) != language)

    def in_language(self, path: str, language: str | None) -> str:
        """The mirror path of an app path in a language (None: the page's default)."""
        slug = owner(file_path(path), self.default_slug)
        return f"/{language}{path}" if self.in_tree(slug, language) and language else path

    def _mirrored(self, path: str) -> bool:
        try:
            match = resolve(path)
        except Resolver404:
            return False
        return match.url_name in MIRRORED_ROUTES and match.namespace in {"by-slug", "by-host"}

    # --- rewriting ----------------------------------------------------------------------
    def asset(self, url: str) -> str:
        """The content-hashed mirror URL of one static file (and the file added to the copy)."""
        if url in self.assets:
            return self.assets[url]
        name = unquote(urlsplit(url).path[len(_static_prefix()) :])
        body = None
        try:
            with staticfiles_storage.open(name) as handle:
                body = handle.read()
        except (OSError, ValueError):
            found = finders.find(name)
            if found:
                with open(found, "rb") as handle:
                    body = handle.read()
        if body is None:
            raise MirrorBuildError(f"static file {name} not found")
        if not HASHED.search(name):
            stem, dot, extension = name.rpartition(".")
            digest = hashlib.md5(body, usedforsecurity=False).hexdigest()[:12]
            name = f"{stem}.{digest}.{extension}" if dot else f"{name}.{digest}"
        self.files[f"static/{name}"] = MirrorFile(body, content_type_for(name))
        self.assets[url] = f"{_static_prefix()}{name}"
        return self.assets[url]

    def localize(self, text: str, language: str | None) -> str:
        """Point a page's links into its language tree, and its assets at their hashed names."""

        def replace(match: re.Match) -> str:
            url, quote = match["url"], match["q"]
            if url.startswith("//"):
                return match[0]
            if url.startswith(_static_prefix()):
                url = self.asset(url)
            elif url.startswith("/language/"):
                code = url.split("/")[2]
                target = unquote(dict(_query(url)).get("next", "/"))
                url = self.in_language(target if target.startswith("/") else "/", code)
            elif language:
                url = self.in_language(url, language)
            return f"{match['attr']}={quote}{url}{quote}"

        return LINK.sub(replace, text)

    def standby_block(self, slug: str, language: str) -> str:
        """The standby note and its stale-heartbeat warning for one page in one language."""
        key = (slug, language)
        if key not in self.blocks:
            page = self.pages[slug]
            with translation.override(language), timezone.override(page.tz):
                self.blocks[key] = render_to_string(
                    "mirror/standby.html",
                    {
                        "page": self.snapshots[slug].page,
                        "changed_at": self.snapshots[slug].changed_at(),
                        "stale_after": settings.MIRROR_STALE_SECONDS,
                        "hours": _hours(self.snapshots[slug]),
                    },
                )
        return self.blocks[key]

    def finish_html(self, html: str, slug: str, language: str | None) -> str:
        # The app's CSP nonce is new on every request; static hosting sends no CSP, and a
        # nonce would make every heartbeat rewrite every page.
        html = NONCE.sub("", self.localize(html, language))
        found = re.search(r'<html lang="([a-z]{2})', html)
        lang = found.group(1) if found else (language or "en")
        block = self.standby_block(slug, lang)
        main = re.search(r"<main\b[^>]*>", html) or re.search(r"<body\b[^>]*>", html)
        if main:
            html = html[: main.end()] + block + html[main.end() :]
        script = f'<script src="{self.asset(_static_prefix() + "statuspage/mirror.js")}" defer>'
        return html.replace("</body>", f"{script}</script></body>", 1)

    def phone_json(self, body: bytes, slug: str) -> bytes:
        """phone.json with `generated_at` the time the page's content last changed (as its
        pages say), not the time of this build: an unchanged answer keeps its bytes, and
        mirror.json says when the copy was last checked."""
        document = json.loads(body)
        stamp = self.snapshots[slug].changed_at().astimezone(dt.UTC).isoformat()
        document["generated_at"] = stamp.replace("+00:00", "Z")
        return json.dumps(document, ensure_ascii=False).encode()

    def unavailable_page(self, slug: str, language: str | None, path: str) -> str:
        page = self.pages[slug]
        lang = language or (page.default_language if page.default_language in SUPPORTED else "en")
        snapshot = self.snapshots[slug]
        home = "/" if slug == self.default_slug and not path.startswith("/p/") else f"/p/{slug}/"
        home = self.in_language(home, language)
        with translation.override(lang), timezone.override(page.tz):
            html = render_to_string(
                "mirror/unavailable.html",
                {
                    "page": snapshot.page,
                    "home": home,
                    "stylesheet": _static_prefix() + "statuspage/status.css",
                    "LANG": lang,
                },
            )
        return self.finish_html(html, slug, None)

    def copy_default_page_to_root(self) -> None:
        """The default page at `/` too (as the app serves it), as a copy of `/p/<slug>/`:
        rendering it twice cost as much again, and its links to `/p/<slug>/...` all work."""
        if not self.wanted(self.default_slug):
            return
        base = f"p/{self.default_slug}/"
        for path, item in list(self.files.items()):
            for tree in ("", *(f"{code}/" for code in SUPPORTED)):
                if path.startswith(tree + base):
                    self.files[tree + path[len(tree + base) :]] = item

    def copy_custom_hosts(self) -> None:
        """A page with a custom host gets `hosts/<host>/`: its files at the root of that tree
        (as the app serves them on that host), links rewritten to match, with the assets and
        the 404 page beside them, so the tree is complete on its own (a bucket prefix or a
        CDN origin path works as well as an nginx root)."""
        shared = {path: item for path, item in self.files.items() if path.startswith("static/")}
        for slug, page in self.pages.items():
            if not page.custom_host or not self.wanted(slug):
                continue
            tree = f"{HOSTS_DIR}/{page.custom_host}/"
            prefix = f"p/{slug}/"
            for path, item in list(self.files.items()):
                for language in ("", *(f"{code}/" for code in SUPPORTED)):
                    if path.startswith(language + prefix):
                        rest = path[len(language + prefix) :]
                        self.files[tree + language + rest] = self.on_host(item, slug)
            for path, item in shared.items():
                self.files[tree + path] = item
            with translation.override(self.default_language(slug)):
                not_found = render_to_string("404.html", {})
            html = self.finish_html(not_found, slug, None).encode()
            self.files[tree + NOT_FOUND_FILE] = self.on_host(
                MirrorFile(html, "text/html; charset=utf-8"), slug
            )

    def on_host(self, item: MirrorFile, slug: str) -> MirrorFile:
        """A file of page `slug` as its custom host serves it: `/p/<slug>/x` is `/x` there (and
        `/nl/p/<slug>/x` is `/nl/x`); a link to another page goes to the main mirror
        (`MIRROR_PUBLIC_URL`), else to the app's own address (`SITE_URL`): that page's files
        are in the main tree, published with that page."""
        if not (
            item.content_type.startswith("text/html")
            or item.content_type.startswith("application/json")
        ):
            return item
        own = re.compile(rf"^(/(?:{'|'.join(SUPPORTED)})?)/?p/{re.escape(slug)}/")
        elsewhere = (settings.MIRROR_PUBLIC_URL or settings.SITE_URL or "").rstrip("/")

        def replace(match: re.Match) -> str:
            url, quote = match["url"], match["q"]
            if url.startswith(("//", _static_prefix())):
                return match[0]
            mine = own.match(url)
            if mine:
                url = mine.group(1).rstrip("/") + "/" + url[mine.end() :]
            elif elsewhere:
                url = elsewhere + url
            return f"{match['attr']}={quote}{url}{quote}"

        return MirrorFile(LINK.sub(replace, item.body.decode()).encode(), item.content_type)

    # --- the whole copy -----------------------------------------------------------------
    def build(self) -> Site:
        if self.default is None:
            return Site(only=self.only)
        trees: list[str | None] = [None, *SUPPORTED]
        for language in trees:
            for path, (body, content_type) in self.crawl(language).items():
                slug = owner(file_path(path), self.default_slug)
                if content_type.startswith("text/html"):
                    if slug is None:  # crawled paths are all under /p/<slug>/
                        raise MirrorBuildError(f"{path} belongs to no page")
                    body = self.finish_html(body.decode(), slug, language).encode()
                elif path.endswith("/live.json") and language:
                    body = self.localize(body.decode(), language).encode()
                elif path.endswith("/phone.json") and slug in self.snapshots:
                    body = self.phone_json(body, slug)
                target = file_path(f"/{language}{path}" if language else path)
                self.files[target] = MirrorFile(body, content_type)
        for language, path in sorted(self.unavailable, key=lambda item: (item[0] or "", item[1])):
            slug = owner(file_path(path), self.default_slug)
            target = file_path(f"/{language}{path}" if language else path)
            if slug in self.pages and self.in_tree(slug, language) and target not in self.files:
                html = self.unavailable_page(slug, language, path)
                self.files[target] = MirrorFile(html.encode(), "text/html; charset=utf-8")
        self.copy_default_page_to_root()
        with translation.override(self.default.default_language or "en"):
            not_found = render_to_string("404.html", {})
        self.files[NOT_FOUND_FILE] = MirrorFile(
            self.finish_html(not_found, self.default_slug, None).encode(),
            "text/html; charset=utf-8",
        )
        self.copy_custom_hosts()
        versions = {slug: snap.version for slug, snap in self.snapshots.items()}
        site = Site(
            published_at=self.now,
            versions=versions,
            only=self.only,
            default_slug=self.default_slug,
            hosts={p.custom_host: slug for slug, p in self.pages.items() if p.custom_host},
        )
        site.files = with_compressed(self.files)
        return site


_clients: dict[str, Client] = {}


def _client(host: str) -> Client:
    """One test client per process and host: its handler loads the middleware once (WhiteNoise
    indexes every static file when it starts, about a second)."""
    if host not in _clients:
        _clients[host] = Client(HTTP_HOST=host)
    return _clients[host]


def _query(url: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(urlsplit(url).query)


def _hours(snapshot) -> list[dict]:
    from ..views import hours_rows

    return hours_rows(snapshot)


def build_site(only: Iterable[str] | None = None, *, attempts: int = 3) -> Site:
    """Render the public site (or only the given pages' part of it) into mirror files.

    Every file of a page is of one version: a page changed while it was being rendered is
    rendered again. Raises MirrorBuildError when a public path does not render (nothing
    half-built is published).
    """
    only = list(only) if only is not None else None
    for _attempt in range(attempts):
        site = _Builder(only).build()
        rendered = {s: v for s, v in site.versions.items() if only is None or s in only}
        current = dict(Page.objects.filter(slug__in=list(rendered)).values_list("slug", "version"))
        if current == rendered:
            return site
    raise MirrorBuildError("the pages kept changing while they were being rendered")


def heartbeat_document(site: Site, previous: dict | None) -> dict:
    """`/mirror.json`: when this copy was published and the version of each page in it."""
    versions = dict((previous or {}).get("versions", {})) if site.only is not None else {}
    versions.update(
        site.versions if site.only is None else {s: site.versions[s] for s in site.only}
    )
    return {
        "published_at": site.published_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "stale_after_seconds": settings.MIRROR_STALE_SECONDS,
        "default_page": site.default_slug,
        "versions": versions,
        "notice": (previous or {}).get("notice") if site.only is not None else None,
        "hosts": site.hosts,
    }


def heartbeat_file(document: dict) -> MirrorFile:
    body = json.dumps(document, indent=1, sort_keys=True).encode()
    return MirrorFile(body, "application/json")
