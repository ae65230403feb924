"""Finding 8, the smaller ones: unknown websocket paths, CR/LF in stored names and numbers,
Content-Security-Policy, admin login throttling, caching of token pages, trusted proxies, a
cap on components per page, bidi control characters."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client

from incidents import services
from incidents.models import Incident, Page
from incidents.services import ServiceError
from notifications.models import Subscriber
from tests.api_helpers import make_api
from tests.factories import make_component

# --- websockets --------------------------------------------------------------------------


@pytest.mark.asyncio
# Channels' consumers close stale database connections on every message: the database must be
# reachable, as it is in a server.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/ws/nothing/", "/ws/pages/", "/favicon.ico", "/ws/pages/a/b/"])
async def test_an_unknown_websocket_path_is_closed_with_4404_not_a_500(path):
    # Imported here, not at collection: building the ASGI app early upsets other modules' tests.
    from statuspage.asgi import application

    communicator = WebsocketCommunicator(
        application, path, headers=[(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]
    )
    connected, _ = await communicator.connect()
    assert connected
    closed = await communicator.receive_output(timeout=2)
    assert closed == {"type": "websocket.close", "code": 4404, "reason": ""} or (
        closed["type"] == "websocket.close" and closed["code"] == 4404
    )
    await communicator.disconnect()


# --- one-line fields stored with line breaks (rows from before the validators) ----------


@pytest.mark.django_db
def test_a_stored_page_name_with_a_line_break_does_not_break_subscribing(
    it_page, client, django_capture_on_commit_callbacks
):
    from django.core import mail

    Page.objects.filter(pk=it_page.pk).update(name="IT\r\nBcc: victim@evil.example")
    with django_capture_on_commit_callbacks(execute=True):  # the confirmation mail, as live
        response = client.post("/p/it/subscribe/", {"email": "dana@example.com", "language": "en"})
    assert response.status_code == 200
    (confirmation,) = mail.outbox
    assert confirmation.subject == "Confirm your subscription to IT Bcc: victim@evil.example"
    assert confirmation.bcc == []


@pytest.mark.django_db
def test_a_stored_phone_number_with_a_line_break_does_not_break_phone_txt(it_page, client):
    Page.objects.filter(pk=it_page.pk).update(
        support_phone="+31 20 123\r\nX-Evil: 1", after_hours_phone="+31 6 1\r\nX-Evil: 1"
    )
    response = client.get("/p/it/phone.txt")
    assert response.status_code == 200
    assert "X-Evil" not in response.headers


# --- Content-Security-Policy --------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/p/it/", "/accounts/login/", "/p/it/subscribe/", "/p/it/report/"]
)
def test_pages_carry_a_strict_content_security_policy(client, it_page, path):
    response = client.get(path)
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if " " in d.strip())
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    # Every inline <script> and <style> carries this response's nonce, or the policy names its
    # hash (the page's accent colour: the same bytes in every response, so a cached page's too).
    nonce = re.search(r"'nonce-([^']+)'", directives["script-src"])
    html = response.content.decode()
    for tag, body in re.findall(r"(<(?:script|style)(?![^>]*\bsrc=)[^>]*>)([^<]*)", html):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        kind = "script-src" if tag.startswith("<script") else "style-src"
        hashed = f"'sha256-{digest}'" in directives[kind].split()
        assert hashed or (nonce and f'nonce="{nonce.group(1)}"' in tag), tag


# --- admin login throttling ----------------------------------------------------------------


@pytest.mark.django_db
def test_admin_sign_in_is_paused_after_five_wrong_passwords(alice):
    client = Client(REMOTE_ADDR="192.0.2.10")
    # The admin's own form sends people to the one sign-in page (where the second factor is).
    assert client.get("/admin/login/?next=/admin/").headers["Location"] == (
        "/accounts/login/?next=%2Fadmin%2F"
    )
    form = {"login": "alice", "password": "wrong", "next": "/admin/"}
    codes = [client.post("/accounts/login/", form).status_code for _ in range(6)]
    assert codes[:5] == [200] * 5 and codes[-1] == 429
    locked = client.post("/accounts/login/", {**form, "password": "alice-pass-123"})
    assert locked.status_code == 429  # even the right password waits
    text = locked.content.decode()
    assert "Too many failed sign-ins" in text and "Try again in 15 minutes" in text
    # Another address is not paused for this user (the pair is).
    other = Client(REMOTE_ADDR="192.0.2.11")
    response = other.post("/accounts/login/", {**form, "password": "alice-pass-123"})
    assert response.status_code == 302


@pytest.mark.django_db
def test_sign_in_answers_the_same_whether_or_not_the_account_exists(alice):
    def attempts(name: str) -> list[tuple[int, str]]:
        client = Client(REMOTE_ADDR="192.0.2.20")
        form = {"login": name, "password": "wrong"}
        answers = [client.post("/accounts/login/", form) for _ in range(7)]
        # The page without what differs on every response (the name typed, tokens, nonces).
        variable = r"alice|nobody|value=\"[^\"]*\"|nonce=\"[^\"]*\""
        return [(r.status_code, re.sub(variable, "", r.content.decode())) for r in answers]

    assert attempts("alice") == attempts("nobody")


# --- token pages ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_secret_token_pages_are_private_and_never_stored(client, it_page):
    subscriber = Subscriber.objects.create(page=it_page, email="d@example.com")
    for path in (f"subscription/{subscriber.token}/", f"unsubscribe/{subscriber.token}/"):
        response = client.get(f"/p/it/{path}")
        assert response.status_code == 200
        cache_control = {v.strip() for v in response.headers["Cache-Control"].split(",")}
        assert {"private", "no-store"} <= cache_control, path


# --- proxies ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_x_forwarded_for_counts_only_from_a_configured_proxy(it_page, settings):
    settings.NOTIFICATIONS_SUBSCRIBE_RATE_IP = 1
    settings.TRUSTED_PROXY_NETWORKS = []

    def subscribe(n, forwarded, peer="127.0.0.1"):
        return Client(REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded).post(
            "/p/it/subscribe/", {"email": f"u{n}@example.com", "language": "en"}
        )

    # A local peer that is no configured proxy: the header is the sender's own invention.
    assert subscribe(1, "198.51.100.1").status_code == 200
    assert subscribe(2, "198.51.100.2").status_code == 429
    # From a configured proxy: the address that proxy saw (right-most untrusted) counts.
    settings.TRUSTED_PROXY_NETWORKS = [ipaddress.ip_network("10.0.0.0/24")]
    assert subscribe(3, "1.2.3.4, 198.51.100.3", peer="10.0.0.2").status_code == 200
    assert subscribe(4, "198.51.100.3, 198.51.100.4", peer="10.0.0.2").status_code == 200
    assert subscribe(5, "9.9.9.9, 198.51.100.4", peer="10.0.0.2").status_code == 429


# --- components per page --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_page_holds_at_most_max_components_per_page(it_page, settings):
    settings.MAX_COMPONENTS_PER_PAGE = 4  # the IT page has 3
    make_component(it_page, "Fourth")
    with pytest.raises(ServiceError) as refused:
        make_component(it_page, "Fifth")
    assert refused.value.code == "too_many_components"
    api, _ = make_api()
    response = api.post("pages/it/components", {"component": {"name": "Sixth"}})
    assert response.status_code == 422
    assert "MAX_COMPONENTS_PER_PAGE" in response.json()["message"]


def test_the_default_cap_is_sane():
    from django.conf import settings

    assert 50 <= settings.MAX_COMPONENTS_PER_PAGE <= 200


# --- bidi controls --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("control", ["\u202e", "\u2066", "\u202a", "\u2069"])
def test_titles_with_bidi_controls_are_refused(it_page, control):
    with pytest.raises(ServiceError) as refused:
        services.open_incident(it_page, actor=None, name=f"Outage {control}gnp.exe", body="x")
    assert refused.value.code == "bidi_control"
    assert not Incident.objects.exists()


@pytest.mark.django_db
def test_right_to_left_text_is_welcome_and_isolated_on_the_page(client, it_page):
    incident = services.open_incident(it_page, actor=None, name="انقطاع الخدمة", body="نحن نعمل")
    html = client.get("/p/it/").content.decode()
    assert "<bdi>انقطاع الخدمة</bdi>" in html
    detail = client.get(f"/p/it/incidents/{incident.pk}/").content.decode()
    assert 'dir="auto">انقطاع الخدمة</h1>' in detail
