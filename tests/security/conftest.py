"""What the security tests share: uvicorn started as the README's production table says."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.test_live_browser import REDIS_URL, database_url

ROOT = Path(__file__).resolve().parent.parent.parent
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


class Uvicorn:
    """uvicorn in a subprocess on a socket this test bound (port 0: a free one)."""

    def __init__(
        self, log: Path, env: dict[str, str], extra: list[str] = (), *, readme_flags: bool = True
    ):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(128)
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        fd = self.socket.fileno()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "statuspage.asgi:application", "--fd", str(fd)]
            + (README_UVICORN_FLAGS if readme_flags else [])
            + list(extra)
            + ["--log-level", "warning"],
            cwd=ROOT,
            env=env,
            pass_fds=[fd],
            stdout=log.open("a"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/p/it/live.json", timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.close()
        raise AssertionError(f"uvicorn did not start: {log.read_text()}")

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.socket.close()


def server_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DEBUG": "1",
        "SECRET_KEY": "test-secret-key-0123456789abcdefghijklmnop",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        **extra,
    }


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
    server = Uvicorn(
        tmp_path / "uvicorn.log",
        server_env(REDIS_URL=REDIS_URL, CHANNEL_LAYER_PREFIX=prefix, LIVE_SEND_QUEUE_MESSAGES="8"),
    )
    yield server
    server.close()
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter("statuspage:*"):
        client.delete(key)
    client.close()
