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
from dataclasses import field as dataclass_field
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from incidents import events
from incidents.markdown import render_markdown
from incidents.models import (
    Component,
    ComponentStatus,
    Customer,
    Incident,
    IncidentUpdate,
    Page,
    Visibility,
)


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
    components: list[Component]  # every shown one it touches; `components_for` picks per reader
    scheduled_for: dt.datetime | None = None
    scheduled_until: dt.datetime | None = None
    # The published postmortem, when that is what the notification announces.
    postmortem: str = ""
    # What happened (incidents.events), for the subject: "Resolved: …", "Maintenance in 1 hour: …".
    event_type: str = ""
    reminder_hours: int | None = None
    # The customers assigned each customer-only component, by component id.
    owners: dict[int, frozenset[int]] = dataclass_field(default_factory=dict)

    def components_for(self, customer_id: int | None) -> list[Component]:
        """The components a reader sees: public ones, and its customer's customer-only ones."""
        return [
            c
            for c in self.components
            if c.visibility == Visibility.PUBLIC or customer_id in self.owners.get(c.pk, ())
        ]

    @classmethod
    def load(cls, notification) -> NoticeContent:
        page = Page.objects.get(pk=notification.page_id)
        info = notification.data.get("incident") or {}
        incident = Incident.objects.filter(pk=notification.incident_id).first()
        update_id = (notification.data.get("update") or {}).get("id")
        update = IncidentUpdate.objects.filter(pk=update_id).first() if update_id else None
        if update is None and incident and notification.event_type == events.MAINTENANCE_REMINDER:
            # A reminder carries the maintenance's latest message.
            update = incident.updates.order_by("-display_at", "-id").first()
        components = list(
            Component.objects.filter(pk__in=notification.component_ids, is_visible=True).order_by(
                "position", "id"
            )
        )
        owners: dict[int, set[int]] = {}
        private = [c.pk for c in components if c.visibility != Visibility.PUBLIC]
        if private:
            for component_id, customer_id in Customer.components.through.objects.filter(
                component_id__in=private
            ).values_list("component_id", "customer_id"):
                owners.setdefault(component_id, set()).add(customer_id)
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
            event_type=notification.event_type,
            reminder_hours=notification.data.get("reminder_hours"),
            owners={k: frozenset(v) for k, v in owners.items()},
        )


@dataclass
class RenderedNotice:
    """One rendering: headers that do not depend on the recipient, and both bodies."""

    headers: list  # parsed header objects of `email.headerregistry`, reused per recipient
    content_type: Any  # multipart/alternative with this rendering's boundary
    text: str
    html: str
    list_unsubscribe: str
    skeleton: _Skeleton | None = None  # serialized on first use by `build_message`


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


# A status's pill in the mails: text and border colour, 4.5:1 or more on white (as the page's).
STATUS_COLOURS = {
    "investigating": "#b42318",
    "identified": "#b54708",
    "monitoring": "#8a5a00",
    "resolved": "#1a7f37",
    "scheduled": "#175cd3",
    "in_progress": "#175cd3",
    "verifying": "#175cd3",
    "completed": "#1a7f37",
}
COMPONENT_COLOURS = {
    "operational": "#1a7f37",
    "degraded_performance": "#8a5a00",
    "partial_outage": "#b54708",
    "major_outage": "#b42318",
    "under_maintenance": "#175cd3",
}


def notice_subject(content: NoticeContent) -> str:
    """The subject says what happened: "[Example IT] Resolved: VPN slow in Utrecht"."""
    title = one_line(content.incident_name)
    if content.event_type == events.MAINTENANCE_REMINDER and content.reminder_hours:
        hours = content.reminder_hours
        if hours % 24 == 0 and hours >= 48:
            what = ngettext(
                "Maintenance in %(count)d day: %(title)s",
                "Maintenance in %(count)d days: %(title)s",
                hours // 24,
            ) % {"count": hours // 24, "title": title}
        else:
            what = ngettext(
                "Maintenance in %(count)d hour: %(title)s",
                "Maintenance in %(count)d hours: %(title)s",
                hours,
            ) % {"count": hours, "title": title}
    else:
        template = {
            events.INCIDENT_CREATED: _("New incident: %(title)s"),
            events.INCIDENT_UPDATED: _("Update: %(title)s"),
            events.INCIDENT_RESOLVED: _("Resolved: %(title)s"),
            events.INCIDENT_REOPENED: _("Reopened: %(title)s"),
            events.MAINTENANCE_SCHEDULED: _("Maintenance planned: %(title)s"),
            events.MAINTENANCE_STARTED: _("Maintenance started: %(title)s"),
            events.MAINTENANCE_UPDATED: _("Maintenance update: %(title)s"),
            events.MAINTENANCE_COMPLETED: _("Maintenance completed: %(title)s"),
            events.POSTMORTEM_PUBLISHED: _("Postmortem: %(title)s"),
        }.get(content.event_type, "%(title)s")
        what = template % {"title": title}
    return _("[%(page)s] %(title)s") % {"page": one_line(content.page.name), "title": what}


def render_notice(
    content: NoticeContent,
    language: str,
    followed: tuple[int, ...],
    customer_id: int | None = None,
) -> RenderedNotice:
    """Render the mail for one language and component variant (`followed`: () means all), for
    the public or one customer's people (who also see its customer-only components)."""
    page = content.page
    components = content.components_for(customer_id)
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
            "components": [
                {
                    "name": c.name,
                    "status": ComponentStatus(c.status).label
                    if c.status in ComponentStatus.values
                    else c.status,
                    "colour": COMPONENT_COLOURS.get(c.status, "#4f5b6b"),
                }
                for c in components
            ],
            "status_colour": STATUS_COLOURS.get(content.status, page.accent_colour),
            "resolved": content.status in ("resolved", "completed"),
            "reminder_hours": content.reminder_hours
            if content.event_type == events.MAINTENANCE_REMINDER
            else None,
            "scheduled_for": content.scheduled_for,
            "scheduled_until": content.scheduled_until,
            "followed": [c for c in components if c.pk in followed],
            "incident_url": page_url(page, f"incidents/{content.incident_id}/"),
            "page_url": page_url(page),
            "manage_url": manage_url(page, TOKEN),
            "unsubscribe_url": unsubscribe_url(page, TOKEN),
            "language": language,
        }
        text = render_to_string("notifications/email/notice.txt", context)
        html = render_to_string("notifications/email/notice.html", context)
        subject = notice_subject(content)
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


def build_message_reference(
    rendered: RenderedNotice, *, to: str, token: str, message_id: str, date=None
) -> bytes:
    """One recipient's message built whole by the standard library's EmailMessage (every
    header parsed and folded by it, never joined by hand), CRLF line ends. `build_message`
    gives the same bytes faster; this is its fallback and the reference its tests compare to."""
    message = EmailMessage(policy=POLICY)
    # Header objects the email package parsed (and checked) once per rendering: stored as they
    # are (`set_raw`, no second parse); the recipient's own headers are parsed here.
    for header in rendered.headers:
        message.set_raw(header.name, header)
    # Objects, not text: no parse (Address refuses CR/LF in the address all the same).
    message["To"] = Address(addr_spec=to)
    message["Date"] = date or timezone.now()
    message["Message-ID"] = message_id
    message.set_raw("List-Unsubscribe", _list_unsubscribe(rendered, token))
    message.set_raw(_MIME_VERSION.name, _MIME_VERSION)
    message.set_raw(rendered.content_type.name, rendered.content_type)
    message.set_payload(
        [
            _body_part("plain", rendered.text.replace(TOKEN, token)),
            _body_part("html", rendered.html.replace(TOKEN, token)),
        ]
    )
    return message.as_bytes()


class _Unfolded(str):
    """A header value written on one line as it is (our policy's `fold_binary` uses
    `_sp_folded`)."""

    _sp_folded: bytes


_LIST_UNSUBSCRIBE = re.compile(r"<[!-;=?-~]+>\Z")


def _list_unsubscribe(rendered: RenderedNotice, token: str) -> _Unfolded:
    """`<https://…/unsubscribe/TOKEN/>` on one line: RFC 2369 wants the bracketed URL itself,
    and the email package would fold a long one into RFC 2047 encoded words, which mail
    clients do not read as a URL (no one-click unsubscribe). Printable ASCII without spaces
    only, so no CR/LF; refused otherwise, like any header value with a line break."""
    value = rendered.list_unsubscribe.replace(TOKEN, token)
    if not _LIST_UNSUBSCRIBE.match(value) or len(value) > 998 - len("List-Unsubscribe: "):
        raise ValueError(f"List-Unsubscribe must be one bracketed ASCII URL: {value!r}")
    unfolded = _Unfolded(value)
    unfolded._sp_folded = f"List-Unsubscribe: {value}\r\n".encode("ascii")
    return unfolded


# What a recipient's own values may be on the fast path: printable ASCII without spaces (so no
# CR/LF, nothing the email package would quote, encode or fold) and short enough that the header
# line stays within 78 columns. Anything else goes through `build_message_reference`.
_SAFE_ADDRESS = re.compile(r"[!-~]{1,64}@[A-Za-z0-9.-]{1,200}\Z")
_SAFE_MESSAGE_ID = re.compile(r"<[!-;=?-~]{1,120}@[!-;=?-~]{1,200}>\Z")
_SAFE_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,200}\Z")
_ADDRESS_SPECIALS = re.compile(r'[()<>\[\]:;,\\"]')


@dataclass
class _Skeleton:
    """One rendering serialized once by the standard library, cut where recipients differ."""

    segments: list[bytes]  # len(slots) + 1 pieces of the EmailMessage's own bytes
    slots: list[str]  # which value goes between segments[i] and segments[i + 1]


def _skeleton(rendered: RenderedNotice) -> _Skeleton:
    """Serialize the rendering with EmailMessage, every per-recipient value a random marker
    (unguessable, so no incident text can contain one), and cut the bytes at the markers. Each
    marker must come out exactly once and unaltered, or this raises: the cut is checked, not
    assumed."""
    mark = secrets.token_hex(8)
    markers = {
        "to": f"spto{mark}@example.invalid",
        "date": f"spdate{mark}",
        "message_id": f"<spmid{mark}@example.invalid>",
        "list_unsubscribe": f"spunsub{mark}",
        "plain": f"spplain{mark}",
        "html": f"sphtml{mark}",
    }
    message = EmailMessage(policy=POLICY)
    for header in rendered.headers:
        message.set_raw(header.name, header)
    message["To"] = Address(addr_spec=markers["to"])
    message.set_raw("Date", markers["date"])  # raw text, written as is: a marker, not a date
    message["Message-ID"] = markers["message_id"]
    message["List-Unsubscribe"] = markers["list_unsubscribe"]
    message.set_raw(_MIME_VERSION.name, _MIME_VERSION)
    message.set_raw(rendered.content_type.name, rendered.content_type)
    plain = EmailMessage(policy=POLICY)
    html = EmailMessage(policy=POLICY)
    for part, kind in ((plain, "plain"), (html, "html")):
        for header in _PART_HEADERS[kind]:
            part.set_raw(header.name, header)
        part.set_payload(markers[kind])
    message.set_payload([plain, html])
    raw = message.as_bytes()
    # A header marker must be a whole header value on one line: "Name: marker\r\n".
    lines = {
        "to": b"To: ",
        "date": b"Date: ",
        "message_id": b"Message-ID: ",
        "list_unsubscribe": b"List-Unsubscribe: ",
    }
    found = []
    for slot, marker in markers.items():
        encoded = marker.encode("ascii")
        if raw.count(encoded) != 1:
            raise ValueError(f"mail skeleton: marker for {slot} not found exactly once")
        start = raw.index(encoded)
        if slot in lines:
            prefix = b"\r\n" + lines[slot]
            if (
                raw[start - len(prefix) : start] != prefix
                or raw[start + len(encoded) :][:2] != b"\r\n"
            ):
                raise ValueError(f"mail skeleton: {slot} is not a one-line header")
        found.append((start, start + len(encoded), slot))
    found.sort()
    segments, slots, at = [], [], 0
    for start, end, slot in found:
        segments.append(raw[at:start])
        slots.append(slot)
        at = end
    segments.append(raw[at:])
    return _Skeleton(segments, slots)


def _safe_address(to: str) -> bool:
    return (
        len(to) <= 70  # "To: " + address within 78 columns: the email package would not fold
        and _SAFE_ADDRESS.match(to) is not None
        and not _ADDRESS_SPECIALS.search(to)
        and to.count("@") == 1
        and not to.startswith(".")
        and not to.endswith((".", "-", "@"))
        and ".@" not in to
        and "@." not in to
        and "@-" not in to
        and ".." not in to
    )


def build_message(
    rendered: RenderedNotice, *, to: str, token: str, message_id: str, date=None
) -> bytes:
    """The complete message for one recipient, CRLF line ends.

    The MIME structure and every shared header were serialized once per rendering by the
    standard library (`_skeleton`); here only what differs is put in its place: the address
    and Message-ID (checked above to be printable ASCII without spaces, so no CR/LF and nothing
    the email package would have written differently), the date, the List-Unsubscribe URL with
    the URL-safe token (`_list_unsubscribe`, the same one line as the reference), and both
    bodies quoted-printable encoded whole (binascii) with the token
    in them. QP output never contains the multipart boundary (which starts with "=_", and QP
    writes every "=" as "=3D"). A value outside those rules takes `build_message_reference`,
    the per-recipient EmailMessage: same bytes, slower."""
    if not (
        _safe_address(to)
        and _SAFE_TOKEN.match(token)
        and _SAFE_MESSAGE_ID.match(message_id)
        and len(message_id) <= 78 - len("Message-ID: ")
    ):
        return build_message_reference(
            rendered, to=to, token=token, message_id=message_id, date=date
        )
    skeleton = rendered.skeleton
    if skeleton is None:
        skeleton = rendered.skeleton = _skeleton(rendered)
    unsubscribe = _list_unsubscribe(rendered, token).encode("ascii")
    values = {
        "to": to.encode("ascii"),
        "date": _date_header(date),
        "message_id": message_id.encode("ascii"),
        "list_unsubscribe": unsubscribe,
        "plain": _qp(rendered.text.replace(TOKEN, token)).encode("ascii"),
        "html": _qp(rendered.html.replace(TOKEN, token)).encode("ascii"),
    }
    segments = skeleton.segments
    out = [segments[0]]
    for index, slot in enumerate(skeleton.slots):
        out.append(values[slot])
        out.append(segments[index + 1])
    return b"".join(out)


_date_cache: tuple[int, bytes] = (-1, b"")


def _date_header(date=None) -> bytes:
    """The Date value as the email package writes it (RFC 5322), formatted once a second."""
    global _date_cache
    if date is not None:
        return format_datetime(date).encode("ascii")
    now = timezone.now()
    second = int(now.timestamp())
    if _date_cache[0] != second:
        _date_cache = (second, format_datetime(now.replace(microsecond=0)).encode("ascii"))
    return _date_cache[1]


def dot_stuff(message: bytes) -> bytes:
    """SMTP DATA transparency (RFC 5321 4.5.2): double a leading dot on every line."""
    return _LEADING_DOT.sub(b"..", message)
