"""The notification mail: rendered once per (notification, language, variant), sent to many.

Building a MIME message with Python's `email` package for every recipient costs more than
sending it (DESIGN.md). So the templates render once per language and component variant with a
placeholder where each subscriber's secret token goes; a recipient's message is then that text
with the token substituted, quoted-printable encoded (C code in `binascii`) and joined to a
set of header objects parsed once by the standard library's `email` package. Each recipient's
message is an `email.message.EmailMessage` assembled from those: the email package writes every
header (a line break in a value is refused, never copied), so no text is ever joined into the
header block by hand.
"""

from __future__ import annotations

import binascii
import datetime as dt
import re
import secrets
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formataddr
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from incidents import events
from incidents.markdown import render_markdown
from incidents.models import Component, Incident, IncidentUpdate, Page


class _Policy(policy.EmailPolicy):
    """SMTP line ends, 78-column folding; header values with CR/LF raise instead of being
    written. A header object parsed once per rendering (`_header`) keeps the bytes this policy
    folded it to, so the thousands of messages of one rendering fold it once: folding is most
    of what building a message costs."""

    def fold_binary(self, name, value):
        folded = getattr(value, "_sp_folded", None)
        if folded is not None:
            return folded
        return super().fold_binary(name, value)


POLICY = _Policy(linesep="\r\n")

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
    return formataddr((one_line(page.name), settings.DEFAULT_FROM_EMAIL), charset="utf-8")


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
    # The published postmortem, when that is what the notification announces.
    postmortem: str = ""

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
            postmortem=incident.postmortem_published
            if incident and notification.event_type == events.POSTMORTEM_PUBLISHED
            else "",
        )


@dataclass
class RenderedNotice:
    """One rendering: headers that do not depend on the recipient, and both bodies."""

    headers: list  # parsed header objects of `email.headerregistry`, reused per recipient
    content_type: Any  # multipart/alternative with this rendering's boundary
    text: str
    html: str
    list_unsubscribe: str


def one_line(value: str) -> str:
    """Stored text as a header value: runs of whitespace (line breaks too) become one space.

    Services refuse multi-line titles and names (incidents.validators); this keeps a row saved
    before that rule from failing its mail, while the email package refuses a line break in a
    header value whatever it came from."""
    return " ".join(str(value).split())


def _header(name: str, value: str | Address):
    """A header object checked, parsed and folded by the standard library (raises on CR/LF)."""
    header = POLICY.header_factory(*POLICY.header_store_parse(name, value))
    header._sp_folded = policy.SMTP.fold_binary(name, header)
    return header


# The same for every message: parsed and folded once.
_MIME_VERSION = _header("MIME-Version", "1.0")
_PART_HEADERS = {
    kind: [
        _header("Content-Type", f"text/{kind}; charset=utf-8"),
        _header("Content-Transfer-Encoding", "quoted-printable"),
    ]
    for kind in ("plain", "html")
}


def render_notice(
    content: NoticeContent, language: str, followed: tuple[int, ...]
) -> RenderedNotice:
    """Render the mail for one language and component variant (`followed`: () means all)."""
    page = content.page
    with translation.override(language), timezone.override(page.tz):
        status_label = dict(_status_labels()).get(content.status, content.status)
        if content.postmortem:
            status_label = _("Postmortem")
        context = {
            "page": page,
            "kind": content.kind,
            "incident_name": content.incident_name,
            "status": content.status,
            "status_label": status_label,
            "update": content.update,
            "body_html": render_markdown(content.update.body) if content.update else "",
            "postmortem": content.postmortem,
            "postmortem_html": render_markdown(content.postmortem) if content.postmortem else "",
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
        subject = _("[%(page)s] %(title)s") % {
            "page": one_line(page.name),
            "title": one_line(content.incident_name),
        }
    # Mails about one incident form a thread; a notice without one threads with nothing.
    thread = []
    if content.incident_id is not None:
        root = thread_root_id(page, content.incident_id)
        thread = [_header("In-Reply-To", root), _header("References", root)]
    # A list id is `phrase <dotted.id>`, not an address (no @): an unstructured header.
    list_id = formataddr((one_line(page.name), f"{page.slug}.status.{site_domain()}"), "utf-8")
    headers = [
        _header("From", Address(one_line(page.name), addr_spec=settings.DEFAULT_FROM_EMAIL)),
        _header("Subject", subject),
        *thread,
        _header("List-Id", list_id),
        _header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        _header("Auto-Submitted", "auto-generated"),
        _header("Content-Language", language),
    ]
    return RenderedNotice(
        headers=headers,
        content_type=_header(
            "Content-Type", f'multipart/alternative; boundary="=_sp_{secrets.token_hex(12)}"'
        ),
        text=text,
        html=html,
        list_unsubscribe=f"<{unsubscribe_url(page, TOKEN)}>",
    )


def _status_labels():
    from incidents.models import IncidentStatus

    return IncidentStatus.choices


def _qp(text: str) -> str:
    data = text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    return binascii.b2a_qp(data, quotetabs=False, istext=True, header=False).decode("ascii")


_LEADING_DOT = re.compile(rb"(?m)^\.")


def _body_part(kind: str, text: str) -> EmailMessage:
    part = EmailMessage(policy=POLICY)
    for header in _PART_HEADERS[kind]:
        part.set_raw(header.name, header)
    # Encoded here with binascii (C): the email package's own encoder is pure Python.
    part.set_payload(_qp(text))
    return part


def build_message(rendered: RenderedNotice, *, to: str, token: str, message_id: str) -> bytes:
    """The complete message for one recipient, built by the standard library's EmailMessage
    (every header parsed and folded by it, never joined by hand), CRLF line ends."""
    message = EmailMessage(policy=POLICY)
    # Header objects the email package parsed (and checked) once per rendering: stored as they
    # are (`set_raw`, no second parse); the recipient's own headers are parsed here.
    for header in rendered.headers:
        message.set_raw(header.name, header)
    # Objects, not text: no parse (Address refuses CR/LF in the address all the same).
    message["To"] = Address(addr_spec=to)
    message["Date"] = timezone.now()
    message["Message-ID"] = message_id
    message["List-Unsubscribe"] = rendered.list_unsubscribe.replace(TOKEN, token)
    message.set_raw(_MIME_VERSION.name, _MIME_VERSION)
    message.set_raw(rendered.content_type.name, rendered.content_type)
    message.set_payload(
        [
            _body_part("plain", rendered.text.replace(TOKEN, token)),
            _body_part("html", rendered.html.replace(TOKEN, token)),
        ]
    )
    return message.as_bytes()


def dot_stuff(message: bytes) -> bytes:
    """SMTP DATA transparency (RFC 5321 4.5.2): double a leading dot on every line."""
    return _LEADING_DOT.sub(b"..", message)
