"""The customer view's websocket, /ws/my/: a websocket client against the ASGI app joins only with
a signed-in customer's session, and hears of events that touch that customer's services only."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import Client

from incidents import services
from incidents.models import Component, Customer, CustomerMember

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

ORIGIN = (b"origin", b"http://testserver")


@pytest.fixture
def in_memory_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def _setup(it_page, phone_page):
    """Acme uses VPN, the bakery uses Inbound calls; one signed-in person each, one engineer."""
    vpn = Component.objects.get(page=it_page, name="VPN")
    inbound = Component.objects.get(page=phone_page, name="Inbound calls")
    acme = Customer.objects.create(code="acme", name="Acme", page=it_page)
    acme.components.set([vpn])
    bakery = Customer.objects.create(code="bakkerij", name="Bakkerij", page=phone_page)
    bakery.components.set([inbound])
    cookies = {}
    for customer, email in ((acme, "dana@acme.example"), (bakery, "jan@bakkerij.example")):
        user = get_user_model().objects.create_user(f"customer-{customer.code}", email=email)
        CustomerMember.objects.create(customer=customer, email=email, user=user)
        client = Client()
        client.force_login(user)
        cookies[customer.code] = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    engineer = get_user_model().objects.create_user("eve", is_staff=True)
    client = Client()
    client.force_login(engineer)
    cookies["engineer"] = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    return vpn, inbound, cookies


async def connect(cookie: str | None):
    from statuspage.asgi import application

    headers = [ORIGIN]
    if cookie:
        headers.append((b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    communicator = WebsocketCommunicator(application, "/ws/my/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


async def test_only_a_signed_in_customer_joins_and_hears_only_its_own_events(
    it_page, phone_page, in_memory_layer
):
    vpn, inbound, cookies = await database_sync_to_async(_setup)(it_page, phone_page)

    for cookie in (None, "not-a-session", cookies["engineer"]):
        stranger = await connect(cookie)
        closed = await stranger.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4403}

    acme = await connect(cookies["acme"])
    bakery = await connect(cookies["bakkerij"])
    for client in (acme, bakery):
        assert json.loads(await client.receive_from(timeout=5)) == {"type": "hello"}

    await database_sync_to_async(services.open_incident)(
        it_page, actor=None, name="VPN drops", body="Looking.", components={vpn.pk: "major_outage"}
    )
    got = json.loads(await acme.receive_from(timeout=5))
    assert got["type"] == "incident.created" and got["page"] == "it"
    assert "VPN" not in json.dumps(got)  # a note only: the page fetches what it may see
    assert await bakery.receive_nothing(timeout=0.3)

    await database_sync_to_async(services.set_component_status)(
        inbound, "partial_outage", actor=None
    )
    assert json.loads(await bakery.receive_from(timeout=5))["type"] == "component.updated"
    assert await acme.receive_nothing(timeout=0.3)

    await acme.send_to(text_data=json.dumps({"type": "ping"}))
    assert json.loads(await acme.receive_from(timeout=5)) == {"type": "pong"}
    await acme.send_to(text_data="subscribe me to customer.2")
    assert (await acme.receive_output(timeout=5))["code"] == 1008
    await bakery.disconnect()


async def test_the_public_page_socket_stays_anonymous(it_page, phone_page, in_memory_layer):
    """A customer's cookie changes nothing on the public socket (no session read there)."""
    _vpn, _inbound, cookies = await database_sync_to_async(_setup)(it_page, phone_page)
    from statuspage.asgi import application

    communicator = WebsocketCommunicator(
        application,
        "/ws/pages/it/",
        headers=[ORIGIN, (b"cookie", f"sessionid={cookies['acme']}".encode())],
    )
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    assert json.loads(await communicator.receive_from(timeout=5))["type"] == "hello"
    await communicator.disconnect()
