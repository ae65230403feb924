"""What the security tests share: uvicorn started as the README's production table says."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.fault_helpers import AppServer
from tests.test_live_browser import REDIS_URL

# The websocket process of the README's production table (--host/--port replaced by --fd).
README_UVICORN_FLAGS = [
    "--ws",
    "websockets-sansio",
    "--ws-per-message-deflate",
    "false",
    "--ws-max-size",
    "4096",
    "--no-access-log",
]


def uvicorn(folder: Path, env: dict[str, str | None], flags: list[str] = README_UVICORN_FLAGS):
    """The application under uvicorn with `flags` (the README's by default), serving."""
    server = AppServer(folder, env, flags)
    try:
        server.start(ready_path="/p/it/live.json")
    except BaseException:
        server.close()
        raise
    return server


@pytest.fixture
def live_server_with_redis(it_page, settings, tmp_path):
    """uvicorn on the Redis channel layer; this test process publishes to the same layer."""
    prefix = f"test-security-{uuid.uuid4().hex[:8]}"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": prefix},
        }
    }
    server = uvicorn(
        tmp_path,
        {"REDIS_URL": REDIS_URL, "CHANNEL_LAYER_PREFIX": prefix, "LIVE_SEND_QUEUE_MESSAGES": "8"},
    )
    yield server
    server.close()
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter("statuspage:*"):
        client.delete(key)
    client.close()
