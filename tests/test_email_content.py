"""What subscribers and reporters read (issue 14), through a real SMTP sink: subjects that say
the state, status pills coloured by state, each affected component with its status, the page's
support line, reminders that say how soon, the confirmation mail in HTML and text, and a branded
receipt with a reference and the desk's opening time."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
import time_machine
from django.utils import timezone

from incidents import services
from incidents.events import DomainEvent
from incidents.models import Component
from incidents.services.incidents import incident_data
from notifications.models import Subscriber
from notifications.receivers import on_domain_event

from .email_helpers import html_of, start_smtp, text_of
from .factories import office_hours
from .test_reports import answers

pytestmark = pytest.mark.django_db

AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def smtp(settings):
    controller, sink = start_smtp()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = False
    yield sink
    controller.stop()


def subscribe(page, email, language="en"):
    return Subscriber.objects.create(
        page=page, email=email, language=language, confirmed_at=timezone.now()
    )


def component(page, name):
    return Component.objects.get(page=page, name=name)


def test_subjects_say_the_state_and_the_body_shows_each_component_and_the_support_line(
    it_page, smtp, django_capture_on_commit_callbacks
):
    it_page.support_phone = "+31 20 123 4567"
    services.save_page(it_page, actor=None)
    subscribe(it_page, "dana@example.com")
    subscribe(it_page, "joost@example.com", language="nl")
    internet, vpn = component(it_page, "Internet access"), component(it_page, "VPN")
    with django_capture_on_commit_callbacks(execute=True):
        incident = services.open_incident(
            it_page,
            actor=None,
            name="Internet down",
            body="Looking into it.",
            components={internet.pk: "major_outage", vpn.pk: "degraded_performance"},
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.post_update(incident, actor=None, status="identified", body="A cable was cut.")
    with django_capture_on_commit_callbacks(execute=True):
        services.resolve_incident(incident, actor=None, body="Repaired.")
    with django_capture_on_commit_callbacks(execute=True):
        services.reopen_incident(incident, actor=None, body="Down again.")

    mails = {(m["To"], m["Subject"]): m for m in smtp.parsed()}
    assert [s for to, s in mails if to == "dana@example.com"] == [
        "[IT services] New incident: Internet down",
        "[IT services] Update: Internet down",
        "[IT services] Resolved: Internet down",
        "[IT services] Reopened: Internet down",
    ]
    assert [s for to, s in mails if to == "joost@example.com"] == [
        "[IT services] Nieuwe storing: Internet down",
        "[IT services] Update: Internet down",
        "[IT services] Opgelost: Internet down",
        "[IT services] Heropend: Internet down",
    ]
    first = mails["dana@example.com", "[IT services] New incident: Internet down"]
    html, text = html_of(first), text_of(first)
    # The pill in the state's colour (investigating: red), each component with its status.
    assert re.search(r"border:1px solid #b42318;color:#b42318;[^>]*>Investigating<", html)
    assert 'Internet access: <span style="color:#b42318;font-weight:600;">Major outage' in html
    assert "- Internet access: Major outage\r\n- VPN: Degraded performance" in text
    # The page's own line: no need to call, and how to reach support.
    for body in (html, text):
        assert "there is no need to call or email us about it" in body
        assert "support@example.com" in body and "+31 20 123 4567" in body
    resolved = mails["dana@example.com", "[IT services] Resolved: Internet down"]
    assert re.search(r"color:#1a7f37;[^>]*>Resolved<", html_of(resolved))
    assert "This problem has been solved." in text_of(resolved)
    assert "- Internet access: Operational" in text_of(resolved)
    dutch = mails["joost@example.com", "[IT services] Opgelost: Internet down"]
    assert "Hebt u nog steeds problemen" in text_of(dutch)


@pytest.mark.parametrize(
    ("hours", "subject", "soon"),
    [
        (1, "[IT services] Maintenance in 1 hour: VPN upgrade", "Starts in 1 hour."),
        (24, "[IT services] Maintenance in 24 hours: VPN upgrade", "Starts in 24 hours."),
    ],
)
def test_a_reminder_says_how_soon_maintenance_starts_and_carries_its_message(
    it_page, smtp, django_capture_on_commit_callbacks, hours, subject, soon
):
    subscribe(it_page, "dana@example.com")
    starts = timezone.now() + dt.timedelta(hours=hours)
    with django_capture_on_commit_callbacks(execute=True):
        maintenance = services.schedule_maintenance(
            it_page,
            actor=None,
            name="VPN upgrade",
            body="Short interruptions while the **VPN** restarts.",
            scheduled_for=starts,
            scheduled_until=starts + dt.timedelta(hours=2),
            components=[component(it_page, "VPN").pk],
            deliver_notifications=False,
        )
    reminder = DomainEvent(
        page_id=it_page.pk,
        page_slug=it_page.slug,
        version=it_page.version + 1,
        type="maintenance.reminder",
        data={
            **incident_data(maintenance),
            "reminder_hours": hours,
            "scheduled_for": starts.isoformat(),
            "scheduled_until": (starts + dt.timedelta(hours=2)).isoformat(),
        },
    )
    on_domain_event(sender=None, event=reminder)
    [message] = smtp.parsed()
    assert message["Subject"] == subject
    assert soon in text_of(message) and soon in html_of(message)
    assert "Short interruptions while the **VPN** restarts." in text_of(message)
    assert "Short interruptions while the <strong>VPN</strong> restarts." in html_of(message)


def test_the_confirmation_mail_is_html_and_text_with_one_button(
    client, it_page, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/p/it/subscribe/", {"email": "dana@example.com", "language": "nl"})
    [message] = smtp.parsed()
    assert message["Subject"] == "Bevestig uw aanmelding voor IT services"
    text, html = text_of(message), html_of(message)
    link = re.search(r"http://\S+/subscribe/confirm/\S+/", text).group(0)
    assert f'href="{link}"' in html and "Bevestig uw aanmelding</a>" in html
    assert f"background:{it_page.accent_colour}" in html  # the page's branding
    # The link shows one button; its POST confirms (a scanner's GET confirms nothing).
    path = link.split("127.0.0.1:8000", 1)[1]
    assert "<button" in client.get(path).content.decode()
    assert client.post(path).status_code == 302
    assert Subscriber.objects.get().confirmed_at is not None


def test_the_receipt_is_branded_with_a_reference_local_times_and_when_the_desk_opens(
    client, it_page, smtp, django_capture_on_commit_callbacks
):
    office_hours(it_page)  # Monday–Friday 08:00–17:30
    saturday = dt.datetime(2026, 12, 5, 11, 0, tzinfo=AMS)
    with (
        time_machine.travel(saturday, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        client.post("/p/it/report/form/", answers(it_page), REMOTE_ADDR="192.0.2.7")
    messages = {m["To"]: m for m in smtp.parsed()}
    receipt, support = messages["dana@bakkerij.example"], messages["support@example.com"]
    from incidents.models import ProblemReport

    reference = ProblemReport.objects.get().reference
    assert re.fullmatch(r"R-\d{6}", reference)
    assert receipt["Subject"] == f"We received your report {reference} — IT services"
    assert reference in support["Subject"]
    text, html = text_of(receipt), html_of(receipt)
    assert f"We received problem report {reference} on 5 December 2026 11:00 CET" in text
    assert "Our support desk is closed now; it opens Monday 7 December at 08:00 CET." in text
    assert f'<strong style="font-size:18px;letter-spacing:.03em;">{reference}</strong>' in html
    assert f"background:{it_page.accent_colour}" in html and "max-width:600px" in html
    assert 'name="viewport"' in html
    # Support reads plain words about what the page showed, not "Overall: none".
    support_text = text_of(support)
    assert "In short: All systems operational" in support_text and "Overall" not in support_text
