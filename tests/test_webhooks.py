"""Webhook subscribers: Statuspage's payloads, Standard Webhooks signatures checked by a
consumer on localhost, delivery through the outbox with its faults (a 500 then a 200, a
timeout, a redirect to a private address, a disabled endpoint), and the subscriber API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from incidents import services
from incidents.models import Component
from notifications import tasks
from notifications.models import Delivery, Notification, Subscriber
from notifications.services import add_endpoint
from notifications.webhooks import sign

from .api_helpers import make_api
from .webhook_helpers import Consumer, verify

pytestmark = pytest.mark.django_db

META_FIELDS = {"unsubscribe", "documentation", "generated_at"}
PAGE_FIELDS = {"id", "status_indicator", "status_description"}


@pytest.fixture
def consumer(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # only the consumer, not 127.0.0.2
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 0
    consumer = Consumer().start()
    yield consumer
    consumer.stop()


def webhook(page, url, **options) -> tuple[Subscriber, str]:
    return add_endpoint(page, kind="webhook", endpoint=url, skip_confirmation=True, **options)


def open_incident(page, alice, on_commit, **kwargs):
    vpn = Component.objects.get(name="VPN")
    with on_commit(execute=True):
        return services.open_incident(
            page,
            actor=alice,
            name="VPN down",
            body="Investigating.",
            components={vpn.pk: "major_outage"},
            **kwargs,
        )


def deliveries(subscriber) -> list[Delivery]:
    return list(Delivery.objects.filter(subscriber=subscriber).order_by("pk"))


def test_the_signature_matches_the_standard_webhooks_test_vector():
    # The spec's published example (standard-webhooks, "Signature scheme").
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    timestamp = dt.datetime.fromtimestamp(1614265330, dt.UTC)
    signature = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp, b'{"test": 2432232314}')
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_an_incident_reaches_a_consumer_in_statuspages_shape_and_signed(
    it_page, alice, consumer, django_capture_on_commit_callbacks
):
    subscriber, secret = webhook(it_page, consumer.url("/ok"))
    assert secret.startswith("whsec_")
    incident = open_incident(it_page, alice, django_capture_on_commit_callbacks)
    (request,) = [r for r in consumer.at("/ok") if "incident" in r.json]
    assert verify(secret, request.headers, request.body)
    body = request.json
    assert set(body) == {"meta", "page", "incident"}
    assert set(body["meta"]) == META_FIELDS
    assert body["meta"]["unsubscribe"].endswith(f"/unsubscribe/{subscriber.token}/")
    assert body["page"] == {
        "id": "it",
        "status_indicator": "critical",
        "status_description": "Major System Outage",
    }
    assert body["incident"]["id"] == incident.public_id
    assert body["incident"]["name"] == "VPN down"
    assert body["incident"]["incident_updates"][0]["body"] == "Investigating."

    with django_capture_on_commit_callbacks(execute=True):
        services.post_update(incident, actor=alice, status="identified", body="Found it.")
    last = [r for r in consumer.at("/ok") if "incident" in r.json][-1].json
    updates = last["incident"]["incident_updates"]
    assert [u["status"] for u in updates] == ["identified", "investigating"]  # newest first


def test_a_component_change_sends_component_and_component_update(
    it_page, alice, consumer, django_capture_on_commit_callbacks
):
    _subscriber, secret = webhook(it_page, consumer.url("/ok"))
    vpn = Component.objects.get(name="VPN")
    with django_capture_on_commit_callbacks(execute=True):
        services.set_component_status(vpn, "partial_outage", actor=alice)
    (request,) = consumer.at("/ok")
    assert verify(secret, request.headers, request.body)
    body = request.json
    assert set(body) == {"meta", "page", "component_update", "component"}
    assert set(body["component_update"]) == {
        "created_at", "new_status", "old_status", "id", "component_id"
    }  # fmt: skip
    assert body["component_update"]["old_status"] == "operational"
    assert body["component_update"]["new_status"] == "partial_outage"
    assert body["component"] == {
        "created_at": body["component"]["created_at"],
        "id": vpn.public_id,
        "name": "VPN",
        "status": "partial_outage",
    }
    # A rename of the same component is not a second status notice.
    with django_capture_on_commit_callbacks(execute=True):
        services.update_component(vpn, actor=alice, name="VPN gateway")
    assert len(consumer.at("/ok")) == 1


def test_email_subscribers_get_no_component_notices(
    it_page, alice, consumer, django_capture_on_commit_callbacks
):
    email = Subscriber.objects.create(
        page=it_page, email="e@example.com", confirmed_at=dt.datetime.now(dt.UTC)
    )
    webhook(it_page, consumer.url("/ok"))
    with django_capture_on_commit_callbacks(execute=True):
        services.set_component_status(
            Component.objects.get(name="VPN"), "major_outage", actor=alice
        )
    assert not Delivery.objects.filter(subscriber=email).exists()


def test_a_500_then_a_200_is_one_delivery_with_the_same_webhook_id(
    it_page, alice, consumer, django_capture_on_commit_callbacks
):
    subscriber, secret = webhook(it_page, consumer.url("/flaky"))
    open_incident(it_page, alice, django_capture_on_commit_callbacks)
    (row,) = deliveries(subscriber)
    assert row.state == "pending" and row.last_error == "HTTP 500"
    tasks.send_deliveries(row.notification_id)  # the retry (backoff 0 here)
    row.refresh_from_db()
    assert row.state == "sent" and row.attempts == 2
    first, second = consumer.at("/flaky")
    assert (first.status, second.status) == (500, 200)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert verify(secret, second.headers, second.body)


def test_a_consumer_that_does_not_answer_in_time_is_retried_later(
    it_page, alice, consumer, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    subscriber, _secret = webhook(it_page, consumer.url("/slow"))
    open_incident(it_page, alice, django_capture_on_commit_callbacks)
    (row,) = deliveries(subscriber)
    assert row.state == "pending"
    assert row.last_error == "no answer within 0.5 s"


def test_a_redirect_to_a_private_address_is_refused(
    it_page, alice, consumer, django_capture_on_commit_callbacks
):
    target = "http://127.0.0.2:9/steal"
    subscriber, _secret = webhook(it_page, consumer.url(f"/redirect?to={target}"))
    open_incident(it_page, alice, django_capture_on_commit_callbacks)
    (row,) = deliveries(subscriber)
    assert row.state == "failed" and row.attempts == 1  # permanent: no retry
    assert row.last_error.startswith("refused: 127.0.0.2 resolves to 127.0.0.2")
    assert len(consumer.at("/redirect")) == 1


def test_private_addresses_are_refused_when_subscribing(it_page, settings):
    from incidents.services import ServiceError

    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    for url in ("http://127.0.0.1/x", "http://169.254.169.254/latest", "http://[::1]/", "ftp://x"):
        with pytest.raises(ServiceError) as error:
            webhook(it_page, url)
        assert error.value.field == "endpoint"
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    subscriber, _secret = webhook(it_page, "http://127.0.0.1/x")
    assert subscriber.is_active


def test_repeated_failures_disable_an_endpoint_and_tell_its_owner(
    it_page, alice, consumer, settings, django_capture_on_commit_callbacks
):
    settings.NOTIFICATIONS_BOUNCE_LIMIT = 2
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 1
    subscriber, _secret = webhook(it_page, consumer.url("/fail"), email="owner@example.com")
    incident = open_incident(it_page, alice, django_capture_on_commit_callbacks)
    subscriber.refresh_from_db()
    assert subscriber.bounce_count == 1 and subscriber.is_active
    with django_capture_on_commit_callbacks(execute=True):
        services.post_update(incident, actor=alice, status="identified", body="Found it.")
    subscriber.refresh_from_db()
    assert subscriber.flagged_at is not None  # disabled
    (notice,) = [m for m in mail.outbox if "owner@example.com" in m.to]
    assert "stopped" in notice.subject and "HTTP 500" in notice.body
    with django_capture_on_commit_callbacks(execute=True):
        services.post_update(incident, actor=alice, status="monitoring", body="Fixed.")
    assert len(consumer.at("/fail")) == 2  # nothing more to a disabled endpoint
    assert Notification.objects.count() == 3


# --- the subscriber API (Statuspage's shape) ---------------------------------------------


SUBSCRIBER_FIELDS = {
    "id", "mode", "email", "endpoint", "phone_number", "phone_country", "display_phone_number",
    "obfuscated_channel_name", "workspace_name", "skip_confirmation_notification",
    "quarantined_at", "purge_at", "components", "events", "page_access_user_id", "created_at",
    "confirmed_at", "unsubscribed_at", "language",
    "page_access_group_id",  # ours (issue 16): the customer it belongs to
}  # fmt: skip


def test_the_subscriber_api_creates_lists_and_deletes_webhooks(it_page, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    api, _key = make_api(pages=[it_page])
    vpn = Component.objects.get(name="VPN")
    response = api.post(
        "pages/it/subscribers",
        {
            "subscriber": {
                "endpoint": "http://127.0.0.1:9/hook",
                "email": "ops@example.com",
                "component_ids": [vpn.public_id],
                "skip_confirmation_notification": True,
            }
        },
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert set(created) == SUBSCRIBER_FIELDS | {"secret"}
    assert created["mode"] == "webhook" and created["secret"].startswith("whsec_")
    assert created["components"] == [vpn.public_id]
    listed = api.get("pages/it/subscribers?type=webhook").json()
    assert [s["id"] for s in listed] == [created["id"]]
    assert "secret" not in listed[0]
    deleted = api.delete(f"pages/it/subscribers/{created['id']}")
    assert deleted.status_code == 200 and deleted.json()["unsubscribed_at"]
    assert api.get("pages/it/subscribers").json() == []


def test_a_webhook_without_skip_confirmation_is_confirmed_by_email_first(
    it_page, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    api, _key = make_api(pages=[it_page])
    body = {"subscriber": {"endpoint": "http://127.0.0.1:9/hook"}}
    response = api.post("pages/it/subscribers", body)
    assert response.status_code == 422 and response.json()["field"] == "email"
    body["subscriber"]["email"] = "ops@example.com"
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("pages/it/subscribers", body)
    assert response.status_code == 201
    assert response.json()["confirmed_at"] is None
    (message,) = mail.outbox
    assert message.to == ["ops@example.com"] and "/subscribe/confirm/" in message.body


def test_the_subscriber_api_refuses_private_endpoints_and_other_pages(it_page, phone_page):
    api, _key = make_api(pages=[it_page])
    body = {
        "subscriber": {"endpoint": "http://10.0.0.1/hook", "skip_confirmation_notification": True}
    }
    response = api.post("pages/it/subscribers", body)
    assert response.status_code == 422
    assert "private or local address" in response.json()["message"]
    assert api.get("pages/telephony/subscribers").status_code == 404


def test_the_public_form_subscribes_a_webhook_confirmed_by_its_owner(
    client, it_page, settings, django_capture_on_commit_callbacks
):
    import re

    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    page = client.get("/p/it/subscribe/")
    assert b'name="endpoint"' in page.content and b'value="webhook"' in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/p/it/subscribe/",
            {"kind": "webhook", "endpoint": "http://127.0.0.1:9/hook", "email": "ops@example.com"},
        )
    assert response.status_code == 200, response.content
    subscriber = Subscriber.objects.get(kind="webhook")
    assert not subscriber.is_active
    (message,) = mail.outbox
    link = re.search(r"http://\S+/subscribe/confirm/\S+/", message.body).group(0)
    path = link.split("127.0.0.1:8000", 1)[-1]
    confirmed = client.post(path)
    subscriber.refresh_from_db()
    assert subscriber.is_active
    assert subscriber.secret.encode() in confirmed.content  # shown once, on confirmation


def test_the_public_form_explains_a_refused_webhook_url(client, it_page, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    response = client.post(
        "/p/it/subscribe/",
        {"kind": "webhook", "endpoint": "http://10.1.2.3/hook", "email": "ops@example.com"},
    )
    assert response.status_code == 400
    assert "private or local address" in response.content.decode()
    assert not Subscriber.objects.exists()


def test_listing_subscribers_takes_a_fixed_number_of_queries(
    it_page, settings, django_assert_max_num_queries
):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    api, _key = make_api(pages=[it_page])
    for n in range(5):
        webhook(it_page, f"http://127.0.0.1:9/hook/{n}")
    # key lookup, its last-used stamp (SAVEPOINT, UPDATE, RELEASE: a read-only database must
    # not fail authentication), the page, subscribers, their components
    with django_assert_max_num_queries(7):
        assert len(api.get("pages/it/subscribers").json()) == 5
