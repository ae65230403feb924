"""The public pages' fast path (issue 18): a repeat GET is answered from the kept rendering before
the middleware stack, without a query, with what the whole stack answers (body, headers, 304),
in the visitor's language, and never after the page changed."""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
import time

import pytest
from django.core.cache import cache

from incidents import services
from incidents.models import Component

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
NL = {"HTTP_ACCEPT_LANGUAGE": "nl"}
GZIP = {"HTTP_ACCEPT_ENCODING": "gzip, br"}


@pytest.fixture(autouse=True)
def fast_path(settings):
    settings.PUBLIC_FAST_PATH = True


def headers(response) -> dict[str, str]:
    return dict(response.headers.items())


def slow(client, settings, path, **extra):
    """What the ordinary path (every middleware, the view) answers, for comparison."""
    settings.PUBLIC_FAST_PATH = False
    try:
        return client.get(path, **extra)
    finally:
        settings.PUBLIC_FAST_PATH = True


@pytest.mark.parametrize("extra", [EN, {**EN, **GZIP}, NL, {**NL, **GZIP}])
def test_a_repeat_get_costs_no_query_and_equals_the_whole_stacks_answer(
    client, it_page, settings, django_assert_max_num_queries, extra
):
    first = client.get("/p/it/", **extra)
    with django_assert_max_num_queries(0):
        fast = client.get("/p/it/", **extra)
    ordinary = slow(client, settings, "/p/it/", **extra)
    assert fast.status_code == ordinary.status_code == first.status_code == 200
    assert fast.content == ordinary.content == first.content
    assert headers(fast) == headers(ordinary) == headers(first)
    assert "Content-Security-Policy" in fast and "X-Frame-Options" in fast
    assert fast["Vary"] == "Accept-Encoding, Accept-Language, Cookie"
    assert "stale-if-error" in fast["Cache-Control"]
    if "HTTP_ACCEPT_ENCODING" in extra:
        assert fast["Content-Encoding"] == "gzip"
        assert gzip.decompress(fast.content).startswith(b"<!doctype html>")


def test_a_revalidation_is_answered_304_without_a_query_as_the_whole_stack_does(
    client, it_page, settings, django_assert_max_num_queries
):
    etag = client.get("/p/it/", **EN)["ETag"]
    with django_assert_max_num_queries(0):
        fast = client.get("/p/it/", HTTP_IF_NONE_MATCH=etag, **EN)
    ordinary = slow(client, settings, "/p/it/", HTTP_IF_NONE_MATCH=etag, **EN)
    assert fast.status_code == ordinary.status_code == 304
    assert fast.content == ordinary.content == b""
    assert headers(fast) == headers(ordinary)
    # Another language is another representation: its own ETag, its own 200.
    assert client.get("/p/it/", HTTP_IF_NONE_MATCH=etag, **NL).status_code == 200


def test_each_visitor_gets_their_language_cookie_first_then_accept_language(
    client, it_page, phone_page, django_assert_max_num_queries
):
    for extra in (EN, NL, {}):
        client.get("/p/it/", **extra)
        client.get("/p/telephony/", **extra)
    with django_assert_max_num_queries(0):
        assert client.get("/p/it/", **NL)["Content-Language"] == "nl"
        assert b'<html lang="nl">' in client.get("/p/it/", **NL).content
        assert client.get("/p/it/", **EN)["Content-Language"] == "en"
        assert client.get("/p/it/")["Content-Language"] == "en"  # the page's default
        assert client.get("/p/telephony/")["Content-Language"] == "nl"  # this page's default
        client.cookies["statuspage_language"] = "nl"
        assert client.get("/p/it/", **EN)["Content-Language"] == "nl"  # the choice wins


def test_a_change_is_shown_at_once_then_answered_fast_again(
    client, it_page, django_assert_max_num_queries
):
    client.get("/p/it/", **EN)
    etag = client.get("/p/it/", **EN)["ETag"]
    vpn = Component.objects.get(page=it_page, name="VPN")
    services.set_component_status(vpn, "partial_outage", actor=None)
    changed = client.get("/p/it/", HTTP_IF_NONE_MATCH=etag, **EN)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert "Partial system outage" in changed.content.decode()
    with django_assert_max_num_queries(0):
        again = client.get("/p/it/", **EN)
    assert again.content == changed.content


def test_the_stamp_is_set_again_on_commit(client, it_page, django_capture_on_commit_callbacks):
    from incidents.snapshot import version_stamp_key

    client.get("/p/it/")
    vpn = Component.objects.get(page=it_page, name="VPN")
    with django_capture_on_commit_callbacks(execute=True):
        services.set_component_status(vpn, "major_outage", actor=None)
        cache.delete(version_stamp_key(it_page))  # a slow request's old stamp, say
    it_page.refresh_from_db()
    assert cache.get(version_stamp_key(it_page)) == it_page.cache_key


def test_a_deleted_page_is_gone_at_once(client, it_page, phone_page):
    client.get("/p/telephony/")
    client.get("/p/telephony/")
    phone_page.delete()
    assert client.get("/p/telephony/").status_code == 404


def test_without_the_version_stamp_the_ordinary_path_answers(
    client, it_page, django_assert_num_queries
):
    from incidents.snapshot import version_stamp_key

    client.get("/p/it/")
    cache.delete(version_stamp_key(it_page))  # Redis restarted or evicted it
    with django_assert_num_queries(1):  # the page's version check (the HTML is in the cache)
        client.get("/p/it/")
    with django_assert_num_queries(0):  # which stamped the version it read
        client.get("/p/it/")


def test_hosts_and_schemes_are_kept_apart(client, it_page, phone_page, settings):
    settings.SECURE_HSTS_SECONDS = 3600  # (read when the middleware is made)
    phone_page.custom_host = "phone-status.example.com"
    services.save_page(phone_page, actor=None)
    for _ in range(2):
        own = client.get("/", HTTP_HOST="phone-status.example.com")
        other = client.get("/", HTTP_HOST="status.example.com")
        assert "Inbound calls" in own.content.decode()
        assert "Internet access" in other.content.decode()
    for _ in range(2):
        plain = client.get("/p/it/")
        secure = client.get("/p/it/", secure=True)
    assert "Strict-Transport-Security" not in plain
    assert "Strict-Transport-Security" in secure


def test_query_strings_and_other_methods_take_the_ordinary_path(
    client, it_page, django_assert_num_queries
):
    client.get("/p/it/")
    with django_assert_num_queries(0):
        client.get("/p/it/")
    with django_assert_num_queries(1):  # the page's version check
        client.get("/p/it/?utm_source=mail")
    assert client.post("/p/it/").status_code == 200  # the view's own answer, not a copy


def test_incident_pages_and_the_history_are_answered_fast_too(
    client, it_page, django_assert_max_num_queries
):
    incident = services.open_incident(
        it_page, actor=None, name="Mail is slow", body="Looking.", components={}
    )
    paths = [f"/p/it/incidents/{incident.pk}/", "/p/it/history/"]
    firsts = [client.get(path) for path in paths]
    with django_assert_max_num_queries(0):
        for path, first in zip(paths, firsts, strict=True):
            again = client.get(path)
            assert again.status_code == 200 and again.content == first.content


def test_the_accent_style_is_allowed_by_its_hash_so_a_kept_copy_stays_valid(client, it_page):
    first = client.get("/p/it/")
    again = client.get("/p/it/")
    css = re.search(rb"<style>([^<]*)</style>", again.content).group(1)
    digest = base64.b64encode(hashlib.sha256(css).digest()).decode()
    for response in (first, again):
        policy = response["Content-Security-Policy"]
        style_src = re.search(r"style-src ([^;]*)", policy).group(1)
        assert f"'sha256-{digest}'" in style_src.split()
        assert "nonce" not in policy and b" nonce=" not in response.content


async def teapot(scope, receive, send):
    """Stands for Django's ASGI handler: what the fast path did not answer reaches it."""
    await send({"type": "http.response.start", "status": 418, "headers": []})
    await send({"type": "http.response.body", "body": b"ordinary path"})


def asgi_get(path: str, **headers: str):
    from asgiref.sync import async_to_sync
    from asgiref.testing import ApplicationCommunicator

    from statuspage.fastpath import FastPathASGI

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "headers": [(b"host", b"testserver")]
        + [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
    }

    async def run():
        communicator = ApplicationCommunicator(FastPathASGI(teapot), scope)
        await communicator.send_input({"type": "http.request", "body": b""})
        start = await communicator.receive_output(5)
        body = await communicator.receive_output(5)
        return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body["body"]

    return async_to_sync(run)()


@pytest.mark.parametrize("recheck", [0, 60])
def test_under_asgi_a_kept_rendering_is_answered_before_django(
    client, it_page, settings, django_assert_max_num_queries, recheck
):
    settings.PUBLIC_FAST_PATH_RECHECK_SECONDS = recheck  # 0: the stamp is read in a thread
    assert asgi_get("/p/it/")[0] == 418  # nothing kept yet
    ordinary = client.get("/p/it/", HTTP_ACCEPT_LANGUAGE="nl", HTTP_ACCEPT_ENCODING="gzip")
    with django_assert_max_num_queries(0):
        status, sent, body = asgi_get("/p/it/", accept_language="nl", accept_encoding="gzip")
    assert status == 200 and body == ordinary.content
    assert sent == {k.lower(): v for k, v in ordinary.headers.items()}
    status, _sent, body = asgi_get("/p/it/", accept_language="nl", if_none_match=ordinary["ETag"])
    assert status == 304 and body == b""
    assert asgi_get("/p/it/", accept_language="en")[0] == 418  # not kept in English yet
    assert asgi_get("/p/it/history/")[0] == 418
    vpn = Component.objects.get(page=it_page, name="VPN")
    services.set_component_status(vpn, "partial_outage", actor=None)
    assert asgi_get("/p/it/", accept_language="nl")[0] == 418  # changed: Django renders it


def wsgi_get(path: str, **headers: str):
    from django.test import RequestFactory

    from statuspage.fastpath import FastPathWSGI

    def teapot_wsgi(environ, start_response):
        start_response("418 I'm a teapot", [])
        return [b"ordinary path"]

    sent = {}

    def start_response(status, response_headers, exc_info=None):
        sent.update(status=int(status.split()[0]), headers=dict(response_headers))

    environ = RequestFactory().get(path, **headers).environ
    body = b"".join(FastPathWSGI(teapot_wsgi)(environ, start_response))
    return sent["status"], sent["headers"], body


def test_under_wsgi_a_kept_rendering_is_answered_before_django(
    client, it_page, django_assert_max_num_queries
):
    assert wsgi_get("/p/it/")[0] == 418  # nothing kept yet
    ordinary = client.get("/p/it/", HTTP_ACCEPT_LANGUAGE="nl", HTTP_ACCEPT_ENCODING="gzip")
    with django_assert_max_num_queries(0):
        status, sent, body = wsgi_get(
            "/p/it/", HTTP_ACCEPT_LANGUAGE="nl", HTTP_ACCEPT_ENCODING="gzip"
        )
    assert status == 200 and body == ordinary.content
    assert sent == dict(ordinary.headers.items())
    status, _sent, body = wsgi_get(
        "/p/it/", HTTP_ACCEPT_LANGUAGE="nl", HTTP_IF_NONE_MATCH=ordinary["ETag"]
    )
    assert status == 304 and body == b""
    # The language cookie is read as Django reads it.
    status, sent, _body = wsgi_get("/p/it/", HTTP_COOKIE="statuspage_language=nl")
    assert status == 200 and sent["Content-Language"] == "nl"
    assert wsgi_get("/p/it/", HTTP_HOST="other.example.com")[0] == 418  # another host
    assert wsgi_get("/p/it/", HTTP_ACCEPT_LANGUAGE="en")[0] == 418  # not kept in English yet
    vpn = Component.objects.get(page=it_page, name="VPN")
    services.set_component_status(vpn, "partial_outage", actor=None)
    assert wsgi_get("/p/it/", HTTP_ACCEPT_LANGUAGE="nl")[0] == 418  # changed: Django renders it


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_page_from_the_fast_path_keeps_its_accent_colour_under_the_policy(
    live_server, browser, it_page
):
    tab = browser.new_page()
    violations: list[str] = []
    tab.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    for _ in range(3):  # the first rendered, then the cache, then the kept rendering
        tab.goto(f"{live_server.url}/p/it/")
        accent = tab.evaluate(
            "getComputedStyle(document.documentElement).getPropertyValue('--accent')"
        )
        assert accent.strip() == it_page.accent_colour
    assert violations == []


def test_past_its_minute_one_request_renders_while_the_others_get_the_kept_one(
    client, it_page, django_assert_max_num_queries
):
    import time_machine

    from statuspage import fastpath

    with time_machine.travel("2026-11-30 10:00:30", tick=False) as clock:
        kept = client.get("/p/it/")
        clock.move_to("2026-11-30 10:01:01")
        assert client.get("/p/it/")["ETag"] != kept["ETag"]  # the first renders the new minute
        fastpath.forget()
        clock.move_to("2026-11-30 10:00:30")
        client.get("/p/it/")
        clock.move_to("2026-11-30 10:01:01")
        answer = next(iter(fastpath._addresses.values())).by_language["en"]
        answer.refresh_claimed = time.time()  # another request is rendering the new minute
        with django_assert_max_num_queries(0):
            assert client.get("/p/it/")["ETag"] == kept["ETag"]
        clock.move_to("2026-11-30 10:01:06")  # it never came back: after 5 s, render
        assert client.get("/p/it/")["ETag"] != kept["ETag"]


def test_a_signed_in_visitor_takes_the_ordinary_path(
    client, it_page, alice, django_assert_max_num_queries, django_assert_num_queries
):
    client.get("/p/it/")
    with django_assert_max_num_queries(0):
        client.get("/p/it/")
    client.force_login(alice)
    with django_assert_num_queries(1):  # the page's version check (the HTML is cached)
        assert client.get("/p/it/").status_code == 200
    assert wsgi_get("/p/it/", HTTP_COOKIE="sessionid=abc")[0] == 418
    assert asgi_get("/p/it/", cookie="sessionid=abc")[0] == 418
    assert wsgi_get("/p/it/")[0] == 200
