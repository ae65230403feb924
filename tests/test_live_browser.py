"""The public page in Chromium against a real ASGI server (uvicorn) and the Redis channel layer:
changes appear without a reload, a page that lost its websocket resyncs, polling takes over
when websockets are blocked, and the page works with JavaScript off."""

from __future__ import annotations

import os
import re
import threading
import time
import uuid

import pytest
from django.db import connection

from incidents import services
from incidents.models import Component, Incident, Page

from .fault_helpers import AppServer

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REDIS_URL = os.environ.get("REDIS_URL_FOR_TESTS", "redis://127.0.0.1:6379/4")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def server(it_page, settings, tmp_path):
    prefix = f"test-live-{uuid.uuid4().hex[:8]}"
    # This process publishes on the same Redis layer the server listens to.
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": prefix},
        }
    }
    server = AppServer(tmp_path, {"REDIS_URL": REDIS_URL, "CHANNEL_LAYER_PREFIX": prefix})
    server.start(ready_path="/p/it/live.json")
    yield server
    server.close()
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter("statuspage:*"):  # what the server cached
        client.delete(key)
    client.close()


def write(fn, *args, **kwargs):
    """Write through the service layer from a plain thread, as a WSGI worker or Celery does
    (Playwright's sync API keeps an event loop in this one)."""
    result, errors = [], []

    def run():
        try:
            result.append(fn(*args, **kwargs))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


def component(name):
    return Component.objects.get(page__slug="it", name=name)


def set_status(name, status):
    return services.set_component_status(component(name), status, actor=None)


def open_incident(name):
    page = Page.objects.get(slug="it")
    return services.open_incident(
        page, actor=None, name=name, body="We are looking into it.", components={}
    )


def post_update(incident_id, body, status="identified"):
    incident = Incident.objects.get(pk=incident_id)
    return services.post_update(incident, actor=None, status=status, body=body)


def open_page(browser, url):
    page = browser.new_page()
    with page.expect_websocket() as ws_info:
        page.goto(url)
    websocket = ws_info.value
    websocket.wait_for_event("framereceived")  # the hello: subscribed from here on
    page.evaluate("window.__notReloaded = true")
    return page


def test_changes_appear_live_and_a_page_that_lost_its_socket_resyncs(server, browser):
    from playwright.sync_api import expect

    page = open_page(browser, f"{server.url}/p/it/")
    vpn = page.locator(f'[data-component="{component("VPN").public_id}"] .status')
    expect(vpn).to_have_class(re.compile(r"status--operational"))
    bars = page.locator('[data-live="components"] .uptime').count()
    assert bars == 3  # one per service

    write(set_status, "VPN", "major_outage")
    expect(vpn).to_have_class(re.compile(r"status--major_outage"), timeout=5000)
    # The push leaves out the 90-day bars; the page keeps the ones it has.
    assert page.locator('[data-live="components"] .uptime').count() == bars
    expect(page.locator("#live-announcer")).to_have_text("VPN: Major outage")
    expect(page).to_have_title(re.compile(r"^\(Major system outage\) IT services"))
    expect(page.locator('[data-live="banner"] h1')).to_have_text("Major system outage")

    incident = write(open_incident, "Mail is slow")
    card = page.locator(f'[data-live="incidents"] [data-incident="{incident.public_id}"]')
    expect(card).to_be_visible(timeout=5000)
    write(post_update, incident.pk, "Found a full disk on the mail relay.")
    expect(card).to_contain_text("Found a full disk on the mail relay.", timeout=5000)

    # Kill the websocket server; changes made meanwhile reach the page once it is back, in the
    # socket: the hello says the state follows (the page told its version), no live.json.
    fetches = []
    page.on("request", lambda r: fetches.append(r.url) if "live.json" in r.url else None)
    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    server.stop()
    write(post_update, incident.pk, "Disk replaced; watching.", status="monitoring")
    write(set_status, "VPN", "operational")
    version = Page.objects.get(slug="it").version
    server.start()
    expect(card).to_contain_text("Disk replaced; watching.", timeout=20000)
    expect(vpn).to_have_class(re.compile(r"status--operational"))
    expect(page.locator("body")).to_have_attribute("data-version", str(version))
    assert page.evaluate("window.__notReloaded") is True
    assert fetches == []
    assert sockets and all(re.search(r"[?&]v=\d+", url) for url in sockets)


def test_reconnects_back_off_exponentially_with_full_jitter(server, browser):
    """live.js waits a random time up to 1 s, 2 s, 4 s, then at most 5 s between attempts (the
    backoff bench/websocket_fanout.py --reconnect measures). With Math.random fixed, the delays
    it asks for are that window times the random value."""
    page = browser.new_page()
    page.add_init_script(
        """
        window.__delays = [];
        Math.random = function () { return 0.001; };
        var setTimeout = window.setTimeout;
        window.setTimeout = function (fn, delay) {
          if (fn && fn.name === "connect") window.__delays.push(delay);
          return setTimeout.apply(window, arguments);
        };
        """
    )
    page.route_web_socket(re.compile(r".*/ws/pages/.*"), lambda ws: ws.close())
    page.goto(f"{server.url}/p/it/")
    deadline = time.monotonic() + 10  # (wait_for_function evaluates a string: the CSP refuses)
    while page.evaluate("window.__delays.length") < 6 and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    windows = [round(d / 0.001) for d in page.evaluate("window.__delays")[:6]]
    assert windows == [1000, 2000, 4000, 5000, 5000, 5000]


def test_polling_takes_over_when_websockets_are_blocked(server, browser):
    from playwright.sync_api import expect

    page = browser.new_page()
    # A proxy that completes the handshake but passes no frames, then drops the socket.
    page.route_web_socket(re.compile(r".*/ws/pages/.*"), lambda ws: ws.close())
    polls = []
    page.on(
        "request",
        lambda request: (
            polls.append(request.headers.get("if-none-match"))
            if request.url.endswith("/live.json")
            else None
        ),
    )
    page.goto(f"{server.url}/p/it/")
    page.evaluate("window.__notReloaded = true")
    write(set_status, "Email hosting", "partial_outage")
    email = page.locator(f'[data-component="{component("Email hosting").public_id}"] .status')
    expect(email).to_have_class(re.compile(r"status--partial_outage"), timeout=20000)
    assert polls and polls[0].startswith('"')  # conditional: If-None-Match with the ETag
    assert page.evaluate("window.__notReloaded") is True


def test_the_page_works_with_javascript_off(server, browser):
    write(set_status, "VPN", "degraded_performance")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{server.url}/p/it/")
    vpn = page.locator(f'[data-component="{component("VPN").public_id}"] .status')
    assert "status--degraded_performance" in vpn.get_attribute("class")
    assert page.title().startswith("(Minor service outage) IT services")
    context.close()
