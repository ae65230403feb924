"""What building one subscriber's notice costs: `notifications.emails.build_message` (the
standard library's EmailMessage from header objects parsed once per rendering, bodies encoded
by binascii) against Django's EmailMultiAlternatives built per message (the naive way), in the
same run. No database: the page and update are unsaved objects.

Run: `.venv/bin/python bench/email_build.py [--messages 3000]`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.core.mail import EmailMultiAlternatives  # noqa: E402

from incidents.models import IncidentUpdate, Page  # noqa: E402
from notifications import emails  # noqa: E402


def content() -> emails.NoticeContent:
    page = Page(slug="it", name="IT-diensten ✓", time_zone="Europe/Amsterdam")
    body = "\n\n".join(["We are investigating slow **VPN** connections in Utrecht. " * 6] * 8)
    update = IncidentUpdate(status="investigating", body=body)
    return emails.NoticeContent(
        page=page, incident_id=42, incident_name="VPN slow in Utrecht", kind="incident",
        status="investigating", update=update, components=[],
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    n = parser.parse_args().messages
    rendered = emails.render_notice(content(), "en", ())
    size = 0
    started = time.perf_counter()
    for i in range(n):
        raw = emails.build_message(
            rendered, to=f"user{i}@example.com", token=f"tok{i:020d}", message_id=f"<n1.d{i}@x>"
        )
        size += len(raw)
    ours = time.perf_counter() - started
    started = time.perf_counter()
    for i in range(n):
        message = EmailMultiAlternatives(
            "[IT-diensten ✓] VPN slow in Utrecht",
            rendered.text.replace(emails.TOKEN, f"tok{i:020d}"),
            emails.from_header(content().page),
            [f"user{i}@example.com"],
            headers={"List-Unsubscribe": rendered.list_unsubscribe},
        )
        message.attach_alternative(rendered.html.replace(emails.TOKEN, f"tok{i:020d}"), "text/html")
        message.message().as_bytes()
    naive = time.perf_counter() - started
    print(f"{n} messages of {size // n} bytes")
    print(f"build_message:          {n / ours:8.0f} msg/s ({ours / n * 1e6:.0f} µs each)")
    print(f"EmailMultiAlternatives: {n / naive:8.0f} msg/s ({naive / n * 1e6:.0f} µs each)")
    print(f"ratio: {naive / ours:.2f}x")


if __name__ == "__main__":
    main()
