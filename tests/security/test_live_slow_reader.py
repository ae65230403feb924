"""Finding 1: one websocket client that never reads froze live updates for everyone on its
page (the fan-out awaited each client's send in turn). Against a real uvicorn with the README's
flags: a raw client that stops reading after its hello, and a normal one that must get every
push; the stalled one is closed with the resync code once its queue is over its bound."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import threading
import time

import pytest
from asgiref.sync import async_to_sync

from incidents.models import Page
from notifications.live import send_to_groups

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PUSHES = 200
PUSH_BYTES = 32_000  # 6.4 MB in all: more than loopback socket buffers hold
CLOSE_RESYNC = 4408


def open_stalled_client(port: int) -> socket.socket:
    """A websocket client that reads its handshake and hello, then never reads again (a tiny
    receive buffer, so the server's writes back up quickly)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            "GET /ws/pages/it/?lang=en HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    received = b""
    sock.settimeout(10)
    while b'"hello"' not in received:
        chunk = sock.recv(4096)
        assert chunk, "the server closed the stalled client's handshake"
        received += chunk
    assert received.startswith(b"HTTP/1.1 101")
    return sock


def frames(data: bytes):
    """Server-to-client frames (unmasked) as (opcode, payload); stops at a partial frame."""
    offset = 0
    while offset + 2 <= len(data):
        opcode, length = data[offset] & 0x0F, data[offset + 1] & 0x7F
        offset += 2
        if length == 126:
            (length,) = struct.unpack("!H", data[offset : offset + 2])
            offset += 2
        elif length == 127:
            (length,) = struct.unpack("!Q", data[offset : offset + 8])
            offset += 8
        if offset + length > len(data):
            return
        yield opcode, data[offset : offset + length]
        offset += length


def push_many(count: int, size: int) -> list[int]:
    """Publish `count` pushes of `size` bytes to the page's group through the channel layer
    (`notifications.live.send_to_groups`, what every domain event's push goes through); big
    and fast, so the stalled client's socket buffers fill within a second."""
    page = Page.objects.get(slug="it")
    versions = list(range(page.version + 1, page.version + 1 + count))
    for version in versions:
        text = json.dumps({"type": "component.updated", "version": version, "pad": "x" * size})
        async_to_sync(send_to_groups)(page.pk, version, {"en": text})
    return versions


async def read_pushes(url: str, ready: threading.Event, until_version: list, timeout: float):
    import websockets

    got = []
    origin = url.replace("ws://", "http://").split("/ws")[0]
    async with websockets.connect(url, origin=origin, max_size=None) as ws:
        hello = json.loads(await ws.recv())
        assert hello["type"] == "hello"
        ready.set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), 1))
            except TimeoutError:
                if until_version and got and got[-1] >= until_version[0]:
                    break
                continue
            got.append(message["version"])
            if until_version and message["version"] >= until_version[0]:
                break
    return got


def test_a_client_that_never_reads_does_not_hold_up_the_others(live_server_with_redis):
    server = live_server_with_redis
    stalled = open_stalled_client(server.port)
    ready, last = threading.Event(), []
    result = {}

    def reader():
        url = f"ws://127.0.0.1:{server.port}/ws/pages/it/?lang=en"
        result["got"] = asyncio.run(read_pushes(url, ready, last, timeout=30))

    thread = threading.Thread(target=reader)
    thread.start()
    assert ready.wait(15)
    started = time.monotonic()
    versions = push_many(PUSHES, PUSH_BYTES)
    last.append(versions[-1])
    thread.join(70)
    print(f"{PUSHES} pushes in {time.monotonic() - started:.1f} s")

    got = result["got"]
    # Every push reached the reading client, in order, none lost behind the stalled one.
    assert got == sorted(got)
    assert got[-1] == versions[-1], f"stopped at {got[-1:]} of {versions[-1]}: held up"
    assert len(got) == PUSHES

    # The stalled client was dropped with the resync code: reading now, after what had fit
    # in the buffers, comes a close frame with 4408.
    stalled.settimeout(10)
    data = b""
    while True:
        try:
            chunk = stalled.recv(65536)
        except TimeoutError:
            break
        if not chunk:
            break
        data += chunk
        if any(opcode == 8 for opcode, _ in frames(data)):
            break
    stalled.close()
    print(f"stalled client had {len(data)} bytes waiting")
    closes = [payload for opcode, payload in frames(data) if opcode == 8]
    assert closes, "the stalled client was never closed"
    assert struct.unpack("!H", closes[0][:2])[0] == CLOSE_RESYNC
