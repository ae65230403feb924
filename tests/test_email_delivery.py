"""The production path under faults: real Celery workers on Redis, PostgreSQL, an aiosmtpd server.

The workers are separate processes sharing the test database, so these tests commit their data
(transaction=True) and need PostgreSQL: SQLite's test database lives in the test process's
memory, where no worker can see it.
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.db import connection
from django.utils import timezone

from incidents import services
from incidents.events import domain_event
from incidents.models import Component
from notifications.models import Delivery, Subscriber
from notifications.receivers import on_domain_event

from .email_helpers import free_port, start_smtp

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REDIS_URL = os.environ.get("REDIS_URL_FOR_TESTS", "redis://127.0.0.1:6379/5")
ROOT = Path(__file__).resolve().parent.parent


def wait_for(condition, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    detail = what() if callable(what) else what
    raise AssertionError(f"timed out after {timeout}s waiting for {detail}")


@pytest.fixture
def broker():
    """Point this process's Celery app at Redis (not in-process) and clean Redis afterwards."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: a Celery worker process cannot share SQLite's in-memory test "
            "database (set DATABASE_URL=postgres://...; CI does)"
        )
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()
    from statuspage.celery import app

    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=REDIS_URL, task_always_eager=False)
    app._pool = None
    app.amqp._producer_pool = None
    yield app
    app.conf.update(saved)
    app._pool = None
    app.amqp._producer_pool = None
    for pattern in ("celery*", "_kombu*", "unacked*", "*.reply.celery.pidbox"):
        for key in client.scan_iter(pattern):
            client.delete(key)


class Workers:
    """Celery worker processes (solo pool: one process each, so SIGKILL kills the work)."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.procs: list[subprocess.Popen] = []

    def start(self, smtp_port: int, *, beat: bool = False, **extra: str) -> subprocess.Popen:
        db = connection.settings_dict
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}",
            "SECRET_KEY": os.environ.get("SECRET_KEY", "worker-test-secret-key-0123456789abcdef"),
            "CELERY_BROKER_URL": REDIS_URL,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "CELERY_VISIBILITY_TIMEOUT": "5",
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "EMAIL_TIMEOUT": "5",
            "NOTIFICATIONS_LEASE_SECONDS": "3",
            "NOTIFICATIONS_RETRY_BASE_SECONDS": "1",
            "NOTIFICATIONS_REQUEUE_SECONDS": "1",
            "LOG_LEVEL": "WARNING",
            **extra,
        }
        n = len(self.procs) + 1
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "statuspage",
            "worker",
            "-P",
            "solo",
            "-n",
            f"email-test-{n}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "warning",
        ]
        if beat:
            command += ["-B", "-s", str(self.tmp_path / f"beat-{n}")]
        log = open(self.tmp_path / f"worker-{n}.log", "wb")  # noqa: SIM115 - closed with the process
        # Its own process group: SIGKILL reaches the embedded beat (a child) too.
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.procs:
            self.kill(proc)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.tmp_path.glob("*.log"))


@pytest.fixture
def workers(broker, tmp_path):
    pool = Workers(tmp_path)
    yield pool
    pool.stop_all()


def confirmed_subscribers(page, count: int) -> list[str]:
    now = timezone.now()
    Subscriber.objects.bulk_create(
        [
            Subscriber(page=page, email=f"user{i}@example.com", confirmed_at=now, token=f"tok{i}")
            for i in range(count)
        ],
        batch_size=2000,
    )
    return [f"user{i}@example.com" for i in range(count)]


def open_outage(page, name="Internet down"):
    internet = Component.objects.get(page=page, name="Internet access")
    seen = []

    def listen(sender, event, **kwargs):
        seen.append(event)

    domain_event.connect(listen, dispatch_uid="test-delivery-capture", weak=False)
    try:
        services.open_incident(
            page,
            actor=None,
            name=name,
            body="Investigating.",
            components={internet.pk: "major_outage"},
        )
    finally:
        domain_event.disconnect(dispatch_uid="test-delivery-capture")
    return seen[0]


def all_sent(count: int) -> bool:
    return Delivery.objects.filter(state="sent").count() == count


def test_smtp_down_then_back_every_subscriber_gets_the_update_exactly_once(it_page, workers):
    emails = confirmed_subscribers(it_page, 30)
    port = free_port()  # nothing listens here yet: the mail server is down
    workers.start(port)
    event = open_outage(it_page)
    on_domain_event(sender=None, event=event)  # the same event again: no second delivery

    wait_for(
        lambda: Delivery.objects.filter(attempts__gte=2, state="pending").count() == 30,
        60,
        lambda: (
            "deliveries to fail and be retried while the server is down: "
            f"{list(Delivery.objects.values_list('state', 'attempts', 'last_error')[:3])}\n"
            f"{workers.logs()}"
        ),
    )
    assert "cannot connect" in Delivery.objects.first().last_error
    controller, sink = start_smtp(port)
    try:
        wait_for(
            lambda: all_sent(30), 90, lambda: f"all sent once the server is back\n{workers.logs()}"
        )
        time.sleep(2)  # anything extra would arrive now
        counts = collections.Counter(sink.recipients())
        assert sorted(counts) == sorted(emails)
        assert set(counts.values()) == {1}
        assert Delivery.objects.count() == 30

        on_domain_event(sender=None, event=event)  # dispatched once more after delivery
        time.sleep(2)
        assert Delivery.objects.count() == 30
        assert sink.count() == 30
    finally:
        controller.stop()


def test_worker_killed_mid_fan_out_to_5000_subscribers_every_one_gets_exactly_one_copy(
    it_page, workers
):
    total = 5000
    emails = confirmed_subscribers(it_page, total)
    controller, sink = start_smtp()
    try:
        first = workers.start(controller.port, NOTIFICATIONS_BATCH_SIZE="250")
        open_outage(it_page)
        wait_for(
            lambda: sink.count() >= 400, 90, lambda: f"the first messages\n{workers.logs()}", 0.02
        )
        workers.kill(first)
        at_kill = sink.count()
        assert at_kill < total, "the worker finished before it could be killed"
        assert Delivery.objects.exclude(state="sent").exists()

        workers.start(controller.port, beat=True, NOTIFICATIONS_BATCH_SIZE="250")
        wait_for(lambda: all_sent(total), 180, lambda: f"all {total} sent\n{workers.logs()}", 0.5)
        time.sleep(3)  # late duplicates would arrive now
        counts = collections.Counter(sink.recipients())
        assert len(counts) == total
        assert sorted(counts) == sorted(emails)
        duplicates = {address: n for address, n in counts.items() if n > 1}
        assert duplicates == {}
        assert sink.count() == total
    finally:
        controller.stop()
