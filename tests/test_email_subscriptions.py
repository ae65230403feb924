"""Email subscriptions through the public pages and the in-process outbox (embedded mode)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from email import message_from_bytes, policy

import pytest
import time_machine
from django.core import mail
from django.test import Client

from incidents import services
from incidents.events import domain_event
from incidents.models import Component
from notifications.models import Delivery, Subscriber

from .email_helpers import html_of, start_smtp, text_of


def parsed(message):
    return message_from_bytes(message.message().as_bytes(), policy=policy.default)


def component(page, name):
    return Component.objects.get(page=page, name=name)


def subscriber(page, email, *, components=(), language="en", confirmed=True):
    from django.utils import timezone

    s = Subscriber.objects.create(
        page=page,
        email=email,
        language=language,
        confirmed_at=timezone.now() if confirmed else None,
    )
    s.components.set(components)
    return s


def open_incident(page, capture, *, components, notify=True, name="Internet down"):
    with capture(execute=True):
        return services.open_incident(
            page,
            actor=None,
            name=name,
            body="We are **investigating** reports of failures.",
            components=components,
            deliver_notifications=notify,
        )


def notices():
    """Notification mails in the local outbox (confirmation mails left out)."""
    return [parsed(m) for m in mail.outbox if "In-Reply-To" in parsed(m)]


def confirm_link(message) -> str:
    return re.search(r"https?://\S+/subscribe/confirm/\S+/", message.body).group(0)


def test_status_page_links_to_the_subscribe_page(it_page, client):
    response = client.get("/p/it/")
    assert 'href="/p/it/subscribe/"' in response.content.decode()
    form = client.get("/p/it/subscribe/")
    assert form.status_code == 200
    assert "Email hosting" in form.content.decode()  # components to choose from


def test_double_opt_in_sends_nothing_but_the_confirmation_until_confirmed(
    it_page, client, django_capture_on_commit_callbacks
):
    internet = component(it_page, "Internet access")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/p/it/subscribe/", {"email": "Dana@Example.com", "language": "en"})
    assert response.status_code == 200
    assert "Check your inbox" in response.content.decode()
    assert [m.to for m in mail.outbox] == [["dana@example.com"]]
    assert "Confirm your subscription" in mail.outbox[0].subject
    link = confirm_link(mail.outbox[0])

    open_incident(
        it_page, django_capture_on_commit_callbacks, components={internet.pk: "major_outage"}
    )
    assert notices() == []  # not confirmed yet: nothing sent
    assert not Delivery.objects.exists()

    path = link.split("127.0.0.1:8000", 1)[1]
    assert client.get(path).status_code == 200  # a page with a button: scanners confirm nothing
    assert Subscriber.objects.get().confirmed_at is None
    response = client.post(path)
    assert response.status_code == 302
    assert Subscriber.objects.get().confirmed_at is not None

    open_incident(
        it_page,
        django_capture_on_commit_callbacks,
        components={internet.pk: "partial_outage"},
        name="VPN slow",
    )
    assert [m["To"] for m in notices()] == ["dana@example.com"]


def test_confirmation_link_expires(it_page, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/p/it/subscribe/", {"email": "late@example.com", "language": "en"})
    path = confirm_link(mail.outbox[0]).split("127.0.0.1:8000", 1)[1]
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=4)):
        response = client.post(path)
    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert Subscriber.objects.get().confirmed_at is None
    signature_end = path[-2]
    tampered = client.post(path[:-2] + ("A" if signature_end != "A" else "B") + "/")
    assert tampered.status_code == 400


def test_the_form_never_reveals_whether_an_address_is_subscribed(
    it_page, client, django_capture_on_commit_callbacks
):
    subscriber(it_page, "known@example.com")
    answers = []
    for email in ("known@example.com", "unknown@example.com"):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/p/it/subscribe/", {"email": email, "language": "en"})
        # The CSP nonce differs per response, whatever the address.
        body = re.sub(r'nonce="[^"]*"', "", response.content.decode().replace(email, "X"))
        answers.append((response.status_code, body))
    assert answers[0] == answers[1]
    # The owner of the known mailbox learns it by mail, with the manage link; preferences kept.
    subjects = {m.to[0]: m.subject for m in mail.outbox}
    assert subjects["known@example.com"].startswith("Your subscription")
    assert subjects["unknown@example.com"].startswith("Confirm your subscription")
    assert "/subscription/" in mail.outbox[0].body


def test_subscribing_is_rate_limited_per_address_and_per_ip(
    it_page, django_capture_on_commit_callbacks
):
    client = Client(REMOTE_ADDR="10.0.0.1")
    with django_capture_on_commit_callbacks(execute=True):
        codes = [
            client.post(
                "/p/it/subscribe/", {"email": "a@example.com", "language": "en"}
            ).status_code
            for _ in range(4)
        ]
    assert codes == [200, 200, 200, 429]
    assert len(mail.outbox) == 3
    other = Client(REMOTE_ADDR="10.0.0.2")
    codes = [
        other.post("/p/it/subscribe/", {"email": f"u{i}@example.com", "language": "en"}).status_code
        for i in range(11)
    ]
    assert codes[:10] == [200] * 10 and codes[10] == 429
    assert (
        "Too many attempts"
        in other.post("/p/it/subscribe/", {"email": "z@example.com"}).content.decode()
    )


def test_behind_a_proxy_each_visitor_has_its_own_rate_limit(it_page, settings):
    # Every request comes from the proxy (REMOTE_ADDR): without the forwarded address, ten
    # visitors in an hour used up everyone's limit.
    settings.NOTIFICATIONS_SUBSCRIBE_RATE_IP = 1
    settings.TRUSTED_PROXY_NETWORKS = [ipaddress.ip_network("10.0.0.9")]
    proxy = {"REMOTE_ADDR": "10.0.0.9"}

    def subscribe(visitor, n, spoofed="1.2.3.4"):
        forwarded = f"{spoofed}, {visitor}"  # the proxy appends the address it saw
        return Client(**proxy, HTTP_X_FORWARDED_FOR=forwarded).post(
            "/p/it/subscribe/", {"email": f"u{n}@example.com", "language": "en"}
        )

    assert subscribe("192.0.2.1", 1).status_code == 200
    assert subscribe("192.0.2.2", 2).status_code == 200  # another visitor, same proxy
    assert subscribe("192.0.2.1", 3, spoofed="5.6.7.8").status_code == 429
    settings.TRUSTED_PROXY_NETWORKS = []  # then the header is not trusted
    assert subscribe("192.0.2.3", 4).status_code == 200
    assert subscribe("192.0.2.4", 5).status_code == 429


def test_bad_addresses_get_a_clear_message(it_page, client):
    response = client.post("/p/it/subscribe/", {"email": "not-an-address", "language": "en"})
    assert response.status_code == 400
    assert "is not a valid email address" in response.content.decode()
    empty = client.post("/p/it/subscribe/", {"email": "", "language": "en"})
    assert "Enter your email address." in empty.content.decode()
    assert not Subscriber.objects.exists()


def test_component_filtering_sends_only_to_followers_of_an_affected_component(
    it_page, django_capture_on_commit_callbacks
):
    internet, email_hosting = (
        component(it_page, "Internet access"),
        component(it_page, "Email hosting"),
    )
    subscriber(it_page, "all@example.com")
    subscriber(it_page, "net@example.com", components=[internet])
    subscriber(it_page, "mail@example.com", components=[email_hosting])
    subscriber(it_page, "pending@example.com", confirmed=False)
    gone = subscriber(it_page, "gone@example.com")
    services_unsubscribe(gone)

    open_incident(
        it_page, django_capture_on_commit_callbacks, components={email_hosting.pk: "major_outage"}
    )
    assert sorted(m["To"] for m in notices()) == ["all@example.com", "mail@example.com"]
    net_mail = [m for m in notices() if m["To"] == "mail@example.com"][0]
    assert "You follow: Email hosting" in text_of(net_mail)


def services_unsubscribe(s):
    from notifications import services as subscriptions

    subscriptions.unsubscribe(s)


def test_update_without_notifying_sends_no_mail(it_page, django_capture_on_commit_callbacks):
    subscriber(it_page, "all@example.com")
    open_incident(
        it_page,
        django_capture_on_commit_callbacks,
        components={component(it_page, "VPN").pk: "degraded_performance"},
        notify=False,
    )
    assert notices() == []
    assert not Delivery.objects.exists()


def test_notice_has_branding_update_components_links_and_one_click_unsubscribe_headers(
    it_page, django_capture_on_commit_callbacks
):
    s = subscriber(it_page, "all@example.com")
    incident = open_incident(
        it_page,
        django_capture_on_commit_callbacks,
        components={component(it_page, "VPN").pk: "major_outage"},
    )
    [message] = notices()
    assert message["Subject"] == "[IT services] New incident: Internet down"
    # The email package folds this long header onto its own line; unfolded it is the same value.
    unsubscribe = message["List-Unsubscribe"].strip()
    assert unsubscribe == f"<http://127.0.0.1:8000/p/it/unsubscribe/{s.token}/>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html, text = html_of(message), text_of(message)
    assert "<strong>investigating</strong>" in html  # Markdown rendered
    assert it_page.accent_colour in html
    assert "VPN" in html and "Affected components:\r\n- VPN: Major outage" in text
    assert f"http://127.0.0.1:8000/p/it/incidents/{incident.pk}/" in html
    assert f"/p/it/subscription/{s.token}/" in text
    assert f"/p/it/unsubscribe/{s.token}/" in html


def test_all_mails_of_one_incident_share_a_thread_root(it_page, django_capture_on_commit_callbacks):
    subscriber(it_page, "all@example.com")
    vpn = component(it_page, "VPN")
    incident = open_incident(
        it_page, django_capture_on_commit_callbacks, components={vpn.pk: "major_outage"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.post_update(incident, actor=None, status="identified", body="Found it.")
    with django_capture_on_commit_callbacks(execute=True):
        services.resolve_incident(incident, actor=None, body="Fixed.")
    first, second, third = notices()
    root = f"<incident-{incident.pk}.it@127.0.0.1>"
    for message in (first, second, third):
        assert message["In-Reply-To"] == root
        assert message["References"] == root
    assert len({m["Message-ID"] for m in (first, second, third)}) == 3


def test_mail_is_in_the_subscribers_language(it_page, django_capture_on_commit_callbacks):
    subscriber(it_page, "en@example.com", language="en")
    subscriber(it_page, "nl@example.com", language="nl")
    open_incident(
        it_page,
        django_capture_on_commit_callbacks,
        components={component(it_page, "VPN").pk: "major_outage"},
    )
    by_to = {m["To"]: m for m in notices()}
    assert by_to["nl@example.com"]["Content-Language"] == "nl"
    assert '<html lang="nl">' in html_of(by_to["nl@example.com"])
    assert '<html lang="en">' in html_of(by_to["en@example.com"])
    assert "Affected components:\r\n- VPN: Major outage" in text_of(by_to["en@example.com"])
    assert "Getroffen onderdelen:\r\n- VPN: Grote storing" in text_of(by_to["nl@example.com"])
    assert "Storing" in html_of(by_to["nl@example.com"])


def test_the_same_event_dispatched_twice_creates_no_second_delivery(
    it_page, django_capture_on_commit_callbacks
):
    subscriber(it_page, "a@example.com")
    subscriber(it_page, "b@example.com")
    seen = []
    domain_event.connect(
        lambda sender, event, **kw: seen.append(event), dispatch_uid="test-seen", weak=False
    )
    try:
        open_incident(
            it_page,
            django_capture_on_commit_callbacks,
            components={component(it_page, "VPN").pk: "major_outage"},
        )
    finally:
        domain_event.disconnect(dispatch_uid="test-seen")
    assert Delivery.objects.count() == 2
    from notifications.receivers import on_domain_event

    on_domain_event(sender=None, event=seen[0])
    on_domain_event(sender=None, event=seen[0])
    assert Delivery.objects.count() == 2
    assert sorted(m["To"] for m in notices()) == ["a@example.com", "b@example.com"]


def test_unsubscribe_is_a_single_post_without_login_and_stops_mail(
    it_page, client, django_capture_on_commit_callbacks
):
    s = subscriber(it_page, "all@example.com")
    page = client.get(f"/p/it/unsubscribe/{s.token}/")
    assert page.status_code == 200
    s.refresh_from_db()
    assert s.unsubscribed_at is None  # a GET changes nothing
    response = client.post(f"/p/it/unsubscribe/{s.token}/")
    assert response.status_code == 200
    s.refresh_from_db()
    assert s.unsubscribed_at is not None
    open_incident(
        it_page,
        django_capture_on_commit_callbacks,
        components={component(it_page, "VPN").pk: "major_outage"},
    )
    assert notices() == []


def test_one_click_unsubscribe_from_the_list_unsubscribe_header(
    it_page, django_capture_on_commit_callbacks
):
    s = subscriber(it_page, "all@example.com")
    open_incident(
        it_page,
        django_capture_on_commit_callbacks,
        components={component(it_page, "VPN").pk: "major_outage"},
    )
    [message] = notices()
    url = message["List-Unsubscribe"].strip().strip("<>").split("127.0.0.1:8000", 1)[1]
    # What a mail client sends (RFC 8058): a POST with this body, no cookies, no CSRF token.
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    s.refresh_from_db()
    assert s.unsubscribed_at is not None
    assert client.post("/p/it/unsubscribe/not-a-token/").status_code == 404


def test_preferences_page_changes_components_and_language(it_page, client):
    s = subscriber(it_page, "all@example.com")
    vpn = component(it_page, "VPN")
    page = client.get(f"/p/it/subscription/{s.token}/")
    assert page.status_code == 200 and "all@example.com" in page.content.decode()
    response = client.post(
        f"/p/it/subscription/{s.token}/", {"components": [str(vpn.pk)], "language": "nl"}
    )
    assert response.status_code == 302
    s.refresh_from_db()
    assert s.language == "nl"
    assert list(s.components.all()) == [vpn]
    other_page_component = client.post(
        f"/p/it/subscription/{s.token}/", {"components": ["999999"], "language": "en"}
    )
    assert other_page_component.status_code == 400
    assert client.get("/p/it/subscription/wrong-token/").status_code == 404


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelining", "one-by-one"])
def test_permanent_failures_are_recorded_and_the_address_flagged_after_repeated_bounces(
    it_page, settings, django_capture_on_commit_callbacks, pipelining
):
    controller, sink = start_smtp(pipelining=pipelining)
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
        settings.EMAIL_USE_TLS = False
        sink.reject["bounce@example.com"] = "550 5.1.1 No such user"
        subscriber(it_page, "good@example.com")
        bad = subscriber(it_page, "bounce@example.com")
        vpn = component(it_page, "VPN")
        for n in range(settings.NOTIFICATIONS_BOUNCE_LIMIT + 1):
            open_incident(
                it_page,
                django_capture_on_commit_callbacks,
                components={vpn.pk: "major_outage"},
                name=f"Outage {n}",
            )
        failed = Delivery.objects.filter(subscriber=bad)
        assert failed.count() == settings.NOTIFICATIONS_BOUNCE_LIMIT  # none after flagging
        assert set(failed.values_list("state", flat=True)) == {"failed"}
        assert "550" in failed.first().last_error
        bad.refresh_from_db()
        assert (
            bad.flagged_at is not None and bad.bounce_count == settings.NOTIFICATIONS_BOUNCE_LIMIT
        )
        assert (
            sink.recipients().count("good@example.com") == settings.NOTIFICATIONS_BOUNCE_LIMIT + 1
        )
        assert "bounce@example.com" not in sink.recipients()
    finally:
        controller.stop()


def test_sending_to_many_subscribers_costs_one_query_per_message_plus_a_constant(
    it_page, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    Subscriber.objects.bulk_create(
        Subscriber(
            page=it_page, email=f"s{i}@example.com", confirmed_at=timezone.now(), token=f"t{i}"
        )
        for i in range(200)
    )
    vpn = component(it_page, "VPN")
    # open_incident itself, the notification, who may see it (1), 2 per fan-out batch, per
    # send batch: claim, load, who may see it (1), content (4), variants, then one UPDATE per
    # message marked sent; the live push asks which customers use the components (1).
    with django_assert_max_num_queries(200 + 63):
        open_incident(
            it_page, django_capture_on_commit_callbacks, components={vpn.pk: "major_outage"}
        )
    assert Delivery.objects.filter(state="sent").count() == 200
    assert len(notices()) == 200


@pytest.mark.parametrize("path", ["/p/it/subscribe/", "/subscribe/"])
def test_subscribe_page_works_by_slug_and_on_the_default_host(
    it_page, client, path, django_assert_max_num_queries
):
    client.get(path)  # warms the snapshot and page-list caches
    # Finding the page only (by slug 1; by host 2: custom host, then the default page);
    # the snapshot comes from the cache.
    with django_assert_max_num_queries(2):
        response = client.get(path)
    assert response.status_code == 200
    assert 'name="email"' in response.content.decode()


def test_scheduled_maintenance_is_announced_to_followers_of_its_components(
    it_page, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    vpn, email_hosting = component(it_page, "VPN"), component(it_page, "Email hosting")
    subscriber(it_page, "vpn@example.com", components=[vpn])
    subscriber(it_page, "mail@example.com", components=[email_hosting])
    starts = timezone.now() + dt.timedelta(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        services.schedule_maintenance(
            it_page,
            actor=None,
            name="VPN concentrator upgrade",
            body="Short interruptions of the VPN.",
            scheduled_for=starts,
            scheduled_until=starts + dt.timedelta(hours=2),
            components=[vpn.pk],
        )
    [message] = notices()
    assert message["To"] == "vpn@example.com"
    assert "Maintenance" in text_of(message) and "VPN concentrator upgrade" in text_of(message)


def test_a_maintenance_reminder_is_mailed_once_with_its_window(
    it_page, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    from incidents.events import DomainEvent
    from incidents.services.incidents import incident_data
    from notifications.receivers import on_domain_event

    vpn = component(it_page, "VPN")
    subscriber(it_page, "all@example.com")
    starts = timezone.now() + dt.timedelta(hours=20)
    with django_capture_on_commit_callbacks(execute=True):
        maintenance = services.schedule_maintenance(
            it_page,
            actor=None,
            name="VPN upgrade",
            body="Short interruptions.",
            scheduled_for=starts,
            scheduled_until=starts + dt.timedelta(hours=2),
            components=[vpn.pk],
            deliver_notifications=False,
        )
    assert notices() == []
    reminder = DomainEvent(
        page_id=it_page.pk,
        page_slug=it_page.slug,
        version=it_page.version + 1,
        type="maintenance.reminder",
        data={
            **incident_data(maintenance),
            "reminder_hours": 24,
            "scheduled_for": starts.isoformat(),
            "scheduled_until": (starts + dt.timedelta(hours=2)).isoformat(),
        },
    )
    on_domain_event(sender=None, event=reminder)
    on_domain_event(sender=None, event=reminder)  # sent again: still one mail
    [message] = notices()
    assert "VPN upgrade" in text_of(message)
    assert "Scheduled:" in text_of(message)
