"""Benchmark: one incident update to 1,000 webhook endpoints, and alert-to-page time.

1. Webhooks. 1,000 confirmed webhook subscribers, each its own URL on one local aiohttp
   server. Our path end to end in one process: the service opens an incident, the outbox
   records it, fans it out into delivery rows, claims them and the webhook transport signs and
   posts every body (PostgreSQL; Celery in-process). Beside it, in the same run, the same
   1,000 signed bodies posted by a plain aiohttp loop and a plain httpx loop (same concurrency).
   Prints deliveries/s and time to the last delivery, and the ratio.
2. Alert to page. A uvicorn server (ASGI, Redis channel layer) with a websocket client open on
   the page; an Alertmanager v4 payload POSTed to it, alternately firing and resolved: time
   until the websocket shows the change and until the public v2 summary.json does (p50, p99).

    .venv/bin/python bench/webhooks.py [--endpoints 1000] [--alerts 40]

Uses its own database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/
statuspage_bench_webhooks, dropped and created) and Redis (BENCH_REDIS_URL, default db 6).
Loopback only; on a shared, loaded machine the figures are indicative.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/statuspage_bench_webhooks"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
SECRET = "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"

os.environ.update(
    DATABASE_URL=DB_URL,
    CELERY_TASK_ALWAYS_EAGER="1",
    SECRET_KEY=os.environ.get("SECRET_KEY", SECRET),
    ALLOWED_HOSTS="127.0.0.1,localhost",
    WEBHOOK_ALLOW_PRIVATE_ADDRESSES="1",
    DJANGO_SETTINGS_MODULE="statuspage.settings",
    LOG_LEVEL="WARNING",
)
os.environ.pop("REDIS_URL", None)


def fresh_database() -> None:
    import psycopg

    parts = urlsplit(DB_URL)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True, env=os.environ
    )


class Sink:
    """An aiohttp server in a thread: every /hook/<n> answers 200 and is counted."""

    def __init__(self):
        self.count = 0
        self.last_at = 0.0
        self.done = threading.Event()
        self.expected = 0
        ready = threading.Event()
        self.loop = asyncio.new_event_loop()

        async def handle(request):
            await request.read()
            self.count += 1
            self.last_at = time.perf_counter()
            if self.count >= self.expected:
                self.done.set()
            from aiohttp import web

            return web.Response(text="ok")

        async def serve():
            from aiohttp import web

            app = web.Application()
            app.router.add_post("/hook/{n}", handle)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]
            ready.set()

        def run():
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(serve())
            self.loop.run_forever()

        threading.Thread(target=run, daemon=True).start()
        ready.wait(10)

    def expect(self, n: int) -> None:
        self.count, self.expected = 0, n
        self.done.clear()


def bench_webhooks(endpoints: int) -> None:
    import django

    django.setup()
    from django.conf import settings

    from incidents import services
    from notifications.models import Delivery, Notification, Subscriber
    from notifications.webhooks import build_payload, headers_for, new_secret

    sink = Sink()
    page = services.save_page(
        __import__("incidents.models", fromlist=["Page"]).Page(slug="bench", name="Bench"),
        actor=None,
    )
    component = services.create_component(page, actor=None, name="API")
    Subscriber.objects.bulk_create(
        [
            Subscriber(
                page=page,
                kind="webhook",
                endpoint=f"http://127.0.0.1:{sink.port}/hook/{n}",
                secret=new_secret(),
                confirmed_at=django.utils.timezone.now(),
            )
            for n in range(endpoints)
        ]
    )

    # Ours: service call -> outbox -> fan-out -> claim -> signed concurrent posts -> marked.
    sink.expect(endpoints)
    started = time.perf_counter()
    services.open_incident(
        page,
        actor=None,
        name="API down",
        body="Investigating.",
        components={component.pk: "major_outage"},
    )
    sink.done.wait(120)
    ours = sink.last_at - started
    sent = Delivery.objects.filter(state="sent").count()
    print(
        f"outbox (ours):   {sent} delivered of {endpoints} (+{sink.count - sent} component "
        f"notices), last after {ours:.2f} s, {endpoints / ours:,.0f} deliveries/s "
        f"(concurrency {settings.WEBHOOK_CONCURRENCY})"
    )

    # Baselines: the same signed bodies, posted by a plain loop.
    notification = Notification.objects.filter(event_type="incident.created").get()
    payload = build_payload(notification)
    jobs = []
    for subscriber in Subscriber.objects.filter(page=page).order_by("pk"):
        body = payload.for_subscriber("https://x/unsubscribe", "2026-01-01T00:00:00Z")
        jobs.append(
            (subscriber.endpoint, body, headers_for(subscriber.secret, f"m{subscriber.pk}", body))
        )

    async def with_aiohttp():
        import aiohttp

        limit = asyncio.Semaphore(settings.WEBHOOK_CONCURRENCY)
        connector = aiohttp.TCPConnector(limit=settings.WEBHOOK_CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def one(url, body, headers):
                async with limit, session.post(url, data=body, headers=headers) as response:
                    await response.read()

            await asyncio.gather(*(one(*job) for job in jobs))

    async def with_httpx():
        import httpx

        limit = asyncio.Semaphore(settings.WEBHOOK_CONCURRENCY)
        limits = httpx.Limits(max_connections=settings.WEBHOOK_CONCURRENCY)
        async with httpx.AsyncClient(limits=limits) as client:

            async def one(url, body, headers):
                async with limit:
                    await client.post(url, content=body, headers=headers)

            await asyncio.gather(*(one(*job) for job in jobs))

    for name, run in (("aiohttp loop", with_aiohttp), ("httpx loop", with_httpx)):
        sink.expect(endpoints)
        started = time.perf_counter()
        asyncio.run(run())
        elapsed = sink.last_at - started
        print(
            f"{name + ':':16} {endpoints} posted, last after {elapsed:.2f} s, "
            f"{endpoints / elapsed:,.0f} posts/s; ours takes {ours / elapsed:.2f}x as long"
        )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def bench_alert_to_page(count: int) -> None:
    import httpx
    import websockets

    from incidents import services
    from incidents.api.authentication import create_api_key
    from incidents.models import AlertRule, Page

    page = Page.objects.get(slug="bench")
    # A component of its own: "API" is held by part 1's open incident (automation keeps off).
    services.create_component(page, actor=None, name="Gateway")
    AlertRule.objects.create(page=page, name="no hold-down", hold_down_seconds=0)
    _key, raw = create_api_key("alertmanager", pages=[page])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    port = sock.getsockname()[1]
    env = {
        **os.environ,
        "REDIS_URL": REDIS_URL,
        "CHANNEL_LAYER_PREFIX": f"bench-{uuid.uuid4().hex[:8]}",
        "CELERY_TASK_ALWAYS_EAGER": "1",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "statuspage.asgi:application", "--fd", str(sock.fileno())]
        + ["--ws-per-message-deflate", "false", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        pass_fds=[sock.fileno()],
    )
    base = f"http://127.0.0.1:{port}"

    async def run():
        async with httpx.AsyncClient(timeout=10) as client:
            for _ in range(300):
                try:
                    if (await client.get(f"{base}/p/bench/api/v2/status.json")).status_code == 200:
                        break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
            ws_times, json_times, post_times = [], [], []
            async with websockets.connect(
                f"ws://127.0.0.1:{port}/ws/pages/bench/", origin=base
            ) as ws:
                json.loads(await ws.recv())  # hello
                for n in range(count):
                    firing = n % 2 == 0
                    alert = {
                        "status": "firing" if firing else "resolved",
                        "labels": {
                            "alertname": "GatewayDown",
                            "component": "Gateway",
                            "severity": "critical",
                        },
                        "annotations": {},
                        "fingerprint": "bench",
                    }
                    body = {"version": "4", "status": alert["status"], "alerts": [alert]}
                    want = "major_outage" if firing else "operational"
                    started = time.perf_counter()
                    response = await client.post(
                        f"{base}/api/v1/pages/bench/alertmanager",
                        json=body,
                        headers={"Authorization": f"Bearer {raw}"},
                    )
                    assert response.status_code == 200, response.text
                    post_times.append(time.perf_counter() - started)

                    async def websocket_shows():
                        while True:
                            message = json.loads(await ws.recv())
                            if message.get("type") == "component.updated":
                                return time.perf_counter()

                    async def json_shows(want=want):
                        while True:
                            summary = (
                                await client.get(f"{base}/p/bench/api/v2/summary.json")
                            ).json()
                            status = {c["name"]: c["status"] for c in summary["components"]}
                            if status["Gateway"] == want:
                                return time.perf_counter()
                            await asyncio.sleep(0.05)  # a browser polls far less often

                    ws_at, json_at = await asyncio.wait_for(
                        asyncio.gather(websocket_shows(), json_shows()), 10
                    )
                    ws_times.append(ws_at - started)
                    json_times.append(json_at - started)
            return ws_times, json_times, post_times

    try:
        ws_times, json_times, post_times = asyncio.run(run())
    finally:
        server.terminate()
        server.wait(10)
        sock.close()
    for name, values in (
        ("POST answered", post_times),
        ("websocket", ws_times),
        ("summary.json", json_times),
    ):
        print(
            f"alert -> {name + ':':14} p50 {statistics.median(values) * 1000:.0f} ms, "
            f"p99 {percentile(values, 99) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms "
            f"({len(values)} alerts; target p99 < 2000 ms)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--alerts", type=int, default=40)
    args = parser.parse_args()
    fresh_database()
    bench_webhooks(args.endpoints)
    bench_alert_to_page(args.alerts)


if __name__ == "__main__":
    main()
