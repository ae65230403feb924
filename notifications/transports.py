"""One class per channel, as healthchecks has them: `notify(delivery)` sends or raises
(email), or `send_batch(deliveries)` reports an outcome per delivery (webhook, chat).

A transport is used as a context manager around a batch, so the email transport opens ONE SMTP
connection and reuses it for every delivery in the batch. `notify` gets `mark_sent`, a callable
that commits the row as sent; the transport calls it at the last moment before the message
becomes irrevocable (for SMTP: after the message body, together with the final "."), so a
worker that dies mid-send leaves a row that is sent again, not a message the server got twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import smtplib
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from email import message_from_bytes
from email.message import Message

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.utils import timezone

from . import chat, emails, webhooks
from .models import Delivery, Notification
from .ssrf import UnsafeURL

log = logging.getLogger(__name__)


class TransportError(Exception):
    """A send that failed: `permanent` gives up on the row, otherwise it is retried.

    `connection_lost` means the rest of the batch cannot go out over this connection either;
    `after_commit` means the row was already marked sent when the failure came, and
    `unknown_outcome` that the server may have accepted it (no reply after the final dot): the
    row is sent again with the same Message-ID, which receivers use to drop a duplicate;
    a subscriber never misses a notice for it.
    """

    def __init__(
        self,
        message: str,
        permanent: bool = False,
        *,
        connection_lost: bool = False,
        after_commit: bool = False,
        unknown_outcome: bool = False,
    ):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.connection_lost = connection_lost
        self.after_commit = after_commit
        self.unknown_outcome = unknown_outcome


class Transport:
    """Base class: open/close around a batch, `notify` one delivery."""

    channel = ""

    def __init__(self, notification: Notification):
        self.notification = notification

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc):
        self.close()

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def notify(self, delivery: Delivery, *, mark_sent: Callable[[str], Callable[[], bool]]):
        """Send one delivery. `mark_sent(message_id)` starts marking the row sent and returns
        a callable that waits for it (True: this worker still held the row)."""
        raise NotImplementedError


class RawEmailMessage(EmailMessage):
    """A prebuilt message handed to a non-SMTP Django backend (file, console, locmem)."""

    def __init__(self, raw: bytes, *, to: str):
        parsed = message_from_bytes(raw)
        super().__init__(subject=str(parsed["Subject"]), from_email=parsed["From"], to=[to])
        self.raw = raw
        self.extra_headers = {k: v for k, v in parsed.items() if k not in ("Subject", "From", "To")}
        for part in parsed.walk():
            if part.get_content_type() == "text/plain":
                payload = part.get_payload(decode=True)
                self.body = payload.decode("utf-8") if isinstance(payload, bytes) else ""

    def message(self, *args, **kwargs):
        return _Prebuilt.of(self.raw)


class _Prebuilt(Message):
    """A parsed message that serializes back to exactly the bytes it came from."""

    raw = b""

    @classmethod
    def of(cls, raw: bytes) -> _Prebuilt:
        message = message_from_bytes(raw, _class=cls)
        message.raw = raw
        return message

    def as_bytes(self, *args, **kwargs) -> bytes:
        return self.raw

    def as_string(self, *args, **kwargs) -> str:
        return self.raw.decode("utf-8", "replace")


def _smtp_error(code: int, reply: bytes, *, after_commit: bool = False) -> TransportError:
    text = f"{code} {reply.decode('utf-8', 'replace')}"
    return TransportError(text, permanent=500 <= code < 600, after_commit=after_commit)


class EmailTransport(Transport):
    channel = "email"

    def __init__(self, notification: Notification):
        super().__init__(notification)
        self.content = emails.NoticeContent.load(notification)
        self.from_addr = settings.DEFAULT_FROM_EMAIL
        self.backend: BaseEmailBackend | None = None
        # Rendered once per (language, followed components, customer when it matters).
        self._rendered: dict[tuple, emails.RenderedNotice] = {}
        self.variants: dict[int, tuple[int, ...]] = {}

    # -- rendering: once per (language, variant) ----------------------------------------------

    def message_for(self, delivery: Delivery) -> tuple[bytes, str]:
        subscriber = delivery.subscriber
        key = (
            subscriber.language,
            self.variants.get(subscriber.pk, ()),
            subscriber.customer_id if self.content.owners else None,
        )
        rendered = self._rendered.get(key)
        if rendered is None:
            rendered = self._rendered[key] = emails.render_notice(self.content, *key)
        message_id = f"<n{delivery.notification_id}.d{delivery.pk}@{emails.site_domain()}>"
        raw = emails.build_message(
            rendered, to=subscriber.email, token=subscriber.token, message_id=message_id
        )
        return raw, message_id

    # -- the connection --------------------------------------------------------------------

    def open(self) -> None:
        self.backend = get_connection(fail_silently=False)
        try:
            self.backend.open()
        except (OSError, smtplib.SMTPException) as exc:
            self.backend = None
            raise TransportError(f"cannot connect: {exc}", connection_lost=True) from exc
        smtp = getattr(self.backend, "connection", None)
        if smtp is not None and smtp.sock is not None:
            # The final "." goes out as its own small write: without this, Nagle's algorithm
            # holds it back until the server's delayed ACK (~40 ms per message).
            smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self) -> None:
        if self.backend is not None:
            with contextlib.suppress(Exception):  # closing a broken connection may fail again
                self.backend.close()
            self.backend = None

    def _drop(self) -> None:
        """Forget a connection that is broken or mid-DATA: the server discards what it had."""
        smtp = getattr(self.backend, "connection", None)
        if smtp is not None:
            with contextlib.suppress(Exception):
                smtp.sock.close()
            self.backend.connection = None  # type: ignore[union-attr]  # (set: smtp came from it)
        self.backend = None

    def notify(self, delivery: Delivery, *, mark_sent: Callable[[str], Callable[[], bool]]) -> None:
        raw, message_id = self.message_for(delivery)
        if self.backend is None:
            self.open()
        if isinstance(self.backend, SMTPBackend):
            self._send_smtp(delivery.subscriber.email, raw, message_id, mark_sent)
            return
        # Embedded backends (files, console, memory): mark, then write.
        if not mark_sent(message_id)():
            raise TransportError("claimed by another worker", connection_lost=False)
        assert self.backend is not None  # opened above
        self.backend.send_messages([RawEmailMessage(raw, to=delivery.subscriber.email)])

    def _send_smtp(
        self, to: str, raw: bytes, message_id: str, mark_sent: Callable[[str], Callable[[], bool]]
    ) -> None:
        smtp = self.backend.connection if isinstance(self.backend, SMTPBackend) else None
        if smtp is None:  # closed under us (a timeout, a failed send): reconnect next time
            self.backend = None
            raise TransportError("not connected", connection_lost=True)
        try:
            smtp.ehlo_or_helo_if_needed()
            if smtp.has_extn("pipelining"):
                # RFC 2920: MAIL, RCPT and DATA in one write, their three replies read after.
                smtp.send(f"MAIL FROM:<{self.from_addr}>\r\nRCPT TO:<{to}>\r\nDATA\r\n")
                replies = [smtp.getreply() for _ in range(3)]
            else:
                replies = [smtp.mail(self.from_addr), smtp.rcpt(to), smtp.docmd("data")]
            for (code, reply), ok in zip(replies, [(250,), (250, 251), (354,)], strict=True):
                if code not in ok:
                    if replies[2][0] == 354:  # a server that took DATA anyway: drop, discard
                        self._drop()
                    else:
                        smtp.rset()
                    raise _smtp_error(code, reply)
            smtp.send(emails.dot_stuff(raw))
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self._drop()
            raise TransportError(f"connection lost: {exc}", connection_lost=True) from exc
        # The point of no return. The UPDATE that marks the row sent leaves first (without
        # waiting for its answer), the final "." right after it: a worker killed at any moment
        # leaves either an unsent row and a message the server discards, or both done; only
        # the microseconds between these two writes remain uncovered.
        confirm = mark_sent(message_id)
        try:
            smtp.send(b".\r\n")
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            # The terminator never left: the server discards the message, send it again.
            confirm()
            self._drop()
            raise TransportError(
                f"connection lost: {exc}", connection_lost=True, after_commit=True
            ) from exc
        if not confirm():
            log.error("delivery %s was claimed by another worker while being sent", message_id)
        try:
            code, reply = smtp.getreply()
        except (TimeoutError, OSError, smtplib.SMTPServerDisconnected) as exc:
            # Unknown whether it was accepted: send it again (same Message-ID) rather than
            # risk a subscriber never hearing of the incident.
            self._drop()
            raise TransportError(
                f"no reply after the message, sending it again: {exc}",
                connection_lost=True,
                after_commit=True,
                unknown_outcome=True,
            ) from exc
        if code != 250:
            raise _smtp_error(code, reply, after_commit=True)


class BatchTransport(Transport):
    """A channel whose sends are independent requests (webhooks, chats): the whole claimed
    batch goes out at once and `send_batch` reports one outcome per delivery; the outbox marks
    each row after its answer (a 2xx is the receipt: a consumer that answered nothing gets the
    same `webhook-id` again)."""

    def send_batch(self, deliveries: list[Delivery]) -> list[webhooks.Outcome]:
        raise NotImplementedError


class WebhookTransport(BatchTransport):
    """Statuspage-shaped JSON, signed per Standard Webhooks, posted concurrently."""

    channel = "webhook"

    def send_batch(self, deliveries: list[Delivery]) -> list[webhooks.Outcome]:
        # One payload per audience: the public, or one customer (its customer-only components).
        payloads: dict[int | None, webhooks.Payload | None] = {}
        for delivery in deliveries:
            customer_id = delivery.subscriber.customer_id
            if customer_id not in payloads:
                payloads[customer_id] = webhooks.build_payload(self.notification, customer_id)
        page = self.notification.page
        generated_at = webhooks._iso(timezone.now()) or ""
        jobs = []
        nothing: list[int] = []
        for index, delivery in enumerate(deliveries):
            subscriber = delivery.subscriber
            payload = payloads[subscriber.customer_id]
            if payload is None:
                nothing.append(index)
                continue
            body = payload.for_subscriber(
                emails.unsubscribe_url(page, subscriber.token), generated_at
            )
            message_id = f"msg_{delivery.notification_id}_{delivery.pk}"
            jobs.append(
                (
                    subscriber.endpoint,
                    body,
                    webhooks.headers_for(subscriber.secret, message_id, body),
                )
            )
        outcomes = asyncio.run(webhooks.post_many(jobs)) if jobs else []
        gone = webhooks.Outcome(False, "nothing public to send", permanent=True, blame=False)
        for index in nothing:  # in the deliveries' order
            outcomes.insert(index, gone)
        return outcomes


class ChatTransport(BatchTransport):
    """A short localized message per chat through Apprise (a few threads: Apprise is blocking)."""

    channel = "chat"

    def send_batch(self, deliveries: list[Delivery]) -> list[webhooks.Outcome]:
        messages: dict[tuple[str, int | None], tuple[str, str] | None] = {}

        def one(delivery: Delivery) -> webhooks.Outcome:
            started = time.monotonic()
            message = messages[(delivery.subscriber.language, delivery.subscriber.customer_id)]
            if message is None:
                return webhooks.Outcome(
                    False, "nothing public to send", permanent=True, blame=False
                )
            try:
                chat.send(delivery.subscriber.endpoint, *message)
            except UnsafeURL as exc:
                return webhooks.Outcome(False, f"refused: {exc}", permanent=True)
            except Exception as exc:  # noqa: BLE001 - any Apprise failure is a failed send
                return webhooks.Outcome(False, str(exc)[:500])
            return webhooks.Outcome(True, duration=time.monotonic() - started)

        for delivery in deliveries:
            key = (delivery.subscriber.language, delivery.subscriber.customer_id)
            if key not in messages:
                messages[key] = chat.message_for(self.notification, *key)
        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(one, deliveries))


TRANSPORTS: dict[str, type[Transport]] = {
    "email": EmailTransport,
    "webhook": WebhookTransport,
    "chat": ChatTransport,
}


def transport_for(channel: str) -> type[Transport]:
    return TRANSPORTS[channel]
