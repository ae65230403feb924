"""Helpers for the email tests: an aiosmtpd sink on a free port, and parsing what it got."""

from __future__ import annotations

import logging
import socket
import threading
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller

logging.getLogger("mail.log").setLevel(logging.WARNING)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """An aiosmtpd handler that keeps every message; `reject` maps addresses to SMTP replies."""

    def __init__(self, pipelining: bool = True):
        self.pipelining = pipelining
        self.messages: list[tuple[list[str], bytes]] = []
        self.reject: dict[str, str] = {}
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:  # as Postfix and most servers do (RFC 2920)
            return [*responses[:-1], "250-PIPELINING", responses[-1]]
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject:
            return self.reject[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def count(self) -> int:
        with self.lock:
            return len(self.messages)

    def recipients(self) -> list[str]:
        with self.lock:
            return [r for rcpts, _ in self.messages for r in rcpts]

    def parsed(self):
        with self.lock:
            return [message_from_bytes(raw, policy=policy.default) for _, raw in self.messages]


def start_smtp(port: int | None = None, *, pipelining: bool = True) -> tuple[Controller, Sink]:
    sink = Sink(pipelining)
    controller = Controller(sink, hostname="127.0.0.1", port=port or free_port())
    controller.start()
    return controller, sink


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(("html",)).get_content()
