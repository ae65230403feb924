"""Websocket fan-out: one status update to N open status pages, on this machine, over loopback.

Starts the production layout (an ASGI server with the Redis pub/sub channel layer, a database
with the demo pages), opens N websocket clients on the IT page, changes a component through the
service layer and measures when each client has the whole pushed message. Side by side, in the
same run and with the same clients and payload, a plain `websockets` broadcast server fed through
Redis pub/sub is the baseline.

    .venv/bin/python bench/websocket_fanout.py                  # 2,000 clients (or: make bench-ws)
    .venv/bin/python bench/websocket_fanout.py --clients 10000  # 5,000 / 10,000 ...

Needs Redis (REDIS_URL, default redis://127.0.0.1:6379/0; only pub/sub and expiring cache keys
under a run-specific prefix are used). The database is a temporary SQLite file unless
--database-url is given (it is not on the fan-out path: only connects and the update touch it).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import multiprocessing
import os
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSION_RE = re.compile(rb'"version":\s*(\d+)')
SOURCE_ADDRESSES = [f"127.0.0.{n}" for n in range(2, 12)]  # loopback: more ephemeral ports


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# --- the clients: a minimal websocket reader per connection (cheap, so they do not limit) ---


class Reader(asyncio.Protocol):
    """Reads server frames; notes when each text frame is complete; answers pings."""

    def __init__(self, request: bytes, arrivals: list, ready: asyncio.Future, owner=None):
        self.owner = owner  # a Returning client: gets every text frame and the close
        self.request = request
        self.arrivals = arrivals  # (monotonic time, first bytes of the message)
        self.ready = ready
        self.buffer = bytearray()
        self.upgraded = False
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data):
        now = time.monotonic()
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.buffer.startswith(b"HTTP/1.1 101"):
                if not self.ready.done() and self.owner is None:
                    self.ready.set_exception(ConnectionError(bytes(self.buffer[:60])))
                self.transport.close()
                return
            self.upgraded = True
            del self.buffer[: end + 4]
        self._frames(now)

    def _frames(self, now):
        buffer = self.buffer
        while len(buffer) >= 2:
            opcode, length, start = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
            if length == 126:
                if len(buffer) < 4:
                    return
                length, start = int.from_bytes(buffer[2:4], "big"), 4
            elif length == 127:
                if len(buffer) < 10:
                    return
                length, start = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < start + length:
                return
            payload = bytes(buffer[start : start + min(length, 120)])
            if opcode == 0x9:  # ping: answer with a masked pong
                self.transport.write(bytes([0x8A, 0x80 | length]) + b"\0\0\0\0" + payload)
            elif opcode in (0x1, 0x0) and self.owner is not None:
                self.owner.text(now, payload)
            elif opcode in (0x1, 0x0):
                if not self.ready.done():
                    self.ready.set_result(None)  # the hello
                else:
                    self.arrivals.append((now, payload))
            elif opcode == 0x8:
                self.transport.close()
            del buffer[: start + length]

    def connection_lost(self, exc):
        if not self.ready.done() and self.owner is None:
            self.ready.set_exception(ConnectionError("closed before hello"))
        if self.owner is not None:
            self.owner.lost(self)


def live_js_backoff() -> tuple[float, float]:
    """live.js's reconnect backoff (BASE_DELAY, MAX_DELAY in seconds), read from the script so
    the bench's clients come back exactly as browsers do."""
    script = (ROOT / "statuspage/static/statuspage/live.js").read_text()
    base = re.search(r"BASE_DELAY = (\d+)", script)
    most = re.search(r"MAX_DELAY = (\d+)", script)
    assert base and most, "live.js: BASE_DELAY / MAX_DELAY not found"
    return int(base.group(1)) / 1000, int(most.group(1)) / 1000


def backoff_delay(attempt: int, base: float, most: float) -> float:
    """live.js's `reconnectDelay` before attempt `attempt` (0 first): exponential, capped,
    full jitter (anywhere in the window)."""
    return random.random() * min(most, base * 2**attempt)


class Returning:
    """One client that stays as live.js does: after a close (or a refused connect) it comes
    back after live.js's jittered exponential backoff, says the version it shows (`?v=`), and
    is current once its hello (and the state sent after it when behind) reach the latest."""

    def __init__(self, state: dict, host: str, port: int, path: str, n: int):
        self.state, self.host, self.port, self.path, self.n = state, host, port, path, n
        self.version = 0
        self.attempt = 0
        self.greeted = False
        self.transport = None
        self.reader = None

    def request(self) -> bytes:
        key = base64.b64encode(os.urandom(16)).decode()
        return (
            f"GET {self.path}&v={self.version} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nOrigin: http://{self.host}:{self.port}\r\n\r\n"
        ).encode()

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        self.state["attempts"].append(time.monotonic())
        self.greeted = False
        source = SOURCE_ADDRESSES[self.n % len(SOURCE_ADDRESSES)]

        def reader():
            self.reader = Reader(self.request(), [], loop.create_future(), owner=self)
            return self.reader

        try:
            self.transport, _ = await loop.create_connection(
                reader, self.host, self.port, local_addr=(source, 0)
            )
        except OSError:
            self.reader = None
            self.retry()

    def retry(self) -> None:
        self.transport = None
        self.state["current"].discard(self)
        if self.state["stopped"]:
            return
        delay = backoff_delay(self.attempt, *self.state["backoff"])
        self.attempt += 1
        asyncio.get_running_loop().call_later(delay, lambda: asyncio.ensure_future(self.connect()))

    def text(self, now: float, payload: bytes) -> None:
        found = VERSION_RE.search(payload)
        version = int(found.group(1)) if found else 0
        if not self.greeted:  # the hello
            self.greeted = True
            self.attempt = 0
            if version > self.version and b'"state": true' not in payload:
                self.state["fetches"] += 1  # live.js would fetch live.json: counts as current
                self.version = version
        else:
            self.version = max(self.version, version)
        current = self.greeted and self.version >= self.state["target"]
        if current and self not in self.state["current"]:
            self.state["current"].add(self)
            self.state["times"].append(now)

    def lost(self, reader) -> None:
        if reader is self.reader:  # not an earlier connection's late close
            self.reader = None
            self.retry()


async def open_connection(limit, request, arrivals, host, port, n):
    """One websocket client, up to its hello (its transport, or None if it failed)."""
    loop = asyncio.get_running_loop()
    async with limit:
        ready = loop.create_future()
        source = SOURCE_ADDRESSES[n % len(SOURCE_ADDRESSES)]
        try:
            transport, _ = await loop.create_connection(
                lambda: Reader(request, arrivals, ready), host, port, local_addr=(source, 0)
            )
            await asyncio.wait_for(ready, 60)
            return transport
        except (TimeoutError, OSError, ConnectionError):
            return None


def client_process(conn, index: int):
    """One client process: opens connections on command, reports arrivals per round."""
    raise_fd_limit()
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass

    async def main():
        loop = asyncio.get_running_loop()
        transports, arrivals = [], []
        returning = {"clients": [], "current": set(), "times": [], "attempts": []}
        returning.update(fetches=0, target=0, backoff=(1.0, 30.0), stopped=False)
        while True:
            command, args = await loop.run_in_executor(None, conn.recv)
            if command == "connect":
                host, port, path, count = args
                key = base64.b64encode(os.urandom(16)).decode()
                request = (
                    f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                    f"Sec-WebSocket-Version: 13\r\nOrigin: http://{host}:{port}\r\n\r\n"
                ).encode()
                limit = asyncio.Semaphore(100)
                opened = await asyncio.gather(
                    *(
                        open_connection(limit, request, arrivals, host, port, n + index)
                        for n in range(count)
                    )
                )
                failed = opened.count(None)
                transports += [t for t in opened if t is not None]
                conn.send((len(transports), failed))
            elif command == "collect":
                version, expected, timeout = args
                deadline = time.monotonic() + timeout
                pattern = f'"version":{version},'.encode()
                while time.monotonic() < deadline:
                    got = sum(1 for _, payload in arrivals if pattern in payload)
                    if got >= expected:
                        break
                    await asyncio.sleep(0.02)
                times = [t for t, payload in arrivals if pattern in payload]
                arrivals.clear()
                conn.send(times)
            elif command == "return":  # clients that stay and come back (--reconnect)
                host, port, path, count = args
                returning["backoff"] = live_js_backoff()
                returning["stopped"] = False
                for n in range(count):
                    client = Returning(returning, host, port, path, n + index)
                    returning["clients"].append(client)
                    asyncio.ensure_future(client.connect())
                    if n % 100 == 99:
                        await asyncio.sleep(0.05)  # a page load at a time, not a storm
                conn.send(None)
            elif command == "status":  # how many are current at `target`, since when
                target = args
                if target != returning["target"]:
                    returning["target"] = target
                    returning["current"] = {
                        c for c in returning["clients"] if c.greeted and c.version >= target
                    }
                    returning["times"], returning["attempts"], returning["fetches"] = [], [], 0
                conn.send(
                    (
                        len(returning["current"]),
                        list(returning["times"]),
                        list(returning["attempts"]),
                        returning["fetches"],
                    )
                )
            elif command == "leave":  # the returning clients go for good
                returning["stopped"] = True
                for client in returning["clients"]:
                    if client.transport is not None:
                        client.transport.close()
                returning.update(clients=[], current=set(), target=-1)
                await asyncio.sleep(0.5)
                conn.send(None)
            elif command == "close":
                for transport in transports:
                    transport.close()
                transports.clear()
                await asyncio.sleep(0.5)
                conn.send(None)
            elif command == "exit":
                for client in returning["clients"]:
                    if client.transport is not None:
                        client.transport.close()
                return

    asyncio.run(main())


class Clients:
    def __init__(self, processes: int):
        context = multiprocessing.get_context("spawn")
        self.pipes, self.processes = [], []
        for index in range(processes):
            parent, child = context.Pipe()
            process = context.Process(target=client_process, args=(child, index), daemon=True)
            process.start()
            self.pipes.append(parent)
            self.processes.append(process)

    def _all(self, command, args_for):
        for n, pipe in enumerate(self.pipes):
            pipe.send((command, args_for(n)))
        return [pipe.recv() for pipe in self.pipes]

    def connect(self, port: int, path: str, total: int) -> tuple[int, int]:
        share = [
            total // len(self.pipes) + (n < total % len(self.pipes)) for n in range(len(self.pipes))
        ]
        results = self._all("connect", lambda n: ("127.0.0.1", port, path, share[n]))
        self.connected = [r[0] for r in results]
        return sum(r[0] for r in results), sum(r[1] for r in results)

    def collect(self, version: int, timeout: float) -> list[float]:
        """Arrival times of the message with this version, once every client has it (or
        the timeout passed)."""
        replies = self._all("collect", lambda n: (version, self.connected[n], timeout))
        return [t for times in replies for t in times]

    def stay(self, port: int, path: str, total: int) -> None:
        share = [
            total // len(self.pipes) + (n < total % len(self.pipes)) for n in range(len(self.pipes))
        ]
        self._all("return", lambda n: ("127.0.0.1", port, path, share[n]))

    def status(self, target: int) -> tuple[int, list[float], list[float], int]:
        """Clients current at `target` (on a live connection), when each became so, connect
        attempts since the target was set, and hellos that would have needed live.json."""
        replies = self._all("status", lambda n: target)
        return (
            sum(r[0] for r in replies),
            [t for r in replies for t in r[1]],
            [t for r in replies for t in r[2]],
            sum(r[3] for r in replies),
        )

    def leave(self):
        self._all("leave", lambda n: None)

    def close_all(self):
        self._all("close", lambda n: None)

    def exit(self):
        for pipe in self.pipes:
            pipe.send(("exit", None))
        for process in self.processes:
            process.join(5)


# --- the baseline: plain websockets broadcast, fed by Redis pub/sub ---------------------------


def baseline_server(
    conn, redis_url: str, channel: str, deflate: bool, port: int = 0, version: int = 0
):
    """A plain `websockets` server: hello on connect, then broadcast each Redis message."""
    import redis.asyncio as aioredis
    import websockets
    from websockets.asyncio.server import broadcast, serve

    raise_fd_limit()
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass

    async def main():
        clients = set()

        async def handler(ws):
            clients.add(ws)
            try:
                await ws.send(f'{{"type": "hello", "version": {version}}}')
                await ws.wait_closed()
            finally:
                clients.discard(ws)

        sock = listening_socket(port)
        conn.send(sock.getsockname()[1])
        compression = "deflate" if deflate else None
        async with serve(handler, sock=sock, compression=compression, max_size=4096):
            redis = aioredis.Redis.from_url(redis_url)
            pubsub = redis.pubsub()
            await pubsub.subscribe(channel)
            async for message in pubsub.listen():
                if message["type"] == "message":
                    broadcast(clients, message["data"].decode())

    del websockets
    asyncio.run(main())


@dataclass
class Result:
    latencies: list[float]
    counts: list[int]
    failed: int
    connect_s: float
    cpu_per_message: list[float]


def report_round(name: str, round_: int, latencies: list[float]) -> None:
    p50, p99, peak = percentiles(latencies)
    print(
        f"  {name} round {round_ + 1}: {len(latencies)} got it,"
        f" p50 {p50:.3f} p99 {p99:.3f} max {peak:.3f} s",
        flush=True,
    )


# --- the run --------------------------------------------------------------------------------


def percentiles(latencies: list[float]) -> tuple[float, float, float]:
    if not latencies:
        return float("nan"), float("nan"), float("nan")
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * len(ordered))) - 1)]
    return statistics.median(ordered), p99, ordered[-1]


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children, from /proc (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
            times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    family, total = {pid}, 0.0
    for _ in range(3):
        family |= {p for p, parent in parents.items() if parent in family}
    for member in family:
        total += times.get(member, 0.0)
    return total


def listening_socket(port: int = 0) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(4096)
    sock.set_inheritable(True)
    return sock


def wait_for_port(port: int, path: bytes, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as probe:
                probe.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                if probe.recv(12).startswith(b"HTTP/1.1"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server on port {port} did not answer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--server", choices=["uvicorn", "daphne"], default="uvicorn")
    parser.add_argument("--workers", type=int, default=1, help="ASGI server processes")
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--ws", default="websockets-sansio", help="uvicorn's websocket protocol")
    parser.add_argument("--deflate", action="store_true", help="permessage-deflate on both")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--database-url", default="")
    parser.add_argument("--timeout", type=float, default=15.0)
    parser.add_argument(
        "--reconnect",
        action="store_true",
        help="the reconnect storm: restart the server under N clients that come back",
    )
    parser.add_argument("--port", type=int, default=8440, help="--reconnect: baseline's port")
    parser.add_argument("--channels-port", type=int, default=8441, help="--reconnect: ours")
    args = parser.parse_args()

    limit = raise_fd_limit()
    needed = args.clients // args.client_processes + 200
    if limit < needed:
        raise SystemExit(f"open-file limit {limit} < {needed}: raise `ulimit -n`")

    workdir = Path(tempfile.mkdtemp(prefix="bench-ws-"))
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}",
        "REDIS_URL": args.redis_url,
        "CHANNEL_LAYER_PREFIX": prefix,
        "SECRET_KEY": "bench-" + uuid.uuid4().hex + uuid.uuid4().hex,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "PYTHONWARNINGS": "ignore:No directory at:UserWarning",  # no collectstatic needed here
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True, cwd=ROOT)
    subprocess.run([*manage, "load_demo"], env=env, check=True, cwd=ROOT, capture_output=True)

    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "statuspage.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import redis

    from incidents import services
    from incidents.events import DomainEvent
    from incidents.models import Component, Page
    from notifications import live

    page = Page.objects.get(slug="it")
    component = Component.objects.filter(page=page).order_by("pk").first()
    sample = live.live_messages(page, DomainEvent(page.pk, page.slug, page.version, "x", {}))["en"]
    payload_bytes = len(sample.encode())

    published: list[float] = []
    original_send = live.send_to_groups

    async def timed_send(page_id, version, messages):
        published.append(time.monotonic())
        await original_send(page_id, version, messages)

    live.send_to_groups = timed_send

    clients = Clients(args.client_processes)
    if args.reconnect:
        try:
            reconnect_storm(args, env, clients, component)
        finally:
            clients.exit()
            shutil.rmtree(workdir, ignore_errors=True)
        return
    results = {}
    print(
        f"websocket fan-out: {args.clients} clients, payload {payload_bytes} bytes, "
        f"{args.rounds} rounds, compression {'on' if args.deflate else 'off'}, "
        f"{os.cpu_count()} CPUs, client processes {args.client_processes}",
        flush=True,
    )

    if not args.no_baseline:
        channel = f"{prefix}-baseline"
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        server = context.Process(
            target=baseline_server, args=(child, args.redis_url, channel, args.deflate), daemon=True
        )
        server.start()
        port = parent.recv()
        time.sleep(0.5)  # subscribed to Redis
        started = time.monotonic()
        connected, failed = clients.connect(port, "/", args.clients)
        connect_s = time.monotonic() - started
        publisher = redis.Redis.from_url(args.redis_url)
        latencies, counts, cpu_per_message = [], [], []
        for round_ in range(args.rounds):
            text = sample.replace(f'"version":{page.version},', f'"version":{1000 + round_},', 1)
            time.sleep(0.5)
            cpu = tree_cpu_seconds(server.pid)
            sent = time.monotonic()
            publisher.publish(channel, text)
            times = clients.collect(1000 + round_, args.timeout)
            cpu_per_message.append((tree_cpu_seconds(server.pid) - cpu) / max(1, len(times)))
            latencies += [t - sent for t in times]
            counts.append(len(times))
            report_round("baseline", round_, [t - sent for t in times])
        results["websockets broadcast (baseline)"] = Result(
            latencies, counts, failed, connect_s, cpu_per_message
        )
        clients.close_all()
        server.terminate()
        server.join(5)
        publisher.close()

    sock = listening_socket()
    port = sock.getsockname()[1]
    if args.server == "uvicorn":
        command = [
            sys.executable, "-m", "uvicorn", "statuspage.asgi:application",
            "--fd", str(sock.fileno()), "--workers", str(args.workers), "--ws", args.ws,
            "--ws-max-size", "4096",
            "--log-level", "warning", "--no-access-log", "--backlog", "4096",
        ]  # fmt: skip
        if not args.deflate:
            command += ["--ws-per-message-deflate", "false"]
    else:
        command = [
            sys.executable, "-m", "daphne", "--fd", str(sock.fileno()), "-v", "0",
            "statuspage.asgi:application",
        ]  # fmt: skip
    server_process = subprocess.Popen(
        command, env=env, cwd=ROOT, pass_fds=[sock.fileno()], preexec_fn=raise_fd_limit
    )
    try:
        wait_for_port(port, b"/p/it/live.json")
        started = time.monotonic()
        connected, failed = clients.connect(port, "/ws/pages/it/?lang=en", args.clients)
        connect_s = time.monotonic() - started
        latencies, end_to_end, counts, cpu_per_message = [], [], [], []
        for round_ in range(args.rounds):
            time.sleep(0.5)
            status = "operational" if component.status != "operational" else "partial_outage"
            cpu = tree_cpu_seconds(server_process.pid)
            clicked = time.monotonic()
            services.set_component_status(component, status, actor=None)
            version = Page.objects.values_list("version", flat=True).get(pk=page.pk)
            times = clients.collect(version, args.timeout)
            cpu_per_message.append(
                (tree_cpu_seconds(server_process.pid) - cpu) / max(1, len(times))
            )
            latencies += [t - published[-1] for t in times]
            end_to_end += [t - clicked for t in times]
            counts.append(len(times))
            report_round("channels", round_, [t - published[-1] for t in times])
        label = f"Channels + Redis pub/sub ({args.server}, {args.workers} worker)"
        results[label] = Result(latencies, counts, failed, connect_s, cpu_per_message)
        clients.close_all()
    finally:
        server_process.terminate()
        try:
            server_process.wait(10)
        except subprocess.TimeoutExpired:
            server_process.kill()
            server_process.wait()
        clients.exit()
        sock.close()
        cleanup = redis.Redis.from_url(args.redis_url)
        for key in cleanup.scan_iter("statuspage:*snapshot*"):
            cleanup.delete(key)
        cleanup.close()
        shutil.rmtree(workdir, ignore_errors=True)

    print(
        f"{'server':<46} {'got (worst round)':>17} {'p50 s':>7} {'p99 s':>7} {'max s':>7}"
        f" {'CPU µs/msg':>10} {'connect s':>9}"
    )
    for name, result in results.items():
        p50, p99, peak = percentiles(result.latencies)
        got = f"{min(result.counts)}/{args.clients}"
        cpu = statistics.median(result.cpu_per_message) * 1e6
        print(
            f"{name:<46} {got:>17} {p50:7.3f} {p99:7.3f} {peak:7.3f} {cpu:10.0f}"
            f" {result.connect_s:9.1f}"
        )
        if result.failed:
            print(f"  ({result.failed} connections failed)")
    p50, p99, peak = percentiles(end_to_end)
    print(
        f"{'  end to end (service call -> client)':<46} {'':>17} {p50:7.3f} {p99:7.3f} {peak:7.3f}"
    )
    names = list(results)
    if len(names) == 2:
        base, ours = (percentiles(results[n].latencies)[1] for n in names)
        print(f"p99 ratio Channels / baseline: {ours / base:.2f}")
    target = 0.15 if args.clients <= 2000 else 1.0
    ours = results[names[-1]]
    served = min(ours.counts) == args.clients
    met = percentiles(ours.latencies)[1] <= target and served
    print(f"target p99 <= {target} s with every client served: {'met' if met else 'MISSED'}")


def _wait_current(clients: Clients, target: int, total: int, timeout: float) -> float | None:
    """Seconds until every client is current at `target` (None: the timeout passed)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if clients.status(target)[0] >= total:
            return time.monotonic() - started
        time.sleep(0.05)
    return None


def _storm_figures(name, clients, target, total, restarted, ready: list, timeout) -> dict:
    """Wait until every client is current again after a restart; the figures of the storm.
    `ready` gets the moment the new process served its first request (another thread)."""
    deadline = restarted + timeout
    while time.monotonic() < deadline:
        current, times, attempts, fetches = clients.status(target)
        if current >= total:
            break
        time.sleep(0.05)
    current, times, attempts, fetches = clients.status(target)
    times.sort()
    every = times[-1] - restarted if current >= total and times else float("nan")
    after = [t for t in attempts if t >= restarted]
    per_second: dict[int, int] = {}
    for t in after:
        per_second[int(t - restarted)] = per_second.get(int(t - restarted), 0) + 1
    figures = {
        "current": current,
        "all_s": every,
        "ready_s": (ready[0] if ready else float("nan")) - restarted,
        "half_s": times[len(times) // 2] - restarted if times else float("nan"),
        "attempts": len(after),
        "peak": max(per_second.values(), default=0),
        "fetches": fetches,
    }
    print(
        f"  {name}: {current}/{total} current, all after {figures['all_s']:.1f} s"
        f" (listening after {figures['ready_s']:.1f} s), {len(after)} connect attempts,"
        f" peak {figures['peak']}/s, {fetches} would fetch live.json",
        flush=True,
    )
    return figures


def reconnect_storm(args, env, clients: Clients, component) -> None:
    """N clients connected as live.js is; the server process restarts (SIGTERM, a new
    process); a change is made while it is down. How long until every client is connected
    again and shows the latest version, beside a plain `websockets` server restarted the same
    way under the same clients (its hello is all there is to be current)."""
    import redis

    from incidents import services
    from incidents.models import Page

    base, most = live_js_backoff()
    print(
        f"reconnect storm: {args.clients} clients, live.js backoff {base:.2f} s doubling to"
        f" {most:.0f} s (jittered), {os.cpu_count()} CPUs",
        flush=True,
    )
    results = {}
    timeout = max(60.0, args.timeout)
    context = multiprocessing.get_context("spawn")
    if not args.no_baseline:
        channel = "bench-reconnect-baseline"

        def start_baseline(version):
            parent, child = context.Pipe()
            process = context.Process(
                target=baseline_server,
                args=(child, args.redis_url, channel, args.deflate, args.port, version),
                daemon=True,
            )
            process.start()
            parent.recv()
            return process

        server = start_baseline(0)
        clients.stay(args.port, "/?lang=en", args.clients)
        connect_s = _wait_current(clients, 0, args.clients, timeout)
        print(f"  baseline: {args.clients} connected in {connect_s or float('nan'):.1f} s")
        clients.status(1)  # from now on: current means at version 1
        server.terminate()
        server.join(10)
        restarted = time.monotonic()
        server = start_baseline(1)  # its hello: the version a change made meanwhile
        ready = [time.monotonic()]
        results["websockets (baseline)"] = _storm_figures(
            "baseline", clients, 1, args.clients, restarted, ready, timeout
        )
        clients.leave()
        server.terminate()
        server.join(10)
        redis.Redis.from_url(args.redis_url).close()

    command = [
        sys.executable, "-m", "uvicorn", "statuspage.asgi:application",
        "--host", "127.0.0.1", "--port", str(args.channels_port), "--ws", args.ws,
        "--ws-max-size", "4096", "--ws-per-message-deflate", "false",
        "--log-level", "warning", "--no-access-log", "--backlog", "4096",
    ]  # fmt: skip

    def start_server(ready: list):
        process = subprocess.Popen(command, env=env, cwd=ROOT, preexec_fn=raise_fd_limit)

        def serving():  # the new process listens (after loading the app)
            while process.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", args.channels_port), 1).close()
                except OSError:
                    time.sleep(0.05)
                    continue
                ready.append(time.monotonic())
                return

        threading.Thread(target=serving, daemon=True).start()
        return process

    ready: list[float] = []
    server = start_server(ready)
    while not ready:
        time.sleep(0.1)
    try:
        version = Page.objects.values_list("version", flat=True).get(slug="it")
        clients.stay(args.channels_port, "/ws/pages/it/?lang=en", args.clients)
        connect_s = _wait_current(clients, version, args.clients, timeout)
        print(f"  channels: {args.clients} connected in {connect_s or float('nan'):.1f} s")
        stopping = time.monotonic()
        server.terminate()
        server.wait(60)
        print(f"  channels: the old process stopped in {time.monotonic() - stopping:.1f} s")
        status = "operational" if component.status != "operational" else "partial_outage"
        services.set_component_status(component, status, actor=None)  # made while it is down
        version = Page.objects.values_list("version", flat=True).get(slug="it")
        clients.status(version)  # from now on: current means at the new version
        ready = []
        restarted = time.monotonic()
        server = start_server(ready)
        results["Channels (uvicorn, 1 worker)"] = _storm_figures(
            "channels", clients, version, args.clients, restarted, ready, timeout
        )
        clients.leave()
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()

    print(
        f"{'server':<32} {'current':>13} {'all s':>6} {'listen s':>9} {'half s':>6}"
        f" {'attempts':>8} {'peak/s':>6} {'live.json':>9}"
    )
    for name, f in results.items():
        print(
            f"{name:<32} {f['current']:>7}/{args.clients:<5} {f['all_s']:6.1f} {f['ready_s']:9.1f}"
            f" {f['half_s']:6.1f} {f['attempts']:8} {f['peak']:6} {f['fetches']:9}"
        )
    print("(seconds from starting the new process; the old one had stopped, SIGTERM)")
    names = list(results)
    if len(names) == 2:
        base, ours_ = (results[n] for n in names)
        if base["current"] == args.clients:
            print(f"reconnect ratio Channels / baseline: {ours_['all_s'] / base['all_s']:.2f}")
        else:
            # The plain server never had every client current (its clients that missed the
            # change must fetch live.json): compare the time until half of them were.
            print(
                f"reconnect ratio Channels / baseline: n/a (baseline {base['current']}/"
                f"{args.clients} current); half current: {ours_['half_s'] / base['half_s']:.2f}"
            )
    ours = results[names[-1]]
    met = ours["all_s"] - ours["ready_s"] <= 10 and ours["current"] == args.clients
    print(
        f"target every client current within 10 s of the new process listening:"
        f" {'met' if met else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
