"""Chat notifications through Apprise: a page's engineers' channel and a subscriber's chat get
a short, localized message with the incident's link, on a local JSON webhook and a
Mattermost-compatible endpoint."""

from __future__ import annotations

import pytest

from incidents import services
from incidents.models import Component
from incidents.services import ServiceError
from notifications.models import Subscriber
from notifications.services import add_endpoint

from .webhook_helpers import Consumer

pytestmark = pytest.mark.django_db


@pytest.fixture
def consumer(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    consumer = Consumer().start()
    yield consumer
    consumer.stop()


def chat(page, url, **options):
    subscriber, secret = add_endpoint(
        page, kind="chat", endpoint=url, skip_confirmation=True, **options
    )
    assert secret == ""
    return subscriber


def test_an_incident_reaches_a_json_webhook_and_mattermost_through_apprise(
    it_page, alice, consumer, django_capture_on_commit_callbacks
):
    chat(it_page, f"json://127.0.0.1:{consumer.port}/ops")
    chat(it_page, f"mmost://127.0.0.1:{consumer.port}/abc123token", language="nl")
    with django_capture_on_commit_callbacks(execute=True):
        incident = services.open_incident(
            it_page, actor=alice, name="VPN down", body="We are investigating."
        )
    (json_post,) = consumer.at("/ops")
    assert json_post.json["title"] == "IT services: VPN down (Investigating)"
    assert "We are investigating." in json_post.json["message"]
    assert f"/p/it/incidents/{incident.pk}/" in json_post.json["message"]
    (mattermost,) = consumer.at("/hooks/abc123token")
    text = mattermost.json["text"]
    assert "IT services: VPN down (Wordt onderzocht)" in text  # the subscriber's language
    assert f"/p/it/incidents/{incident.pk}/" in text


def test_a_chat_that_wants_only_component_changes_gets_only_those(
    it_page, alice, consumer, django_capture_on_commit_callbacks
):
    chat(it_page, f"json://127.0.0.1:{consumer.port}/components", events=["component"])
    vpn = Component.objects.get(name="VPN")
    with django_capture_on_commit_callbacks(execute=True):
        services.open_incident(it_page, actor=alice, name="Mail slow", body="Looking.")
        services.set_component_status(vpn, "major_outage", actor=alice)
    (post,) = consumer.at("/components")
    assert post.json["message"].startswith("VPN is now Major outage (was Operational).")


def test_chat_urls_are_checked(it_page, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    with pytest.raises(ServiceError) as error:
        chat(it_page, "json://127.0.0.1:9/x")  # a self-hosted target on our own network
    assert "private or local address" in error.value.message
    with pytest.raises(ServiceError) as error:
        chat(it_page, "nonsense://what")
    assert "Apprise" in error.value.message
    # A cloud service's URL names a public host of its own: accepted as it is.
    subscriber = chat(it_page, "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ")
    assert subscriber.kind == Subscriber.Kind.CHAT
    assert str(subscriber) == "Chat: slack://T1JJ3T3L2/…"


class RebindingDNS:
    """A DNS server that answers a public address while a URL is checked and ours when it is
    used (DNS rebinding). It replaces the system resolver under our check: a real one would
    have to become this machine's resolver for every process."""

    def __init__(self, rebinding: set[str]):
        self.rebinding = rebinding
        self.asked: list[str] = []

    def __call__(self, host, port, *args, **kwargs):
        import socket

        self.asked.append(host)
        first = self.asked.count(host) == 1
        address = "93.184.215.14" if host in self.rebinding and first else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 0))]


@pytest.fixture
def rebinding_dns(monkeypatch, settings):
    from notifications import ssrf

    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    dns = RebindingDNS({"chat.example.net"})
    monkeypatch.setattr(ssrf, "_system_getaddrinfo", dns)
    return dns


def test_a_chat_host_that_rebinds_to_our_network_after_the_check_is_refused(
    it_page, alice, consumer, rebinding_dns, django_capture_on_commit_callbacks
):
    subscriber = chat(it_page, f"json://chat.example.net:{consumer.port}/ops")  # checked: public
    with django_capture_on_commit_callbacks(execute=True):
        services.open_incident(it_page, actor=alice, name="VPN down", body="Investigating.")
    assert consumer.received == []  # the send resolved 127.0.0.1 and went nowhere
    delivery = subscriber.deliveries.get()
    assert delivery.state == "failed"
    assert "chat.example.net resolves to 127.0.0.1" in delivery.last_error
    assert rebinding_dns.asked.count("chat.example.net") >= 2  # checked, then refused at send


@pytest.mark.parametrize(
    "url",
    [
        "json://chat.example.net:{port}/ops",
        "form://chat.example.net:{port}/ops",
        "mmost://chat.example.net:{port}/abc123token",
        "ntfy://chat.example.net:{port}/alerts",
        "gotify://chat.example.net:{port}/AbCdEfGhIjKlMnO",
        "rocket://bot:secret@chat.example.net:{port}/#general",
        "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ",
        "discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js",
        "xml://chat.example.net:{port}/ops",
        "tgram://123456789:abcdefg_hijklmnop/987654321",
    ],
)
def test_every_kind_of_chat_url_connects_only_to_the_address_it_checked(
    url, consumer, rebinding_dns
):
    """Self-hosted kinds pass the check when saved and rebind at send time; the cloud
    services' hosts (not checked when saved) are checked when the plugin connects."""
    from notifications import chat as chat_module
    from notifications.ssrf import UnsafeURL

    url = url.format(port=consumer.port)
    with pytest.raises(UnsafeURL, match="resolves to 127.0.0.1"):
        chat_module.send(url, "IT services: VPN down", "Investigating.")
    assert consumer.received == []
    assert rebinding_dns.asked  # the plugin's own connection went through the check
