"""Real parts a fault test controls: its own redis-server (stopped, or hung with SIGSTOP), a
TCP proxy in front of PostgreSQL (refusing or black-holing connections), and the application
under uvicorn. Nothing here touches the machine's own PostgreSQL or Redis service."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A redis-server of this test's own on a free port."""

    def __init__(self, folder: Path):
        if shutil.which("redis-server") is None:
            pytest.skip("redis-server is not installed (apt-get install redis-server; CI has it)")
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--dir", str(self.folder), "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s,
            ):
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.resume()
            self.process.terminate()
            self.process.wait(10)

    def hang(self) -> None:
        """SIGSTOP: connections are accepted by the kernel, nothing ever answers."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; `refuse()` closes the port and resets every
    connection, `black_hole()` keeps connections open but forwards nothing, `restore()`."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.mode = "pass"
        self.port = free_port()
        self.connections: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.listener: socket.socket | None = None
        self._listen()

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by refuse() or close()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.connections.update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                while self.mode == "black_hole":
                    time.sleep(0.02)  # held, as a partitioned network holds it
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.close()
            with self.lock:
                self.connections.difference_update((src, dst))

    def _reset_all(self) -> None:
        with self.lock:
            sockets = list(self.connections)
        for s in sockets:
            with contextlib.suppress(OSError):
                # RST rather than FIN: the peer sees the connection broken at once.
                s.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
                s.shutdown(socket.SHUT_RDWR)
                s.close()

    def _close_listener(self) -> None:
        # shutdown() first: close() alone leaves a thread blocked in accept() accepting.
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.listener.close()

    def refuse(self) -> None:
        self.mode = "refuse"
        self._close_listener()
        self._reset_all()

    def black_hole(self) -> None:
        self.mode = "black_hole"

    def restore(self) -> None:
        if self.mode == "refuse":
            self._listen()
        self.mode = "pass"

    def close(self) -> None:
        self.mode = "refuse"
        self._close_listener()
        self._reset_all()


def database_url(port: int | None = None, application_name: str = "") -> str:
    """The test database's URL for a server process, through `port` (a proxy in front of
    PostgreSQL) when given; its sessions carry `application_name` when given, so a test can find
    (and end) exactly those. On SQLite, the test database's file (see conftest)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user, password = db["USER"], db["PASSWORD"]
    auth = f"{user}:{password}@" if password else f"{user}@"
    target = f"127.0.0.1:{port}" if port else f"{db['HOST']}:{db['PORT'] or 5432}"
    query = f"?application_name={application_name}" if application_name else ""
    return f"postgres://{auth}{target}/{db['NAME']}{query}"


class AppServer:
    """The application under uvicorn (ASGI: pages, APIs, admin and websockets) on a socket this
    test owns, so it can be restarted on the same port (clients' reconnects wait in the backlog
    meanwhile). `env` adds to (or, with None, removes from) this process's environment; `args`
    are uvicorn's flags besides the socket and the log level."""

    def __init__(
        self,
        folder: Path,
        env: dict[str, str | None],
        args: list[str] | tuple[str, ...] = ("--ws-per-message-deflate", "false"),
    ):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(128)
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "uvicorn.log"
        environment: dict[str, str | None] = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "DEBUG": "1",
            # The test process's key: sessions it signs are valid in the server.
            "SECRET_KEY": settings.SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LAST_GOOD_DIR": str(folder / "last-good"),
            "LOG_LEVEL": "WARNING",
            # This test process writes through its own cache (local memory), where the server's
            # fast path would not see the version stamps: tests/test_fastpath.py covers it.
            "PUBLIC_FAST_PATH": "0",
            **env,
        }
        self.env = {name: value for name, value in environment.items() if value is not None}
        self.args = list(args)
        self.process: subprocess.Popen | None = None

    def start(self, ready_path: str = "/healthz") -> None:
        fd = self.socket.fileno()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "statuspage.asgi:application", "--fd", str(fd)]
            + self.args
            + ["--log-level", "warning"],
            cwd=ROOT,
            env=self.env,
            pass_fds=[fd],
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"uvicorn exited: {self.log.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                if fetch(self.url + ready_path, timeout=5).status == 200:
                    return
            time.sleep(0.2)
        raise AssertionError(f"uvicorn did not start: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def close(self) -> None:
        self.stop()
        self.socket.close()

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


class Answer:
    def __init__(self, status: int, headers, body: bytes, seconds: float):
        self.status, self.headers, self.body, self.seconds = status, headers, body, seconds

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


def fetch(
    url: str,
    *,
    method: str = "GET",
    body: dict | None = None,
    headers: dict | None = None,
    timeout: float = 10,
) -> Answer:
    """One HTTP request; the answer with its status, headers, body and how long it took."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read()
            return Answer(response.status, response.headers, payload, time.monotonic() - started)
    except urllib.error.HTTPError as error:
        payload = error.read()
        return Answer(error.code, error.headers, payload, time.monotonic() - started)


def wait_for(condition, timeout: float, what, interval: float = 0.1) -> float:
    """Wait until `condition()`; return how long it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(interval)
    detail = what() if callable(what) else what
    raise AssertionError(f"timed out after {timeout}s waiting for {detail}")
