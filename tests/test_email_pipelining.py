"""Batched SMTP: one connection per claimed batch, and each next message's envelope (MAIL, RCPT,
DATA) written together with the previous message's final dot (RFC 2920), against aiosmtpd.
Exactly once still holds: a refused recipient mid-batch fails alone, and a connection lost
with an envelope written ahead loses nothing."""

from __future__ import annotations

import collections
import smtplib

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import Component
from notifications import tasks
from notifications.models import Delivery, Notification, Subscriber

from .email_helpers import start_smtp

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def smtp(settings):
    controller, sink = start_smtp()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_TIMEOUT = 5
    yield sink
    controller.stop()


@pytest.fixture
def writes(monkeypatch):
    """Every write the workers make to an SMTP server, in order."""
    sent: list[bytes] = []
    original = smtplib.SMTP.send

    def send(self, data):
        sent.append(data if isinstance(data, bytes) else data.encode())
        return original(self, data)

    monkeypatch.setattr(smtplib.SMTP, "send", send)
    return sent


def subscribers_of(page, count: int) -> list[str]:
    now = timezone.now()
    emails = [f"user{i}@example.com" for i in range(count)]
    for i, email in enumerate(emails):
        Subscriber.objects.create(page=page, email=email, confirmed_at=now, token=f"t{i}")
    return emails


def outage(page) -> Notification:
    internet = Component.objects.get(page=page, name="Internet access")
    services.open_incident(
        page, actor=None, name="Internet down", body="Investigating.",
        components={internet.pk: "major_outage"},
    )  # fmt: skip
    return Notification.objects.get()


def test_a_batch_goes_over_one_connection_each_envelope_with_the_previous_final_dot(
    it_page, smtp, writes
):
    emails = subscribers_of(it_page, 6)
    writes.clear()

    outage(it_page)  # sent in-process (no broker), one batch

    assert sorted(smtp.recipients()) == sorted(emails)  # each once
    assert Delivery.objects.filter(state="sent").count() == 6
    envelopes = [w for w in writes if b"RCPT TO:" in w]
    assert len(envelopes) == 6
    # The first envelope alone; every later one behind the previous message's final dot.
    assert envelopes[0].startswith(b"MAIL FROM:")
    assert all(e.startswith(b".\r\nMAIL FROM:") for e in envelopes[1:])
    assert b".\r\n" in writes  # the last final dot alone: nothing comes after it
    by_address = {m["To"]: m["Message-ID"] for m in smtp.parsed()}
    for delivery in Delivery.objects.select_related("subscriber"):
        assert by_address[delivery.subscriber.email] == delivery.message_id


def test_a_recipient_refused_mid_batch_fails_alone_and_the_rest_arrive_once(it_page, smtp):
    emails = subscribers_of(it_page, 5)
    smtp.reject[emails[2]] = "550 5.1.1 No such user"

    outage(it_page)

    assert collections.Counter(smtp.recipients()) == dict.fromkeys(
        [e for e in emails if e != emails[2]], 1
    )
    states = dict(Delivery.objects.values_list("subscriber__email", "state"))
    assert states.pop(emails[2]) == "failed"
    assert set(states.values()) == {"sent"}


def test_a_connection_lost_with_an_envelope_written_ahead_loses_and_doubles_nothing(
    it_page, smtp, monkeypatch
):
    """The server goes away right after a final dot that carried the next envelope: the
    message before it is sent (its answer read), the next ones go out on a new connection."""
    emails = subscribers_of(it_page, 4)
    original = smtplib.SMTP.send
    cut = []

    def send(self, data):
        data = data if isinstance(data, bytes) else data.encode()
        result = original(self, data)
        if data.startswith(b".\r\nMAIL FROM:") and not cut:
            cut.append(data)
            self.getreply = lambda: (_ for _ in ()).throw(  # the answer to the dot is lost
                smtplib.SMTPServerDisconnected("gone")
            )
        return result

    monkeypatch.setattr(smtplib.SMTP, "send", send)
    notification = outage(it_page)
    monkeypatch.setattr(smtplib.SMTP, "send", original)
    Delivery.objects.filter(state="pending").update(next_attempt_at=timezone.now())
    tasks.send_deliveries(notification.pk)

    assert cut
    assert Delivery.objects.filter(state="sent").count() == 4
    # Every subscriber got it; only the one whose answer was lost may have it twice (same
    # Message-ID: receivers drop the duplicate).
    counts = collections.Counter(smtp.recipients())
    assert set(counts) == set(emails)
    assert (
        sum(counts.values()) - len(emails)
        == Delivery.objects.filter(uncertain_sends__gt=0).count()
        <= 1
    )
