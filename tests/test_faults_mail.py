"""Mail under faults: an SMTP server that drops the connection at the final dot (aiosmtpd).

The server got the message but the worker never heard the answer: the delivery is sent again
with the same Message-ID (receivers drop the duplicate), never marked sent unseen.
"""

from __future__ import annotations

import asyncio
import collections
import time

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import Component
from notifications import tasks
from notifications.models import Delivery, Notification, Subscriber

from .email_helpers import Sink, free_port
from .test_email_delivery import (  # noqa: F401 - fixtures
    all_sent,
    broker,
    confirmed_subscribers,
    open_outage,
    wait_for,
    workers,
)

pytestmark = pytest.mark.django_db(transaction=True)


class DropsAtTheFinalDot(Sink):
    """Keeps every message, but for each address's first one closes the connection instead of
    answering "250" (the server crashed or the network dropped right after the final dot)."""

    def __init__(self):
        super().__init__()
        self.dropped: set[str] = set()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
            address = envelope.rcpt_tos[0]
            drop = address not in self.dropped
            self.dropped.add(address)
        if drop:
            server.transport.abort()
        return "250 Message accepted for delivery"


@pytest.fixture
def dropping_smtp(settings):
    from aiosmtpd.controller import Controller

    sink = DropsAtTheFinalDot()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_TIMEOUT = 5
    yield sink
    controller.stop()


def test_a_message_whose_answer_was_lost_is_sent_again_with_the_same_message_id(
    it_page, dropping_smtp
):
    now = timezone.now()
    emails = [f"user{i}@example.com" for i in range(3)]
    for i, email in enumerate(emails):
        Subscriber.objects.create(page=it_page, email=email, confirmed_at=now, token=f"t{i}")
    internet = Component.objects.get(page=it_page, name="Internet access")
    services.open_incident(
        it_page, actor=None, name="Internet down", body="Investigating.",
        components={internet.pk: "major_outage"},
    )  # fmt: skip
    notification = Notification.objects.get()

    # The first attempt: every server answer was lost, so nothing may count as sent.
    assert not Delivery.objects.filter(state="sent").exists()
    assert set(Delivery.objects.values_list("uncertain_sends", flat=True)) == {1}

    Delivery.objects.update(next_attempt_at=now)  # the retry is due (no clock in-process)
    tasks.send_deliveries(notification.pk)

    assert Delivery.objects.filter(state="sent").count() == 3
    by_address = collections.defaultdict(set)
    for message in dropping_smtp.parsed():
        by_address[message["To"]].add(message["Message-ID"])
    assert sorted(by_address) == emails
    # Two copies each went out, under one Message-ID, the one the delivery row records.
    assert collections.Counter(dropping_smtp.recipients()) == dict.fromkeys(emails, 2)
    for delivery in Delivery.objects.select_related("subscriber"):
        assert by_address[delivery.subscriber.email] == {delivery.message_id}


class SlowSink(Sink):
    """A mail server that takes 20 ms per message, so a worker can be killed mid-batch."""

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.02)
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.slow
def test_a_killed_workers_deliveries_go_out_within_30_seconds_exactly_once(it_page, workers):  # noqa: F811
    """Production lease and sweep settings (15 s lease with heartbeat, 5 s sweep)."""
    from aiosmtpd.controller import Controller

    total = 300
    emails = confirmed_subscribers(it_page, total)
    sink = SlowSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    defaults = {"NOTIFICATIONS_LEASE_SECONDS": "15", "NOTIFICATIONS_REQUEUE_SECONDS": "5"}
    try:
        first = workers.start(controller.port, NOTIFICATIONS_BATCH_SIZE="100", **defaults)
        open_outage(it_page)
        wait_for(lambda: sink.count() >= 30, 90, lambda: f"first messages\n{workers.logs()}", 0.02)
        workers.kill(first)
        killed_at = time.monotonic()
        assert Delivery.objects.filter(state="sending").exists()  # its claimed batch

        workers.start(controller.port, beat=True, NOTIFICATIONS_BATCH_SIZE="100", **defaults)
        wait_for(lambda: all_sent(total), 60, lambda: f"all sent\n{workers.logs()}", 0.2)
        recovered = time.monotonic() - killed_at
        assert recovered < 30 + total * 0.02, f"took {recovered:.1f}s after the kill"
        time.sleep(2)  # a late duplicate would arrive now
        counts = collections.Counter(sink.recipients())
        assert sorted(counts) == sorted(emails)
        assert set(counts.values()) == {1}
        print(f"all {total} sent {recovered:.1f}s after the worker was killed")
    finally:
        controller.stop()
