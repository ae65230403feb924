"""Live updates over the page websocket: hello, every event once and in order, bad clients,
the Redis channel layer across event loops, and the live.json catch-up endpoint."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import connection

from incidents import services
from incidents.models import Component, OutboxEvent, Page

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

REDIS_URL = os.environ.get("REDIS_URL_FOR_TESTS", "redis://127.0.0.1:6379/4")
ORIGIN = [(b"origin", b"http://testserver")]


@pytest.fixture
def in_memory_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def redis_layer(settings):
    """The production layer on a real Redis, under a prefix no other run shares."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": f"test-live-{uuid.uuid4().hex[:8]}"},
        }
    }
    yield
    # Pub/sub keeps nothing in Redis; closing the connections is all the cleaning up there is.


async def connect(path="/ws/pages/it/", headers=ORIGIN):
    from statuspage.asgi import application

    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def receive(communicator, timeout=5):
    """The next message, JSON round-tripped as a browser would read it."""
    return json.loads(await communicator.receive_from(timeout=timeout))


def component(page, name):
    return Component.objects.get(page=page, name=name)


def make_changes(page: Page, n_updates: int) -> list[int]:
    """Open an incident, post updates, change a component and resolve: the versions they made."""
    versions = []
    vpn = component(page, "VPN")
    incident = services.open_incident(
        page, actor=None, name="VPN drops", body="Looking.", components={vpn.pk: "partial_outage"}
    )
    versions.append(Page.objects.get(pk=page.pk).version)
    for n in range(n_updates):
        services.post_update(incident, actor=None, status="identified", body=f"Update {n}")
        versions.append(Page.objects.get(pk=page.pk).version)
    services.set_component_status(
        component(page, "Email hosting"), "degraded_performance", actor=None
    )
    versions.append(Page.objects.get(pk=page.pk).version)
    services.resolve_incident(incident, actor=None, body="Fixed.")
    versions.append(Page.objects.get(pk=page.pk).version)
    return versions


async def test_connecting_says_hello_with_the_current_version(it_page, in_memory_layer):
    communicator, connected, _ = await connect("/ws/pages/it/?lang=nl")
    assert connected
    hello = await receive(communicator)
    assert hello == {"type": "hello", "version": it_page.version, "page": "it", "language": "nl"}
    await communicator.disconnect()


async def test_every_event_reaches_every_client_once_and_in_order(it_page, in_memory_layer):
    clients = [(await connect(path))[0] for path in ("/ws/pages/it/", "/ws/pages/it/?lang=nl")]
    for client in clients:
        assert (await receive(client))["type"] == "hello"

    versions = await database_sync_to_async(make_changes)(it_page, 5)

    assert versions == list(range(versions[0], versions[0] + 8))  # one version per write
    for client, language in zip(clients, ("en", "nl"), strict=True):
        messages = [await receive(client) for _ in versions]
        assert [m["version"] for m in messages] == versions
        assert [m["type"] for m in messages] == [
            "incident.created",
            *["incident.updated"] * 5,
            "component.updated",
            "incident.resolved",
        ]
        assert {m["language"] for m in messages} == {language}
        assert await client.receive_nothing(timeout=0.3)  # nothing twice
        created, *_, email, resolved = messages
        assert created["data"]["incident"]["name"] == "VPN drops"
        assert (
            f'data-incident="{created["data"]["incident"]["id"]}"' in created["html"]["incidents"]
        )
        assert "status--degraded_performance" in email["html"]["components"]
        assert [c["name"] for c in email["data"]["components"]] == ["Email hosting"]
        assert email["data"]["components"][0]["status"] == "degraded_performance"
        assert (
            email["announce"]
            == {
                "en": "Email hosting: Degraded performance",
                "nl": "Email hosting: Verminderde prestaties",
            }[language]
        )
        assert "data-incident" not in resolved["html"]["incidents"]
        assert "VPN drops" in resolved["html"]["recent"]
        assert resolved["title"].endswith("IT services — Status")
        # Labels in the client's language, rendered once per language for all its clients.
        label = {"en": "Degraded performance", "nl": "Verminderde prestaties"}[language]
        assert label in email["html"]["components"]
        assert (
            created["announce"]
            == {
                "en": "New incident “VPN drops”: Investigating",
                "nl": "Nieuwe storing “VPN drops”: Wordt onderzocht",
            }[language]
        )
        await client.disconnect()


async def test_other_pages_clients_get_nothing(it_page, phone_page, in_memory_layer):
    communicator, _, _ = await connect("/ws/pages/telephony/")
    await receive(communicator)
    await database_sync_to_async(services.set_component_status)(
        await database_sync_to_async(component)(it_page, "VPN"), "major_outage", actor=None
    )
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_unknown_page_is_closed_with_4404(db, in_memory_layer):
    communicator, connected, _ = await connect("/ws/pages/nope/")
    assert connected  # accepted, to be able to say why it closes
    assert await communicator.receive_output(timeout=2) == {"type": "websocket.close", "code": 4404}


async def test_other_origins_are_refused(it_page, in_memory_layer):
    _, connected, _ = await connect(headers=[(b"origin", b"https://evil.example.net")])
    assert not connected
    _, connected, _ = await connect(headers=[])
    assert not connected


@pytest.mark.parametrize(
    ("send", "code"),
    [
        ({"text_data": "x" * 1025}, 1009),
        ({"text_data": "é" * 600}, 1009),  # 1,200 bytes: the bound is in bytes, not characters
        ({"text_data": '{"type": "subscribe", "page": "telephony"}'}, 1008),
        ({"text_data": "not json"}, 1008),
        ({"bytes_data": b"\x00\x01"}, 1008),
    ],
)
async def test_unexpected_client_messages_close_the_socket(it_page, in_memory_layer, send, code):
    communicator, _, _ = await connect()
    await receive(communicator)
    await communicator.send_to(**send)
    assert await communicator.receive_output(timeout=2) == {"type": "websocket.close", "code": code}


async def test_a_ping_gets_a_pong(it_page, in_memory_layer):
    communicator, _, _ = await connect()
    await receive(communicator)
    await communicator.send_json_to({"type": "ping"})
    assert await receive(communicator) == {"type": "pong"}
    await communicator.disconnect()


def _change_from_a_plain_thread(page, errors):
    """A write from a thread with no event loop (a WSGI worker, Celery): async_to_sync opens
    its own loop and Redis connection to publish."""
    try:
        make_changes(page, 2)
    except Exception as exc:  # pragma: no cover - reported by the test
        errors.append(exc)
    finally:
        connection.close()


@pytest.mark.slow
async def test_events_travel_through_real_redis_in_order(it_page, redis_layer):
    clients = [(await connect())[0] for _ in range(3)]
    hellos = [await receive(client) for client in clients]
    assert {h["version"] for h in hellos} == {it_page.version}

    errors: list[Exception] = []
    writer = threading.Thread(target=_change_from_a_plain_thread, args=(it_page, errors))
    writer.start()
    await asyncio.get_running_loop().run_in_executor(None, writer.join)
    assert not errors

    start = hellos[0]["version"]
    for client in clients:
        messages = [await receive(client) for _ in range(5)]
        assert [m["version"] for m in messages] == list(range(start + 1, start + 6))
        assert await client.receive_nothing(timeout=0.3)
        await client.disconnect()
    await get_channel_layer().flush()


@pytest.mark.slow
async def test_a_write_still_succeeds_when_redis_is_unreachable(it_page, settings, caplog):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": "redis://127.0.0.1:1/0", "socket_connect_timeout": 1}]
            },
        }
    }
    vpn = await database_sync_to_async(component)(it_page, "VPN")
    await database_sync_to_async(services.set_component_status)(vpn, "major_outage", actor=None)
    await database_sync_to_async(vpn.refresh_from_db)()
    assert vpn.status == "major_outage"
    # The push failed after commit, off the write's path: the outbox row stays unpublished,
    # with the error, for the relay to push again once Redis is back.
    row = await database_sync_to_async(OutboxEvent.objects.latest)("pk")
    for _ in range(50):
        if row.attempts:
            break
        await asyncio.sleep(0.1)
        await database_sync_to_async(row.refresh_from_db)()
    assert row.type == "component.updated" and row.published_at is None
    assert "push_domain_event" in row.last_error


def _writes_from_a_plain_thread(page, count, errors):
    try:
        vpn = component(page, "VPN")
        for n in range(count):
            status = "major_outage" if n % 2 == 0 else "operational"
            services.set_component_status(vpn, status, actor=None)
    except Exception as exc:  # pragma: no cover - reported by the test
        errors.append(exc)
    finally:
        connection.close()


async def clients_connecting_while_the_page_changes(page, writes=12, clients=16):
    """Clients connect at random moments during a burst of writes; each must then get exactly
    the versions after its hello, in order: nothing lost in the connect gap, nothing twice."""
    errors: list[Exception] = []
    writer = threading.Thread(target=_writes_from_a_plain_thread, args=(page, writes, errors))
    start_version = page.version
    writer.start()
    connected = []
    for _ in range(clients):
        communicator, ok, _ = await connect()
        assert ok
        connected.append((communicator, (await receive(communicator))["version"]))
        await asyncio.sleep(0.01)
    await asyncio.get_running_loop().run_in_executor(None, writer.join)
    assert not errors
    final = start_version + writes
    for communicator, hello_version in connected:
        versions = [(await receive(communicator))["version"] for _ in range(final - hello_version)]
        assert versions == list(range(hello_version + 1, final + 1))
        assert await communicator.receive_nothing(timeout=0.2)
        await communicator.disconnect()


@pytest.mark.slow  # writes from another thread: on SQLite that needs the file test database
async def test_clients_connecting_during_changes_miss_nothing_and_get_nothing_twice(
    it_page, in_memory_layer
):
    await clients_connecting_while_the_page_changes(it_page)


@pytest.mark.slow
async def test_clients_connecting_during_changes_over_redis(it_page, redis_layer):
    await clients_connecting_while_the_page_changes(it_page)
    await get_channel_layer().flush()


async def test_the_page_group_is_left_and_joined_again(it_page, in_memory_layer):
    first, _, _ = await connect()
    await receive(first)
    await first.disconnect()  # the last client of the group: the subscription ends
    second, _, _ = await connect()
    hello = await receive(second)
    vpn = await database_sync_to_async(component)(it_page, "VPN")
    await database_sync_to_async(services.set_component_status)(vpn, "major_outage", actor=None)
    assert (await receive(second))["version"] == hello["version"] + 1
    assert await second.receive_nothing(timeout=0.2)
    await second.disconnect()


async def test_a_page_recreated_under_the_same_slug_is_found_again(it_page, in_memory_layer):
    from .factories import make_component, make_page

    first, _, _ = await connect()
    await receive(first)
    await first.disconnect()

    def recreate():
        Page.objects.filter(pk=it_page.pk).delete()
        page = make_page(slug="it", name="IT again")
        return page, make_component(page, "Wi-Fi")

    page, wifi = await database_sync_to_async(recreate)()
    second, _, _ = await connect()
    assert (await receive(second))["version"] == page.version
    await database_sync_to_async(services.set_component_status)(wifi, "major_outage", actor=None)
    pushed = await receive(second)
    assert pushed["version"] == page.version + 1
    assert "Wi-Fi" in pushed["html"]["components"]
    await second.disconnect()


async def test_a_hidden_component_is_never_named_in_a_push(it_page, in_memory_layer):
    communicator, _, _ = await connect()
    await receive(communicator)

    def change_hidden():
        secret = services.create_component(
            it_page, actor=None, name="Secret billing backend", is_visible=False
        )
        services.set_component_status(secret, "major_outage", actor=None)

    await database_sync_to_async(change_hidden)()
    # Nothing the public sees changed: no push at all (not even when something changed).
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()
