"""The notification mail: rendered once per (notification, language, variant), sent to many.

Building a MIME message with Python's `email` package for every recipient costs more than
sending it (DESIGN.md). So the templates render once per language and component variant with a
placeholder where each subscriber's secret token goes; a recipient's message is then that text
with the token substituted, quoted-printable encoded (C code in `binascii`) and joined to a
header block built once. The result is an ordinary multipart/alternative message.
"""

from __future__ import annotations

import binascii
import datetime as dt
import re
import secrets
from dataclasses import dataclass
from email.header import Header
from email.utils import format_datetime, formataddr
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail.message import sanitize_address
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from incidents.markdown import render_markdown
from incidents.models import Component, Incident, IncidentUpdate, Page

# Stands for a subscriber's token in rendered text; never produced by a template otherwise.
TOKEN = "SUBSCRIBERxTOKENxPLACEHOLDER"


def site_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def page_url(page: Page, path: str = "") -> str:
    return page.public_url(path)


def manage_url(page: Page, token: str) -> str:
    return page_url(page, f"subscription/{token}/")


def unsubscribe_url(page: Page, token: str) -> str:
    return page_url(page, f"unsubscribe/{token}/")


def thread_root_id(page: Page, incident_id: int) -> str:
    """The Message-ID every mail about one incident refers to, so clients group them."""
    return f"<incident-{incident_id}.{page.slug}@{site_domain()}>"


def from_header(page: Page) -> str:
    return formataddr((page.name, settings.DEFAULT_FROM_EMAIL), charset="utf-8")


@dataclass
class NoticeContent:
    """What a notification says, loaded once per send batch (a handful of queries)."""

    page: Page
    incident_id: int | None
    incident_name: str
    kind: str
    status: str
    update: IncidentUpdate | None
    components: list[Component]
    scheduled_for: dt.datetime | None = None
    scheduled_until: dt.datetime | None = None

    @classmethod
    def load(cls, notification) -> NoticeContent:
        page = Page.objects.get(pk=notification.page_id)
        info = notification.data.get("incident") or {}
        incident = Incident.objects.filter(pk=notification.incident_id).first()
        update_id = (notification.data.get("update") or {}).get("id")
        update = IncidentUpdate.objects.filter(pk=update_id).first() if update_id else None
        components = list(
            Component.objects.filter(pk__in=notification.component_ids, is_visible=True).order_by(
                "position", "id"
            )
        )
        return cls(
            page=page,
            incident_id=notification.incident_id or info.get("id"),
            incident_name=incident.name if incident else info.get("name", ""),
            kind=incident.kind if incident else info.get("kind", "incident"),
            status=update.status if update else info.get("status", ""),
            update=update,
            components=components,
            scheduled_for=incident.scheduled_for if incident else None,
            scheduled_until=incident.scheduled_until if incident else None,
        )


@dataclass
class RenderedNotice:
    """One rendering: headers that do not depend on the recipient, and both bodies."""

    head: bytes
    boundary: str
    text: str
    html: str
    list_unsubscribe: str


def render_notice(
    content: NoticeContent, language: str, followed: tuple[int, ...]
) -> RenderedNotice:
    """Render the mail for one language and component variant (`followed`: () means all)."""
    page = content.page
    with translation.override(language), timezone.override(page.tz):
        status_label = dict(_status_labels()).get(content.status, content.status)
        context = {
            "page": page,
            "kind": content.kind,
            "incident_name": content.incident_name,
            "status": content.status,
            "status_label": status_label,
            "update": content.update,
            "body_html": render_markdown(content.update.body) if content.update else "",
            "components": content.components,
            "scheduled_for": content.scheduled_for,
            "scheduled_until": content.scheduled_until,
            "followed": [c for c in content.components if c.pk in followed],
            "incident_url": page_url(page, f"incidents/{content.incident_id}/"),
            "page_url": page_url(page),
            "manage_url": manage_url(page, TOKEN),
            "unsubscribe_url": unsubscribe_url(page, TOKEN),
            "language": language,
        }
        text = render_to_string("notifications/email/notice.txt", context)
        html = render_to_string("notifications/email/notice.html", context)
        subject = _("[%(page)s] %(title)s") % {"page": page.name, "title": content.incident_name}
    # Mails about one incident form a thread; a notice without one threads with nothing.
    thread = []
    if content.incident_id is not None:
        root = thread_root_id(page, content.incident_id)
        thread = [("In-Reply-To", root), ("References", root)]
    boundary = f"=_sp_{secrets.token_hex(12)}"
    headers = [
        ("From", from_header(page)),
        ("Subject", subject if subject.isascii() else Header(subject, "utf-8").encode()),
        *thread,
        ("List-Id", formataddr((page.name, f"{page.slug}.status.{site_domain()}"), "utf-8")),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("Auto-Submitted", "auto-generated"),
        ("Content-Language", language),
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
    ]
    head = "".join(f"{name}: {value}\r\n" for name, value in headers).encode("ascii")
    return RenderedNotice(
        head=head,
        boundary=boundary,
        text=text,
        html=html,
        list_unsubscribe=f"<{unsubscribe_url(page, TOKEN)}>",
    )


def _status_labels():
    from incidents.models import IncidentStatus

    return IncidentStatus.choices


def _qp(text: str) -> bytes:
    data = text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    return binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)


_LEADING_DOT = re.compile(rb"(?m)^\.")


def build_message(rendered: RenderedNotice, *, to: str, token: str, message_id: str) -> bytes:
    """The complete message for one recipient, CRLF line ends, ready for SMTP DATA."""
    part_head = '--{b}\r\nContent-Type: text/{kind}; charset="utf-8"\r\n'
    part_head += "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    b = rendered.boundary
    personal = (
        f"To: {to if to.isascii() else sanitize_address(to, 'utf-8')}\r\n"
        f"Date: {format_datetime(timezone.now())}\r\n"
        f"Message-ID: {message_id}\r\n"
        f"List-Unsubscribe: {rendered.list_unsubscribe.replace(TOKEN, token)}\r\n"
    ).encode("ascii")
    return b"".join(
        [
            rendered.head,
            personal,
            b"\r\n",
            part_head.format(b=b, kind="plain").encode(),
            _qp(rendered.text.replace(TOKEN, token)),
            b"\r\n",
            part_head.format(b=b, kind="html").encode(),
            _qp(rendered.html.replace(TOKEN, token)),
            f"\r\n--{b}--\r\n".encode(),
        ]
    )


def dot_stuff(message: bytes) -> bytes:
    """SMTP DATA transparency (RFC 5321 4.5.2): double a leading dot on every line."""
    return _LEADING_DOT.sub(b"..", message)
