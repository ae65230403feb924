"""Shared fixtures: named actors (alice runs the IT page, bob the telephony page, charlie is a
stranger), pages with components, and settings every test runs under."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
from django.contrib.auth import get_user_model

from incidents.models import Page

from .factories import make_component, make_group, make_page


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
    from django.core.cache import cache

    from statuspage.pages import forget_pages

    cache.clear()
    forget_pages()


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
    """An engineer of the IT page."""
    user = get_user_model().objects.create_user("alice", password="alice-pass-123", is_staff=True)
    _grant_engineer(user)
    it_page.engineers.add(user)
    return user


@pytest.fixture
def bob(db, phone_page):
    """An engineer of the telephony page only."""
    user = get_user_model().objects.create_user("bob", password="bob-pass-123", is_staff=True)
    _grant_engineer(user)
    phone_page.engineers.add(user)
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
