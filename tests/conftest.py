"""Shared fixtures: named actors (alice runs the IT page, bob the telephony page, charlie is a
stranger), pages with components, and settings every test runs under."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.contrib.auth import get_user_model

from incidents.models import Page

from .factories import make_component, make_group, make_page


def pytest_configure(config):
    from django.conf import settings

    # Modules import statuspage.wsgi/asgi before the test database exists; servers that tests
    # start as processes check their migrations as usual (tests/test_health.py).
    settings.CHECK_MIGRATIONS_AT_START = False


# Debian packages some tests drive (.ci/run installs them). Where one is missing those tests skip
# with the reason; with CI=true they fail instead, so CI cannot go green by skipping.
PROGRAMS = {
    "chromium": ("chromium", lambda: os.path.exists("/usr/bin/chromium")),
    "espeak-ng": ("espeak-ng", lambda: shutil.which("espeak-ng") is not None),
    "alertmanager": (
        "prometheus-alertmanager",
        lambda: bool(shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")),
    ),
    "nginx": (
        "nginx-light",
        lambda: bool(shutil.which("nginx") or os.path.exists("/usr/sbin/nginx")),
    ),
}


def pytest_runtest_setup(item):
    """`@pytest.mark.needs("espeak-ng")` (and every `browser` test, which needs Chromium)."""
    needed = {name for marker in item.iter_markers("needs") for name in marker.args}
    if item.get_closest_marker("browser"):
        needed.add("chromium")
    for name in sorted(needed):
        package, present = PROGRAMS[name]
        if present():
            continue
        reason = f"{name} is not installed (Debian package {package}; .ci/run installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI runs every test", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    # Static files without a collectstatic manifest, mail to memory, a fresh cache per test.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost", ".example.com"]
    # A fast hash: sign-in tests hash many passwords (production keeps Django's PBKDF2). Tests
    # whose server process checks a password set Django's default hashers again.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests that move the clock by days keep their session (tests/test_accounts_mfa.py turns
    # the idle timeout on).
    settings.SESSION_IDLE_MINUTES = 0
    settings.SESSION_COOKIE_AGE = 30 * 24 * 3600
    # Tests name SITE_URL (the default http://127.0.0.1:8000 unless they set it);
    # tests/test_site_url.py covers links taken from the request when it is not set.
    settings.SITE_URL_FROM_REQUEST = False
    from django.core.cache import cache

    from statuspage import fastpath, lastgood, resilience
    from statuspage.pages import forget_pages

    cache.clear()
    forget_pages()
    fastpath.forget()
    # Each test starts with every part healthy and no remembered public copies.
    settings.LAST_GOOD_DIR = str(tmp_path / "last-good")
    resilience.reset_all()
    lastgood.forget()
    yield
    from incidents.relay import stop_relay
    from notifications.tasks import in_process_worker

    stop_relay()
    in_process_worker.wait_idle()
    # A request the test client made leaves its language active in this thread (a Dutch
    # page's, say): the next test starts in the default language again.
    from django.utils import translation

    translation.deactivate()


class CapturedEvents(list):
    """Domain events delivered after commit, JSON round-tripped as a websocket sees them."""

    def types(self) -> list[str]:
        return [event["type"] for event in self]

    def of_page(self, page) -> list[dict]:
        return [event for event in self if event["page_id"] == page.pk]


@pytest.fixture
def captured_events(django_capture_on_commit_callbacks):
    """`with captured_events() as got:` runs the block, executes its on-commit hooks (the
    events go out to every listener, emails included) and records each delivered event."""
    from incidents.events import domain_event

    @contextmanager
    def capture():
        got = CapturedEvents()

        def record(sender, event, **kwargs):
            got.append(json.loads(json.dumps(event.as_dict(), default=str)))

        domain_event.connect(record, dispatch_uid="tests.captured_events", weak=False)
        try:
            with django_capture_on_commit_callbacks(execute=True):
                yield got
        finally:
            domain_event.disconnect(dispatch_uid="tests.captured_events")

    return capture


@pytest.fixture
def it_page(db) -> Page:
    page = make_page(slug="it", name="IT services", is_default=True, time_zone="Europe/Amsterdam")
    network = make_group(page, "Network")
    make_component(page, "Internet access", group=network)
    make_component(page, "VPN", group=network)
    make_component(page, "Email hosting")
    return page


@pytest.fixture
def phone_page(db) -> Page:
    page = make_page(slug="telephony", name="Telephony", default_language="nl")
    make_component(page, "Inbound calls")
    make_component(page, "Outbound calls")
    return page


@pytest.fixture
def alice(db, it_page):
    """The IT page's page manager."""
    user = get_user_model().objects.create_user("alice", password="alice-pass-123", is_staff=True)
    _grant_engineer(user)
    it_page.engineers.add(user, through_defaults={"role": "page_manager"})
    return user


@pytest.fixture
def bob(db, phone_page):
    """The telephony page's page manager, with no role on the IT page."""
    user = get_user_model().objects.create_user("bob", password="bob-pass-123", is_staff=True)
    _grant_engineer(user)
    phone_page.engineers.add(user, through_defaults={"role": "page_manager"})
    return user


@pytest.fixture
def charlie(db):
    """A stranger: logged in, but staff of nothing."""
    return get_user_model().objects.create_user("charlie", password="charlie-pass-123")


@pytest.fixture
def admin_user_(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", "root-pass-123")


def _grant_engineer(user):
    from django.contrib.auth.models import Group

    from incidents.permissions import ensure_engineer_group

    group: Group = ensure_engineer_group()
    user.groups.add(group)


# --- Test database shared with server processes (live updates' browser test) ---------------
@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, request):
    """On SQLite, keep the test database in a file when a browser or slow test runs: the servers
    they start cannot see an in-memory database, and writers in other threads lock a shared
    in-memory one ("database table is locked"). PostgreSQL needs nothing."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3") and any(
        item.get_closest_marker("browser") or item.get_closest_marker("slow")
        for item in request.session.items
    ):
        folder = request.getfixturevalue("tmp_path_factory").mktemp("db")
        database.setdefault("TEST", {})["NAME"] = str(folder / "test.sqlite3")


ROOT = Path(__file__).resolve().parent.parent


@dataclass
class OtherInstallation:
    url: str  # its management API, .../api/v1
    key: str
    manage: object  # runs one of its management commands, returns stdout


@pytest.fixture(scope="session")
def other_installation(tmp_path_factory):
    """This project in its own process and SQLite database, with the demo data, two email
    subscribers, a webhook and a chat, and an API key, serving HTTP on a free port."""
    home = tmp_path_factory.mktemp("source")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DATABASE_URL=f"sqlite:///{home / 'db.sqlite3'}",
        SECRET_KEY="source-instance-secret-key-0123456789abcdefghijklmnop",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DEBUG="1",
    )

    def manage(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    manage("migrate", "--noinput")
    manage("load_demo")
    manage(
        "shell",
        "-c",
        "from django.utils import timezone\n"
        "from incidents.models import Component, Page\n"
        "from notifications.models import Subscriber\n"
        "it = Page.objects.get(slug='it')\n"
        "s = Subscriber.objects.create(page=it, email='ann@example.com', language='nl',"
        " confirmed_at=timezone.now())\n"
        "s.components.set(Component.objects.filter(page=it, name='VPN'))\n"
        "Subscriber.objects.create(page=it, email='ben@example.com')\n"
        "hook = Subscriber.objects.create(page=it, kind='webhook', email='ops@example.com',"
        " endpoint='https://hooks.example.com/status', secret='whsec_c291cmNlLXNlY3JldA==',"
        " events=['incident'], confirmed_at=timezone.now())\n"
        "hook.components.set(Component.objects.filter(page=it, name='VPN'))\n"
        "Subscriber.objects.create(page=it, kind='chat', endpoint='mmost://chat.example.com/t0ken',"
        " confirmed_at=timezone.now())\n",
    )
    key = manage("create_api_key", "migration").strip()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api/v1"
    installation = OtherInstallation(url=url, key=key, manage=manage)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{url}/pages", timeout=2)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        yield installation
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def browser(monkeypatch):
    """Debian's Chromium through Playwright (tests marked `browser`: skipped with the reason
    where it is missing, failed under CI=true, see pytest_runtest_setup above)."""
    from playwright.sync_api import sync_playwright

    from tests.test_live_browser import CHROMIUM, CHROMIUM_ARGS

    # Playwright's sync API runs an event loop in this thread; a test's own reads are plain
    # sync code all the same (writes from another thread, see test_live_browser.write).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
