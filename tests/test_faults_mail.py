"""Mail under faults: an SMTP server that drops the connection at the final dot (aiosmtpd).

The server got the message but the worker never heard the answer: the delivery is sent again
with the same Message-ID (receivers drop the duplicate), never marked sent unseen.
"""

from __future__ import annotations

import collections

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import Component
from notifications import tasks
from notifications.models import Delivery, Notification, Subscriber

from .email_helpers import Sink, start_smtp

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
    sink = DropsAtTheFinalDot()
    controller, _ = start_smtp()
    controller.stop()
    from aiosmtpd.controller import Controller

    controller = Controller(sink, hostname="127.0.0.1", port=controller.port)
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
