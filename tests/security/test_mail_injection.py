"""Finding 3: a CR/LF in an incident title or a page name added `Bcc:`, `Reply-To:`, a new
Content-Type and an attacker body to subscriber mail (the header block was joined by hand)."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import Incident, Page
from incidents.services import ServiceError
from notifications import emails
from notifications.models import Notification

pytestmark = pytest.mark.django_db


def notification_for(incident) -> Notification:
    update = incident.updates.order_by("-id").first()
    return Notification.objects.create(
        key=f"test:{incident.pk}",
        page_id=incident.page_id,
        incident=incident,
        event_type="incident.created",
        data={"update": {"id": update.pk}},
        component_ids=[],
    )


INJECTED = "Outage\r\nBcc: victim@evil.example\r\nContent-Type: text/html\r\n\r\n<h1>Pay here</h1>"


@pytest.mark.parametrize("channel", ["service", "api"])
def test_a_title_with_a_line_break_is_refused_on_every_channel(it_page, channel):
    if channel == "service":
        with pytest.raises(ServiceError) as refused:
            services.open_incident(it_page, actor=None, name=INJECTED, body="x")
        assert refused.value.field == "name" and refused.value.code == "multiline"
    else:
        from tests.api_helpers import make_api

        api, _ = make_api()
        response = api.post("pages/it/incidents", {"incident": {"name": INJECTED, "body": "x"}})
        assert response.status_code == 422, response.content
        assert response.json()["field"] == "name"
    assert not Incident.objects.exists()


def test_a_page_name_or_phone_with_a_line_break_is_refused(it_page):
    for field in ("name", "support_phone", "after_hours_phone", "headline"):
        page = Page.objects.get(pk=it_page.pk)
        setattr(page, field, "IT\r\nBcc: victim@evil.example")
        with pytest.raises(ServiceError) as refused:
            services.save_page(page, actor=None)
        assert refused.value.field == field


def test_a_stored_multiline_title_and_page_name_cannot_inject_headers(it_page):
    """Rows saved before the validators existed: the mail is still one clean message."""
    incident = services.open_incident(it_page, actor=None, name="Outage", body="Looking.")
    Incident.objects.filter(pk=incident.pk).update(name=INJECTED)
    Page.objects.filter(pk=it_page.pk).update(name="IT\r\nReply-To: evil@evil.example")
    content = emails.NoticeContent.load(notification_for(incident))
    rendered = emails.render_notice(content, "en", ())
    raw = emails.build_message(
        rendered, to="dana@example.com", token="tok", message_id="<m1@example.com>"
    )
    message = message_from_bytes(raw, policy=policy.default)
    assert message["Bcc"] is None and message["Reply-To"] is None
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert "Bcc: victim" in message["Subject"]  # shown as text in one line, not a header
    assert "\n" not in message["Subject"] and "\n" not in message["From"]
    html = message.get_body(("html",)).get_content()
    assert "<h1>Pay here</h1>" not in html  # escaped by the template, never raw


def test_subject_and_from_are_encoded_by_the_email_package(it_page):
    Page.objects.filter(pk=it_page.pk).update(name="IT-diensten ✓")
    incident = services.open_incident(it_page, actor=None, name="Storing → opgelost?", body="x")
    rendered = emails.render_notice(emails.NoticeContent.load(notification_for(incident)), "nl", ())
    raw = emails.build_message(rendered, to="d@example.com", token="t", message_id="<m@x>")
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()  # RFC 2047 encoded words, never raw UTF-8 in headers
    message = message_from_bytes(raw, policy=policy.default)
    assert message["Subject"] == "[IT-diensten ✓] Nieuwe storing: Storing → opgelost?"
    assert message["Date"].datetime <= timezone.now()
