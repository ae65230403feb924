"""What building one subscriber's notice costs, four ways in the same run:

- `build_message`: the rendering serialized once by EmailMessage, per recipient only the
  checked values (To, Date, Message-ID, List-Unsubscribe) and both QP bodies put in place;
- `build_message_reference`: a whole EmailMessage per recipient (issue 11's builder, the
  baseline this change is measured against);
- the hand-joined builder before issue 11 (header text joined with f-strings: fast, but a
  CR/LF in a value became a new header; kept here only as a ceiling);
- Django's EmailMultiAlternatives per message (the naive way).

No database: the page and update are unsaved objects.

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

from email.utils import format_datetime  # noqa: E402

from django.core.mail import EmailMultiAlternatives  # noqa: E402
from django.utils import timezone  # noqa: E402

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


def hand_joined(rendered, to: str, token: str, message_id: str, head: bytes, boundary: str):
    """The pre-issue-11 per-recipient work (header block joined by hand), for comparison."""
    part_head = '--{b}\r\nContent-Type: text/{kind}; charset="utf-8"\r\n'
    part_head += "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    personal = (
        f"To: {to}\r\n"
        f"Date: {format_datetime(timezone.now())}\r\n"
        f"Message-ID: {message_id}\r\n"
        f"List-Unsubscribe: {rendered.list_unsubscribe.replace(emails.TOKEN, token)}\r\n"
    ).encode("ascii")
    return b"".join(
        [
            head,
            personal,
            b"\r\n",
            part_head.format(b=boundary, kind="plain").encode(),
            emails._qp(rendered.text.replace(emails.TOKEN, token)).encode("ascii"),
            b"\r\n",
            part_head.format(b=boundary, kind="html").encode(),
            emails._qp(rendered.html.replace(emails.TOKEN, token)).encode("ascii"),
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )


def timed(n: int, build) -> tuple[float, int]:
    size = 0
    started = time.perf_counter()
    for i in range(n):
        size += len(build(i))
    return time.perf_counter() - started, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    n = parser.parse_args().messages
    rendered = emails.render_notice(content(), "en", ())
    token = "tok{:040d}".format  # 43 characters, like a subscriber's token
    ours, size = timed(
        n,
        lambda i: emails.build_message(
            rendered, to=f"user{i}@example.com", token=token(i), message_id=f"<n1.d{i}@x>"
        ),
    )
    reference, _ = timed(
        n,
        lambda i: emails.build_message_reference(
            rendered, to=f"user{i}@example.com", token=token(i), message_id=f"<n1.d{i}@x>"
        ),
    )
    head = b"".join(h._sp_folded for h in [*rendered.headers, emails._MIME_VERSION])
    head += rendered.content_type._sp_folded
    boundary = rendered.content_type.params["boundary"]
    joined, _ = timed(
        n,
        lambda i: hand_joined(
            rendered, f"user{i}@example.com", token(i), f"<n1.d{i}@x>", head, boundary
        ),
    )

    def naive_build(i: int) -> bytes:
        message = EmailMultiAlternatives(
            "[IT-diensten ✓] VPN slow in Utrecht",
            rendered.text.replace(emails.TOKEN, token(i)),
            emails.from_header(content().page),
            [f"user{i}@example.com"],
            headers={"List-Unsubscribe": rendered.list_unsubscribe},
        )
        message.attach_alternative(rendered.html.replace(emails.TOKEN, token(i)), "text/html")
        return message.message().as_bytes()

    naive, _ = timed(n, naive_build)
    print(f"{n} messages of {size // n} bytes; load average {os.getloadavg()[0]:.2f}")
    for name, seconds in (
        ("build_message (skeleton)", ours),
        ("EmailMessage per recipient", reference),
        ("hand-joined (pre-issue-11)", joined),
        ("EmailMultiAlternatives", naive),
    ):
        print(f"{name + ':':32} {n / seconds:8.0f} msg/s ({seconds / n * 1e6:.0f} µs each)")
    print(f"ratio skeleton / EmailMessage per recipient: {reference / ours:.2f}x")
    print(f"ratio skeleton / hand-joined: {joined / ours:.2f}x")
    print(f"ratio: {naive / ours:.2f}x")


if __name__ == "__main__":
    main()
