"""Benchmark: one incident update to 100,000 confirmed email subscribers.

The production path end to end: PostgreSQL, Celery workers on Redis, a local aiosmtpd sink.
Prints time to enqueue (fan-out into the outbox), time to deliver all, messages per second,
peak memory of each worker, SQL queries per 1,000 messages, and a baseline measured in the same
run: the naive way (render the templates and build a MIME message per recipient with Django's
EmailMultiAlternatives, send over one connection per process), in as many processes.

    .venv/bin/python bench/email_fanout.py [--subscribers 100000] [--workers 2]

Uses its own database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/
statuspage_bench, dropped and created) and Redis db 5 (BENCH_REDIS_URL).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/statuspage_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
SECRET = "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"

os.environ.update(
    DATABASE_URL=DB_URL,
    CELERY_BROKER_URL=REDIS_URL,
    CELERY_TASK_ALWAYS_EAGER="0",
    SECRET_KEY=os.environ.get("SECRET_KEY", SECRET),
    DJANGO_SETTINGS_MODULE="statuspage.settings",
    LOG_LEVEL="WARNING",
)


class Sink:
    """aiosmtpd handler that only counts."""

    def __init__(self):
        self.count = 0
        self.bytes = 0
        self.first: float | None = None  # perf_counter of the first message's final dot
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname  # advertise PIPELINING (RFC 2920), as Postfix does
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.first is None:
                self.first = time.perf_counter()
            self.count += 1
            self.bytes += len(envelope.content)
        return "250 OK"


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


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def naive_worker(args):
    """Baseline: per recipient, render the templates and build + send a Django message."""
    port, subscriber_ids, notification_id = args
    import django

    django.setup()
    from django.core.mail import EmailMultiAlternatives, get_connection

    from notifications import emails
    from notifications.models import Notification, Subscriber

    notification = Notification.objects.get(pk=notification_id)
    content = emails.NoticeContent.load(notification)
    connection = get_connection(
        "django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1", port=port
    )
    connection.open()
    for subscriber in Subscriber.objects.filter(pk__in=subscriber_ids):
        rendered = emails.render_notice(content, subscriber.language, ())
        text = rendered.text.replace(emails.TOKEN, subscriber.token)
        html = rendered.html.replace(emails.TOKEN, subscriber.token)
        message = EmailMultiAlternatives(
            f"[{content.page.name}] {content.incident_name}",
            text,
            emails.from_header(content.page),
            [subscriber.email],
            headers={
                "List-Unsubscribe": rendered.list_unsubscribe.replace(
                    emails.TOKEN, subscriber.token
                ),
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
        message.attach_alternative(html, "text/html")
        connection.send_messages([message])
    connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--baseline", type=int, default=10_000, help="messages for the baseline")
    options = parser.parse_args()

    print(f"Setting up {DB_URL} ...", flush=True)
    fresh_database()
    import django

    django.setup()
    import redis
    from aiosmtpd.controller import Controller
    from django.db import connection
    from django.db.models import Sum
    from django.utils import timezone

    from incidents import services
    from incidents.models import Page
    from notifications.models import Delivery, Notification, Subscriber

    r = redis.Redis.from_url(REDIS_URL)
    for key in r.scan_iter("*"):
        r.delete(key)

    page = services.save_page(Page(slug="bench", name="Bench services"), actor=None)
    component = services.create_component(page, actor=None, name="Internet access")
    services.create_component(page, actor=None, name="Email hosting")
    now = timezone.now()
    started = time.perf_counter()
    Subscriber.objects.bulk_create(
        (
            Subscriber(
                page=page,
                email=f"user{i}@example.com",
                language="nl" if i % 3 == 0 else "en",
                confirmed_at=now,
                token=f"bench-token-{i:07d}",
            )
            for i in range(options.subscribers)
        ),
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # what autovacuum does after a bulk load; plans need it
    print(f"{options.subscribers:,} subscribers created in {time.perf_counter() - started:.1f}s")

    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=0 or _free_port())
    controller.start()
    env = {
        **os.environ,
        "EMAIL_URL": f"smtp://127.0.0.1:{controller.port}",
        "NOTIFICATIONS_BATCH_SIZE": os.environ.get("NOTIFICATIONS_BATCH_SIZE", "500"),
    }
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "bench.counting",
                "worker",
                "-P",
                "solo",
                "-n",
                f"bench-{n}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for n in range(options.workers)
    ]
    # Every worker up and listening (a loaded machine takes seconds to start one): the first
    # mail's latency is then the app's, not a worker's start-up.
    from statuspage.celery import app

    deadline = time.monotonic() + 120
    while len(app.control.ping(timeout=1.0)) < options.workers and time.monotonic() < deadline:
        time.sleep(0.5)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
        xact_before = cursor.fetchone()[0]

    # --- the update ---------------------------------------------------------------------
    t0 = time.perf_counter()
    services.open_incident(
        page,
        actor=None,
        name="Internet access disrupted",
        body="We are **investigating** failures of internet access in Utrecht. "
        "Customers may see slow connections. Next update within 30 minutes.",
        components={component.pk: "major_outage"},
    )
    t_publish = time.perf_counter() - t0
    notification = Notification.objects.get()
    while not Notification.objects.filter(pk=notification.pk, fanned_out_at__isnull=False).exists():
        time.sleep(0.05)
    t_enqueue = time.perf_counter() - t0
    while sink.first is None:
        time.sleep(0.01)
    t_first = sink.first - t0
    total = options.subscribers
    while sink.count < total:
        time.sleep(0.1)
        if time.perf_counter() - t0 > 1800:
            raise SystemExit(f"gave up: {sink.count} of {total} delivered after 30 minutes")
    t_deliver = time.perf_counter() - t0
    time.sleep(1)
    sent = Delivery.objects.filter(state="sent").count()
    # Sent again with the same Message-ID: the server's reply after the final dot was lost.
    resent = Delivery.objects.aggregate(n=Sum("uncertain_sends"))["n"] or 0
    peaks = [peak_rss_mb(w.pid) for w in workers]
    django_queries = int(r.get("bench:email:queries") or 0)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
        xact_after = cursor.fetchone()[0]
    for w in workers:
        w.terminate()
    for w in workers:
        w.wait(30)
    rate = total / t_deliver
    avg_size = sink.bytes / max(sink.count, 1)

    # --- the baseline: build + send per message, same number of processes ------------------
    sample = Subscriber.objects.order_by("pk").values_list("pk", flat=True)[: options.baseline]
    sample = list(sample)
    chunks = [sample[i :: options.workers] for i in range(options.workers)]
    before = sink.count
    connection.close()
    t1 = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(options.workers) as pool:
        pool.map(naive_worker, [(controller.port, c, notification.pk) for c in chunks])
    t_naive = time.perf_counter() - t1
    naive_rate = (sink.count - before) / t_naive
    controller.stop()
    for key in r.scan_iter("*"):
        r.delete(key)

    mark_updates = sent  # one UPDATE per message, sent over libpq (not seen by Django)
    print()
    print(f"email fan-out: {total:,} subscribers, {options.workers} Celery workers (solo pool)")
    print(f"  mean message size            {avg_size / 1024:.1f} KB (HTML + text)")
    print(f"  publish (service + queue)    {t_publish * 1000:.0f} ms")
    print(f"  first mail at the server     {t_first:.2f} s after the service call")
    print(f"  time to enqueue (fan-out)    {t_enqueue:.2f} s")
    print(f"  time to deliver all          {t_deliver:.2f} s")
    print(f"  messages per second          {rate:,.0f}")
    print(f"  delivered / rows sent        {before:,} / {sent:,}")
    print(f"  re-sent (unknown outcome)    {resent:,}")
    print(f"  worker peak RSS              {', '.join(f'{p:.0f} MB' for p in peaks)}")
    per_k = (django_queries + mark_updates) / total * 1000
    print(
        f"  queries per 1,000 messages   {per_k:,.0f} "
        f"({django_queries:,} through Django + {mark_updates:,} mark-sent UPDATEs; "
        f"PostgreSQL counted {(xact_after - xact_before) / total * 1000:,.0f} transactions)"
    )
    print(
        f"  baseline (build+send per message, {options.workers} processes, "
        f"{options.baseline:,} msgs): {naive_rate:,.0f} msg/s"
    )
    print(f"  ratio                        {rate / naive_rate:.2f}x")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    main()
