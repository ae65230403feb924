"""The guided problem report: pick services, see what is known, report; the mail it sends to a
real SMTP server; spam and rate limits; the early warning; and the engineers' admin."""

from __future__ import annotations

import datetime as dt
import email
import itertools
import socket
import time
from email import policy

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from incidents import services
from incidents.models import Component, Incident, ProblemReport, ReportAlert
from incidents.services import ServiceError
from incidents.services import reports as report_services

pytestmark = pytest.mark.django_db


def component(page, name):
    return Component.objects.get(page=page, name=name)


def answers(page, **overrides):
    data = {
        "component": [str(component(page, "Internet access").pk)],
        "scope": "company",
        "has_power": "yes",
        "has_internet": "no",
        "since": "today 09:40",
        "description": "No website loads & the router's light is red.",
        "contact_name": "Dana de Vries",
        "company": "Bakkerij Jansen",
        "email": "dana@bakkerij.example",
        "phone": "+31 6 1234 5678",
        "website": "",
    }
    data.update(overrides)
    return data


class Sink:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            (envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=policy.default))
        )
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server (aiosmtpd) on a free port, with Django's SMTP backend pointed at it."""
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield sink
    controller.stop()


def wait_for(sink, count, timeout=5.0):
    deadline = time.monotonic() + timeout
    while len(sink.messages) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return sink.messages


def parts(message):
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return text, html


# --- The public flow --------------------------------------------------------------------------


def test_every_public_page_links_to_the_report_flow_and_the_handout(client, it_page):
    body = client.get("/p/it/").content.decode()
    assert 'href="/p/it/report/"' in body
    assert 'href="/p/it/handout/"' in body


def test_step_one_lists_the_components_in_their_groups(
    client, it_page, django_assert_max_num_queries
):
    # snapshot (9 on a cold cache) + the other pages' list (1)
    with django_assert_max_num_queries(10):
        response = client.get("/p/it/report/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "<legend>Network</legend>" in body
    for name in ("Internet access", "VPN", "Email hosting", "Something else"):
        assert name in body
    assert 'action="/p/it/report/known/"' in body and 'method="get"' in body


def test_step_two_says_plainly_that_a_listed_outage_is_known(
    client, it_page, alice, django_assert_max_num_queries
):
    internet = component(it_page, "Internet access")
    services.open_incident(
        it_page,
        actor=alice,
        name="Internet down in Utrecht",
        body="Investigating.",
        components={internet.pk: "major_outage"},
    )
    # snapshot on a cold cache (9, + 2 for the uptime bars) + the other pages' list (1)
    with django_assert_max_num_queries(12):
        response = client.get(f"/p/it/report/known/?component={internet.pk}")
    body = response.content.decode()
    assert "This problem is known and we are working on it." in body
    assert "There is no need to call or email us about it." in body
    assert "Internet down in Utrecht" in body
    # The incident card carries the provider's advice sentence too.
    assert "there is no need to call or email us about it." in body
    assert f"/p/it/report/form/?component={internet.pk}" in body


def test_step_two_for_an_unaffected_component_invites_a_report(client, it_page, alice):
    services.open_incident(
        it_page,
        actor=alice,
        name="Internet down",
        body="Investigating.",
        components={component(it_page, "Internet access").pk: "major_outage"},
    )
    vpn = component(it_page, "VPN")
    body = client.get(f"/p/it/report/known/?component={vpn.pk}").content.decode()
    assert "We know of no problem with VPN right now." in body
    assert "Internet down" not in body


def test_a_recently_resolved_incident_says_to_get_in_touch_if_problems_remain(
    client, it_page, alice
):
    internet = component(it_page, "Internet access")
    incident = services.open_incident(
        it_page,
        actor=alice,
        name="Internet down",
        body="x",
        components={internet.pk: "major_outage"},
    )
    services.resolve_incident(incident, actor=alice, body="Fixed.")
    body = client.get(f"/p/it/report/known/?component={internet.pk}").content.decode()
    assert "Recently solved" in body
    assert "If you still have problems, email or call us" in body


def test_step_two_without_a_pick_asks_for_one(client, it_page):
    response = client.get("/p/it/report/known/")
    assert response.status_code == 400
    assert "Pick at least one service, or “Something else”." in response.content.decode()


def test_the_flow_speaks_dutch(client, it_page):
    client.cookies["statuspage_language"] = "nl"
    body = client.get("/p/it/report/").content.decode()
    assert '<html lang="nl">' in body
    assert "Een probleem melden" in body
    body = client.get("/p/it/report/known/?component=other").content.decode()
    assert "Vertel ons wat er misgaat" in body


def test_the_form_preselects_the_picked_components(client, it_page):
    vpn = component(it_page, "VPN")
    body = client.get(f"/p/it/report/form/?component={vpn.pk}").content.decode()
    assert f'value="{vpn.pk}" id="component-{vpn.pk}" checked' in body
    assert 'name="website"' in body and 'tabindex="-1"' in body  # the honeypot


def test_missing_answers_get_clear_messages_and_keep_what_was_typed(client, it_page):
    response = client.post(
        "/p/it/report/form/",
        answers(it_page, component=[], scope="", email="not-an-address", description=""),
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "Please check your report" in body
    assert "Pick at least one service, or “Something else”." in body
    assert "Say whether it affects one person, several or everyone." in body
    assert "Enter an email address like name@example.com." in body
    assert "Describe the problem in a few sentences." in body
    assert 'aria-invalid="true"' in body
    assert 'value="Bakkerij Jansen"' in body
    assert not ProblemReport.objects.exists()


def test_over_long_text_is_refused_with_its_limit(client, it_page):
    response = client.post("/p/it/report/form/", answers(it_page, description="x" * 5001))
    assert response.status_code == 400
    assert "at most 5000 characters" in response.content.decode()
    assert not ProblemReport.objects.exists()


def test_a_huge_request_body_is_refused_before_parsing(client, it_page):
    response = client.post("/p/it/report/form/", answers(it_page, description="x" * 40_000))
    assert response.status_code == 413
    assert not ProblemReport.objects.exists()


def test_the_honeypot_answers_like_success_and_stores_nothing(client, it_page):
    response = client.post("/p/it/report/form/", answers(it_page, website="http://spam.example"))
    assert response.status_code == 302 and response["Location"] == "/p/it/report/sent/"
    assert not ProblemReport.objects.exists()
    assert mail.outbox == []


def test_reports_are_rate_limited_per_ip_and_per_address(client, it_page, monkeypatch):
    monkeypatch.setattr(report_services, "RATE_PER_IP", (3, 3600))
    monkeypatch.setattr(report_services, "RATE_PER_EMAIL", (2, 3600))
    statuses = [client.post("/p/it/report/form/", answers(it_page)).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]  # the address: 2 an hour
    other = client.post("/p/it/report/form/", answers(it_page, email="eve@example.com"))
    assert other.status_code == 429  # the IP: 3 an hour, this is its 4th
    assert "please wait an hour" in other.content.decode()
    assert ProblemReport.objects.count() == 2
    # Another address from another IP is not affected.
    fresh = client.post(
        "/p/it/report/form/", answers(it_page, email="fred@example.com"), REMOTE_ADDR="10.0.0.9"
    )
    assert fresh.status_code == 302


@pytest.mark.slow
def test_a_report_is_stored_and_mailed_to_support_with_a_receipt_over_smtp(
    client, it_page, alice, smtp_server, django_capture_on_commit_callbacks
):
    internet = component(it_page, "Internet access")
    incident = services.open_incident(
        it_page,
        actor=alice,
        name="Slow internet in Utrecht",
        body="Investigating.",
        components={internet.pk: "degraded_performance"},
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/p/it/report/form/", answers(it_page), REMOTE_ADDR="192.0.2.7")
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200

    report = ProblemReport.objects.get()
    assert list(report.components.all()) == [internet]
    assert (report.scope, report.has_power, report.has_internet) == ("company", "yes", "no")
    assert report.language == "en" and report.email == "dana@bakkerij.example"
    assert report.ip_hash and "192.0.2.7" not in report.ip_hash
    assert report.status_shown["indicator"] == "minor"
    assert report.status_shown["incidents"] == [
        {
            "id": incident.pk,
            "name": "Slow internet in Utrecht",
            "kind": "incident",
            "status": "investigating",
            "impact": "minor",
        }
    ]
    assert report.support_emailed_at is not None

    received = {rcpt[0]: message for rcpt, message in wait_for(smtp_server, 2)}
    assert set(received) == {"support@example.com", "dana@bakkerij.example"}
    support = received["support@example.com"]
    assert "Bakkerij Jansen" in support["Subject"] and "Internet access" in support["Subject"]
    assert support["Reply-To"] == "dana@bakkerij.example"
    # The desk reads it in a ticket system: plain text only, no branded HTML.
    assert support.get_content_type() == "text/plain"
    text = support.get_content()
    for answer in (
        "The whole company",
        "today 09:40",
        "No website loads & the router's light is red.",
        "Dana de Vries",
        "+31 6 1234 5678",
        "What the status page showed",
        "Slow internet in Utrecht (investigating)",
    ):
        assert answer in text
    lines = text.splitlines()
    assert lines[0] == f"Problem report {report.reference} — IT services"
    assert lines[1].startswith("Received: ")
    # One field per line, the values in one column.
    customer = lines[lines.index("Reported by") + 1 : lines.index("Reported by") + 5]
    assert [line.split(":")[0] for line in customer] == ["Name", "Company", "Email", "Phone"]
    assert customer[0].index("Dana") == customer[1].index("Bakkerij")  # one value column
    assert "  No website loads & the router's light is red." in lines
    assert f"/admin/incidents/problemreport/{report.pk}/change/" in lines[-2]
    receipt_text, _ = parts(received["dana@bakkerij.example"])
    assert "We received problem report" in receipt_text
    assert "It is about: Internet access" in receipt_text
    assert "http://127.0.0.1:8000/p/it/" in receipt_text
    # Nothing the sender typed (tests/security covers the relay in full).
    assert "router" not in receipt_text and "Dana" not in receipt_text


def test_the_desk_mail_of_a_dutch_page_is_dutch_with_its_labels_aligned(
    client, phone_page, django_capture_on_commit_callbacks
):
    from django.core import mail

    data = {
        "component": [str(component(phone_page, "Inbound calls").pk)],
        "scope": "company",
        "has_power": "yes",
        "has_internet": "no",
        "since": "vanochtend",
        "description": "Niemand belt ons.",
        "contact_name": "Dana de Vries",
        "company": "Bakkerij Jansen",
        "email": "dana@bakkerij.example",
        "phone": "+31 6 1234 5678",
        "website": "",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/p/telephony/report/form/", data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302, response.content.decode()[:2000]
    desk = next(m for m in mail.outbox if m.to == ["support@example.com"])
    assert desk.alternatives == []  # plain text, for the ticket system
    lines = desk.body.splitlines()
    assert lines[0].startswith("Probleemmelding R-") and lines[0].endswith("— Telephony")
    problem = lines[lines.index("Het probleem") + 1 : lines.index("Het probleem") + 6]
    assert [line.split(":")[0] for line in problem] == [
        "Diensten",
        "Wie heeft er last van",
        "Stroom",
        "Internet",
        "Sinds wanneer",
    ]
    assert len({len(line) - len(line.split(":", 1)[1].lstrip()) for line in problem}) == 1


@pytest.mark.slow
def test_the_receipt_is_in_the_reporters_language(
    client, it_page, smtp_server, django_capture_on_commit_callbacks
):
    client.cookies["statuspage_language"] = "nl"
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/p/it/report/form/", answers(it_page))
    received = {rcpt[0]: message for rcpt, message in wait_for(smtp_server, 2)}
    receipt_text, _ = parts(received["dana@bakkerij.example"])
    assert "We hebben probleemmelding" in receipt_text
    assert "Het gaat over: Internettoegang" in receipt_text or "Het gaat over:" in receipt_text


def test_the_service_refuses_components_of_another_page(it_page, phone_page):
    with pytest.raises(ServiceError) as error:
        report_services.submit_report(
            it_page,
            components=[Component.objects.filter(page=phone_page).first().pk],
            scope="one",
            has_power="yes",
            has_internet="yes",
            since="now",
            description="x",
            contact_name="A",
            company="B",
            email="a@example.com",
            phone="1",
        )
    assert error.value.field == "components"


# --- Early warning ----------------------------------------------------------------------------


_sender = itertools.count(1)


def submit(page, company, *, at, components=None, email_address=None):
    with time_machine.travel(at, tick=False):
        return report_services.submit_report(
            page,
            components=components or [component(page, "Internet access").pk],
            scope="company",
            has_power="yes",
            has_internet="no",
            since="now",
            description="Nothing works.",
            contact_name="Someone",
            company=company,
            email=email_address or f"it@{company.lower().replace(' ', '')}.example",
            phone="123",
            ip=f"10.0.{next(_sender) % 250}.1",
        )


def test_crossing_the_threshold_alerts_once_per_burst(
    it_page, smtp_server, django_capture_on_commit_callbacks
):
    it_page.oncall_email = "oncall@example.com"
    it_page.save()
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    companies = ["Acme", "Acme", "Bakker", "Acme", "Delta", "Echo", "Foxtrot"]
    for minute, company in enumerate(companies):  # each report its own request and commit
        with django_capture_on_commit_callbacks(execute=True):
            submit(it_page, company, at=start + dt.timedelta(minutes=minute))
    # 5 reports by minute 4, from Acme, Bakker and Delta: 3 companies. Alerted once, extended.
    alert = ReportAlert.objects.get()
    assert alert.created_at == start + dt.timedelta(minutes=4)
    assert list(alert.components.all()) == [component(it_page, "Internet access")]
    assert (alert.report_count, alert.company_count) == (7, 5)
    alerts = [m for rcpt, m in wait_for(smtp_server, 14) if rcpt == ["oncall@example.com"]]
    assert len(alerts) == 1
    assert "5 reports about Internet access" in alerts[0]["Subject"]
    text, _ = parts(alerts[0])
    assert "5 problem reports from 3 companies about Internet access" in text

    # A new burst after a quiet window alerts again.
    later = start + dt.timedelta(hours=2)
    for minute, company in enumerate(["G", "H", "I", "J", "K"]):
        submit(it_page, company, at=later + dt.timedelta(minutes=minute))
    assert ReportAlert.objects.count() == 2


def test_many_reports_from_one_company_do_not_alert(it_page):
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    for minute in range(8):
        submit(
            it_page,
            "Acme",
            at=start + dt.timedelta(minutes=minute),
            email_address=f"p{minute}@acme.example",
        )
    assert not ReportAlert.objects.exists()


def test_reports_spread_wider_than_the_window_do_not_alert(it_page):
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    for n, company in enumerate(["A", "B", "C", "D", "E"]):
        submit(it_page, company, at=start + dt.timedelta(minutes=3 * n))  # 12 minutes > 10
    assert not ReportAlert.objects.exists()


def test_the_threshold_is_per_page(it_page):
    it_page.report_alert_count, it_page.report_alert_min_companies = 2, 2
    it_page.save()
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    submit(it_page, "A", at=start)
    submit(it_page, "B", at=start + dt.timedelta(minutes=1))
    assert ReportAlert.objects.count() == 1


# --- Admin ------------------------------------------------------------------------------------


@pytest.fixture
def reports(it_page, phone_page):
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    made = [submit(it_page, c, at=start + dt.timedelta(minutes=i)) for i, c in enumerate("ABC")]
    made.append(
        submit(
            phone_page,
            "Z",
            at=start,
            components=[component(phone_page, "Inbound calls").pk],
        )
    )
    return made


def test_engineers_see_only_the_reports_of_their_pages(client, alice, reports):
    client.force_login(alice)
    response = client.get(reverse("admin:incidents_problemreport_changelist"))
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count('name="_selected_action"') == 3  # the telephony report is not there
    assert "Inbound calls" not in body  # nor the other page's components, in the filter
    other = reports[-1]
    response = client.get(reverse("admin:incidents_problemreport_change", args=[other.pk]))
    assert response.status_code in (302, 403, 404)


def test_reports_can_be_filtered_per_component(client, admin_user_, reports, it_page):
    client.force_login(admin_user_)
    vpn = component(it_page, "VPN")
    url = reverse("admin:incidents_problemreport_changelist")
    body = client.get(f"{url}?components__id__exact={vpn.pk}").content.decode()
    assert body.count('name="_selected_action"') == 0
    internet = component(it_page, "Internet access")
    body = client.get(f"{url}?components__id__exact={internet.pk}").content.decode()
    assert body.count('name="_selected_action"') == 3


def test_open_an_incident_from_the_selected_reports_in_one_step(client, alice, reports, it_page):
    client.force_login(alice)
    url = reverse("admin:incidents_problemreport_changelist")
    selected = [str(r.pk) for r in reports[:3]]
    confirm = client.post(url, {"action": "open_incident_action", "_selected_action": selected})
    assert confirm.status_code == 200 and "Open the incident" in confirm.content.decode()
    response = client.post(
        url,
        {
            "action": "open_incident_action",
            "_selected_action": selected,
            "apply": "1",
            "name": "",
            "body": "",
            "component_status": "major_outage",
        },
    )
    incident = Incident.objects.get()
    assert response.status_code == 302
    assert incident.name == "Disruption of Internet access"
    assert incident.updates.get().author == alice
    assert component(it_page, "Internet access").status == "major_outage"
    assert set(ProblemReport.objects.filter(incident=incident)) == set(reports[:3])


def test_reports_of_two_pages_cannot_make_one_incident(admin_user_, reports):
    with pytest.raises(ServiceError):
        report_services.open_incident_from_reports(reports, actor=admin_user_)


def test_link_a_report_to_an_incident_in_its_change_form(client, alice, reports, it_page):
    incident = services.open_incident(it_page, actor=alice, name="Known", body="x")
    client.force_login(alice)
    report = reports[0]
    form = client.get(reverse("admin:incidents_problemreport_change", args=[report.pk]))
    assert form.status_code == 200
    assert "Nothing works." in form.content.decode()
    assert f'<option value="{incident.pk}">Known — open: Investigating, ' in form.content.decode()
    response = client.post(
        reverse("admin:incidents_problemreport_change", args=[report.pk]),
        {"incident": incident.pk},
    )
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.incident == incident


def test_the_linked_incident_choice_offers_open_incidents_first(client, alice, reports, it_page):
    old = services.open_incident(it_page, actor=alice, name="Old outage", body="x")
    services.resolve_incident(old, actor=alice)
    services.open_incident(it_page, actor=alice, name="Still open", body="x")
    newest = services.open_incident(it_page, actor=alice, name="Newest resolved", body="x")
    services.resolve_incident(newest, actor=alice)
    client.force_login(alice)
    html = client.get(
        reverse("admin:incidents_problemreport_change", args=[reports[0].pk])
    ).content.decode()
    select = html[html.index('name="incident"') : html.index("</select>")]
    order = [name for name in ("Still open", "Newest resolved", "Old outage") if name in select]
    assert order == ["Still open", "Newest resolved", "Old outage"]
    assert sorted(order, key=select.index) == order
    assert "Still open — open: Investigating" in select
    assert "Old outage — resolved: Resolved" in select


def test_the_report_shows_in_words_what_the_page_showed(client, alice, it_page):
    internet = component(it_page, "Internet access")
    services.open_incident(
        it_page,
        actor=alice,
        name="Fibre cut",
        body="x",
        components={internet.pk: "major_outage"},
    )
    report = submit(it_page, "A", at=timezone.now(), components=[internet.pk])
    client.force_login(alice)
    html = client.get(
        reverse("admin:incidents_problemreport_change", args=[report.pk])
    ).content.decode()
    assert "<strong>In short</strong>: Major system outage" in html
    assert "Incident: Fibre cut (investigating)" in html
    assert "Internet access: Major outage" in html
    assert '"indicator"' not in html and "{&quot;" not in html  # no JSON


def test_a_report_cannot_be_linked_to_another_pages_incident(reports, phone_page, bob):
    foreign = services.open_incident(phone_page, actor=bob, name="Calls down", body="x")
    with pytest.raises(ServiceError):
        report_services.link_report_to_incident(reports[0], foreign, actor=bob)


def test_the_admin_index_shows_unacknowledged_alerts_of_my_pages_only(client, alice, bob, it_page):
    it_page.report_alert_count, it_page.report_alert_min_companies = 2, 2
    it_page.save()
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    submit(it_page, "A", at=start)
    submit(it_page, "B", at=start + dt.timedelta(minutes=1))
    client.force_login(alice)
    body = client.get(reverse("admin:index")).content.decode()
    assert "Early warning" in body and "Internet access: 2 reports from 2 companies" in body
    assert "/p/it/handout.pdf" in body
    client.force_login(bob)
    assert "Early warning" not in client.get(reverse("admin:index")).content.decode()

    client.force_login(alice)
    alert = ReportAlert.objects.get()
    client.post(
        reverse("admin:incidents_reportalert_changelist"),
        {"action": "acknowledge", "_selected_action": [alert.pk]},
    )
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None
    assert "Early warning" not in client.get(reverse("admin:index")).content.decode()


@pytest.mark.slow
def test_the_rate_limit_counts_in_redis_shared_by_every_web_process(
    client, it_page, settings, monkeypatch
):
    import os
    import uuid

    import redis

    url = os.environ.get("REDIS_URL_FOR_TESTS", "redis://127.0.0.1:6379/7")
    prefix = f"test-playbook-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
        }
    }
    monkeypatch.setattr(report_services, "RATE_PER_EMAIL", (2, 3600))
    server = redis.Redis.from_url(url)
    try:
        statuses = [
            client.post(
                "/p/it/report/form/", answers(it_page), REMOTE_ADDR=f"10.1.0.{n}"
            ).status_code
            for n in range(3)
        ]
        assert statuses == [302, 302, 429]
        counters = [k for k in server.scan_iter(f"{prefix}:*report-rate:email:*")]
        assert len(counters) == 1 and int(server.get(counters[0])) == 3
        assert 0 < server.ttl(counters[0]) <= 3600
    finally:
        for key in server.scan_iter(f"{prefix}:*"):
            server.delete(key)
