"""The mirror as customers get it when the app is down: served by a real nginx with the server
block from docs/nginx-mirror.conf, no app process at all, opened in Chromium. No request
fails, no link in the whole mirror is broken, gzip_static answers, v2 JSON is what the app
served, and a stale heartbeat makes the page say so and whom to call, in the visitor's
language. Also: the live app's page falls back to the mirror's live.json."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.test import Client

from incidents import services
from incidents.models import Component
from statuspage.mirror.publish import publish_mirror

from .factories import office_hours
from .mirror_helpers import internal_links, mirror_path, release

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
CUSTOM_HOST = "status.telephony.example"

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.needs("nginx")]


class Nginx:
    """nginx in the foreground on a free port, serving `root` with the documented server block."""

    def __init__(self, root: Path, folder: Path, hosts: tuple[str, ...] = ()):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        server = (ROOT / "docs/nginx-mirror.conf").read_text()
        for host in hosts:  # the documented block of a custom host, for each one
            block = (ROOT / "docs/nginx-mirror-custom-host.conf").read_text()
            server += block.replace("status.customer.example", host)
        server = server.replace("listen 80;", f"listen 127.0.0.1:{self.port};")
        server = server.replace("/srv/statuspage-mirror/current", str(root / "current"))
        (folder / "server.conf").write_text(server)
        user = "user root;" if os.geteuid() == 0 else ""
        (folder / "nginx.conf").write_text(
            f"""{user}
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/server.conf;
}}
"""
        )
        self.folder = folder
        self.process = subprocess.Popen(
            [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", "daemon off;"],
            stderr=subprocess.STDOUT,
            stdout=(folder / "nginx.out").open("w"),
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError((folder / "nginx.out").read_text())

    def get(self, path: str, **headers) -> tuple[int, dict, bytes]:
        request = urllib.request.Request(self.url + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def stop(self):
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture
def published(settings, tmp_path, it_page, phone_page):
    """The IT page with an open incident and office hours, published to a directory."""
    office_hours(it_page, weekdays=range(7), opens="00:00", closes="23:59")
    vpn = Component.objects.get(page=it_page, name="VPN")
    incident = services.open_incident(
        it_page,
        actor=None,
        name="VPN drops connections",
        body="We are looking into it.",
        components={vpn.pk: "partial_outage"},
    )
    root = tmp_path / "mirror"
    settings.MIRROR_TARGETS = [f"file://{root}"]
    return root, incident


@pytest.fixture
def nginx(tmp_path):
    servers = []

    def start(root: Path, hosts: tuple[str, ...] = ()) -> Nginx:
        folder = tmp_path / f"nginx-{len(servers)}"
        folder.mkdir()
        server = Nginx(root, folder, hosts)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def browser(monkeypatch):
    """Chromium. Request it (request.getfixturevalue) after the test's database work:
    Playwright's sync API runs an event loop in this thread, and Django's connection inside
    it would not see the test's transaction."""
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            # A custom host's DNS pointing at the mirror (here: at the test's nginx).
            args=[
                "--no-sandbox",
                "--disable-gpu",
                f"--host-resolver-rules=MAP {CUSTOM_HOST} 127.0.0.1",
            ],
        )
        yield browser
        browser.close()


def visit(browser, url: str, *, locale: str = "en-GB"):
    """Open a URL; return the page and every failed request or error response it made."""
    context = browser.new_context(locale=locale)
    page = context.new_page()
    problems: list[str] = []
    page.on("requestfailed", lambda r: problems.append(f"failed {r.url} {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"))
    page.goto(url, wait_until="networkidle")
    return page, problems


def test_chromium_reads_the_mirror_from_nginx_with_no_app_running(published, nginx, request):
    root, incident = published
    client = Client()
    served = {
        path: client.get(path).content
        for path in ["/p/it/api/v2/summary.json", "/api/v2/components.json"]
    }
    publish_mirror()
    server = nginx(root)
    browser = request.getfixturevalue("browser")

    for path, body in served.items():  # v2 JSON: what the app served
        status, headers, mirrored = server.get(path)
        assert status == 200 and headers["Content-Type"].startswith("application/json")
        assert mirrored == body
    status, headers, _ = server.get("/p/it/", **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("Content-Encoding") == "gzip"  # gzip_static

    for path, words in [
        ("/", "VPN drops connections"),
        ("/p/it/", "This is the standby copy"),
        (f"/p/it/incidents/{incident.pk}/", "We are looking into it."),
        ("/nl/p/it/", "Dit is de reservekopie"),
        ("/p/telephony/", "Dit is de reservekopie"),
        ("/en/p/telephony/", "This is the standby copy"),
        ("/p/it/history/", "VPN drops connections"),
        ("/p/it/report/", "needs the live status page"),
    ]:
        page, problems = visit(browser, server.url + path)
        assert problems == [], (path, problems)
        assert words in page.inner_text("body"), path
        assert page.locator("[data-standby-stale]").is_hidden()  # the heartbeat is fresh
        page.context.close()

    # The language switch works without a cookie: it links to the other tree.
    page, problems = visit(browser, server.url + "/p/it/")
    page.click('.lang-switch a[lang="nl"]')
    page.wait_for_load_state("networkidle")
    assert page.url == server.url + "/nl/p/it/"
    assert page.get_attribute("html", "lang") == "nl" and problems == []
    page.context.close()


def test_no_link_anywhere_in_the_mirror_is_broken_through_nginx(published, nginx):
    root, _incident = published
    publish_mirror()
    server = nginx(root)
    tree = release(root)
    links: set[str] = set()
    for path in tree.rglob("*"):
        if path.suffix in {".html", ".json"}:
            links |= internal_links(path.read_text())
    assert len(links) > 30
    broken = {}
    for link in sorted(links):
        status, _headers, _body = server.get(link)
        if status != 200:
            broken[link] = status
    assert broken == {}
    # Each file of the copy is reachable at its app path, too.
    for path in ["p/it/phone.txt", "p/it/handout.pdf", "p/it/history.atom", "p/it/live.json"]:
        assert (tree / mirror_path("/" + path)).is_file()
        assert server.get("/" + path)[0] == 200
    assert server.get("/no/such/page/")[0] == 404


def test_a_stale_heartbeat_says_we_may_have_a_larger_outage_and_whom_to_call(
    published, nginx, request
):
    import time_machine

    root, _incident = published
    with time_machine.travel(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30), tick=True):
        publish_mirror()
    server = nginx(root)
    browser = request.getfixturevalue("browser")
    for path, language, words in [
        ("/p/it/", "en-GB", "We may be having a larger outage"),
        ("/nl/p/it/", "nl-NL", "We hebben mogelijk een grotere storing"),
    ]:
        page, problems = visit(browser, server.url + path, locale=language)
        warning = page.locator("[data-standby-stale]")
        warning.wait_for(state="visible")
        text = warning.inner_text()
        assert words in text and "+31 20 123 4567" in text, text
        assert problems == []
        page.context.close()


@pytest.mark.django_db(transaction=True)
def test_the_live_page_falls_back_to_the_mirrors_live_json(
    published, nginx, request, settings, live_server
):
    """The app's page polls the mirror when its websocket and live.json are unreachable: here
    the browser blocks both, as a dead data centre would."""
    root, _incident = published
    server = nginx(root)
    settings.MIRROR_PUBLIC_URL = server.url
    publish_mirror()
    browser = request.getfixturevalue("browser")
    context = browser.new_context()
    page = context.new_page()

    def app_unreachable(route):
        if route.request.url.startswith(live_server.url):
            route.abort()
        else:
            route.continue_()

    page.route("**/live.json", app_unreachable)
    refused = []
    page.on("requestfailed", lambda r: r.url.startswith(server.url) and refused.append(r.url))
    with page.expect_response(f"{server.url}/p/it/live.json", timeout=60000) as answer:
        page.goto(live_server.url + "/p/it/")
    assert answer.value.status == 200
    assert answer.value.headers["access-control-allow-origin"] == "*"
    page.wait_for_timeout(500)
    assert refused == []  # CORS let the page read it
    context.close()


def test_a_custom_hosts_tree_works_when_its_dns_points_at_the_mirror(
    published, nginx, request, phone_page, settings
):
    """The telephony page has its own host: nginx serves `hosts/<host>/` for it with the
    documented block, Chromium resolves that host to nginx, and every page, link, language
    switch and asset works there with the page at `/`, as the app serves that host."""
    from incidents import services as page_services

    root, _incident = published
    phone_page.custom_host = CUSTOM_HOST
    page_services.save_page(phone_page, actor=None)
    server = nginx(root, hosts=(CUSTOM_HOST,))
    settings.MIRROR_PUBLIC_URL = server.url  # the main mirror, where the other pages are
    publish_mirror()
    tree = release(root) / "hosts" / CUSTOM_HOST
    assert (tree / "index.html").is_file() and (tree / "mirror.json").is_file()
    links: set[str] = set()
    for path in tree.rglob("*"):
        if path.suffix in {".html", ".json"}:
            links |= internal_links(path.read_text())
    assert not any(link.startswith("/p/telephony/") for link in links)  # the host's own paths
    broken = {}
    for link in sorted(links):
        status, _headers, _body = server.get(link, Host=CUSTOM_HOST)
        if status != 200:
            broken[link] = status
    assert broken == {}
    status, headers, _ = server.get("/", Host=CUSTOM_HOST, **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    assert server.get("/no/such/page/", Host=CUSTOM_HOST)[0] == 404

    browser = request.getfixturevalue("browser")
    url = f"http://{CUSTOM_HOST}:{server.port}"
    page, problems = visit(browser, url + "/")
    assert problems == []
    assert "Inbound calls" in page.inner_text("body")  # the telephony page, at the root
    assert "Dit is de reservekopie" in page.inner_text("body")  # in its default language
    assert page.locator("[data-standby-checked]").is_visible()  # read the host's mirror.json
    page.click('.lang-switch a[lang="en"]')
    page.wait_for_load_state("networkidle")
    assert page.url == url + "/en/" and problems == []
    assert "This is the standby copy" in page.inner_text("body")
    page.click('a[href="/en/history/"]')  # a link within the host's tree
    page.wait_for_load_state("networkidle")
    assert page.url == url + "/en/history/" and problems == []
    page.context.close()
