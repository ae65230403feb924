"""Customer-only components and their incidents reach no public channel, and one customer never
sees another's (issue 16). Cachet 3 leaked hidden incidents through its JSON API: here every
public channel is read and searched for what must not be there.

The world: the IT page with its public components, Acme's own fibre line and Globex's own PBX
(customer-only), an incident about each of those only, and a public incident that touches the
public Internet access and Acme's fibre line. (The customer view /my/ has its own tests.)
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.core import mail

from incidents import services
from incidents.models import Component, Customer, Incident
from incidents.services import customers as customer_services
from notifications.models import Delivery, Subscriber
from notifications.services import (
    add_endpoint,
    confirm,
    confirmation_token,
    subscribe,
    update_preferences,
)

from .api_helpers import Api, make_api
from .factories import make_component, make_page, office_hours
from .webhook_helpers import Consumer

ACME = ["Acme: fibre line Utrecht", "Fibre cut near Utrecht", "splicing crew"]
GLOBEX = ["Globex: PBX Rotterdam", "Globex PBX registration", "SIP trunk of Globex"]


def component(page, name) -> Component:
    return Component.objects.get(page=page, name=name)


def assert_hidden(text: str, secrets: list[str], where: str = "") -> None:
    for secret in secrets:
        assert secret not in text, f"{secret!r} leaked in {where}"


class World:
    """The IT page, two customers with a customer-only component and incident each, and one
    public incident that also touches Acme's line."""

    def __init__(self, page):
        self.page = page
        self.internet = component(page, "Internet access")
        self.fibre = make_component(page, ACME[0], visibility="customers")
        self.pbx = make_component(page, GLOBEX[0], visibility="customers")
        self.acme = customer_services.create_access_group(
            page, actor=None, name="Acme", code="acme", components=[self.fibre, self.internet]
        )
        Customer.objects.filter(pk=self.acme.pk).update(
            contract="extended_16x7", outage_phone="+31 800 111 2222"
        )
        self.acme.refresh_from_db()
        self.globex = customer_services.create_access_group(
            page, actor=None, name="Globex", code="globex", components=[self.pbx]
        )
        self.acme_incident = services.open_incident(
            page,
            actor=None,
            name=ACME[1],
            body=f"The {ACME[2]} is on its way.",
            components={self.fibre.pk: "major_outage"},
        )
        self.globex_incident = services.open_incident(
            page,
            actor=None,
            name=GLOBEX[1],
            body=f"The {GLOBEX[2]} is down.",
            components={self.pbx.pk: "partial_outage"},
        )
        self.public_incident = services.open_incident(
            page,
            actor=None,
            name="Internet slow in the region",
            body="Several lines are slow.",
            components={self.internet.pk: "degraded_performance", self.fibre.pk: "major_outage"},
        )

    @property
    def secrets(self) -> list[str]:
        """Everything of both customers, ids included."""
        return [
            *ACME,
            *GLOBEX,
            self.fibre.public_id,
            self.pbx.public_id,
            self.acme_incident.public_id,
            self.globex_incident.public_id,
        ]


@pytest.fixture
def world(it_page) -> World:
    return World(it_page)


# --- the public HTML ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_public_html_shows_neither_customers_components_nor_their_incidents(world, client):
    now = dt.datetime.now(dt.UTC).astimezone(world.page.tz)
    for path in [
        "/",
        "/p/it/",
        "/p/it/history/",
        f"/p/it/history/{now.year}/{now.month}/",
        f"/p/it/incidents/{world.public_incident.pk}/",
        "/p/it/embed/",
        "/p/it/widget.js",
        "/p/it/handout/",
        "/p/it/subscribe/",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        text = response.content.decode()
        assert_hidden(text, world.secrets, path)
    assert "Internet slow in the region" in client.get("/p/it/").content.decode()


@pytest.mark.django_db
def test_a_customer_only_incident_has_no_public_page(world, client):
    for incident in (world.acme_incident, world.globex_incident):
        assert client.get(f"/p/it/incidents/{incident.pk}/").status_code == 404
        assert client.get(f"/incidents/{incident.pk}/").status_code == 404


@pytest.mark.django_db
def test_the_public_indicator_ignores_customer_only_incidents(it_page, client):
    fibre = make_component(it_page, ACME[0], visibility="customers")
    services.open_incident(
        it_page, actor=None, name=ACME[1], body="Down.", components={fibre.pk: "major_outage"}
    )
    status = client.get("/p/it/api/v2/status.json").json()
    assert status["status"]["indicator"] == "none"
    assert "Operational" in client.get("/p/it/badge.svg").content.decode()


# --- public JSON, feeds, live, badges, phone, handout, report flow -------------------------------


@pytest.mark.django_db
def test_v2_json_at_the_root_and_per_page_leaks_nothing(world, client):
    names = [
        "summary.json",
        "status.json",
        "components.json",
        "incidents.json",
        "incidents/unresolved.json",
        "scheduled-maintenances.json",
        "scheduled-maintenances/upcoming.json",
        "scheduled-maintenances/active.json",
    ]
    for prefix in ("/api/v2/", "/p/it/api/v2/"):
        for name in names:
            response = client.get(prefix + name)
            assert response.status_code == 200, prefix + name
            assert_hidden(response.content.decode(), world.secrets, prefix + name)
    summary = client.get("/p/it/api/v2/summary.json").json()
    public = [i for i in summary["incidents"] if i["name"] == "Internet slow in the region"]
    assert [c["name"] for c in public[0]["components"]] == ["Internet access"]


@pytest.mark.django_db
def test_feeds_live_json_badges_and_the_pdf_handout_leak_nothing(world, client):
    from pypdf import PdfReader

    for path in ["/p/it/history.atom", "/p/it/history.rss", "/p/it/live.json", "/p/it/badge.svg"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_hidden(response.content.decode(), world.secrets, path)
    assert "Internet slow in the region" in client.get("/p/it/history.atom").content.decode()
    for ref in (world.fibre.pk, world.fibre.public_id, world.pbx.public_id):
        assert client.get(f"/p/it/components/{ref}/badge.svg").status_code == 404
    import io

    pdf = client.get("/p/it/handout.pdf").content
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert_hidden(text, world.secrets, "handout.pdf")


@pytest.mark.django_db
def test_phone_line_without_a_customer_leaks_nothing(world, client):
    for path in ["/p/it/phone.json", "/p/it/phone.txt", "/p/it/phone.json?lang=nl"]:
        response = client.get(path)
        assert response.status_code == 200
        assert_hidden(response.content.decode(), world.secrets, path)


@pytest.mark.django_db
def test_the_report_flow_shows_anonymous_visitors_nothing_of_a_customer(world, client):
    for path in [
        "/p/it/report/",
        f"/p/it/report/known/?component={world.fibre.pk}",
        f"/p/it/report/known/?component={world.fibre.public_id}&component={world.internet.pk}",
        f"/p/it/report/form/?component={world.pbx.pk}",
    ]:
        response = client.get(path)
        assert response.status_code in (200, 400), path
        assert_hidden(response.content.decode(), world.secrets, path)
    from incidents.services.reports import submit_report

    with pytest.raises(services.ServiceError):
        submit_report(
            world.page,
            components=[world.fibre.pk],
            scope="company",
            has_power="yes",
            has_internet="no",
            since="today",
            description="Nothing works.",
            company="Acme",
            contact_name="Dana",
            email="x@example.com",
            phone="",
        )


@pytest.mark.django_db
def test_the_static_mirror_holds_nothing_of_a_customer(world, settings, tmp_path):
    from statuspage.mirror.publish import _debouncer, publish_mirror

    from .mirror_helpers import every_text, release

    root = tmp_path / "mirror"
    settings.MIRROR_TARGETS = [f"file://{root}"]
    [outcome] = publish_mirror()
    assert outcome.error == ""
    text = every_text(release(root))
    assert "Internet slow in the region" in text
    assert_hidden(text, world.secrets, "the mirror")
    assert not list(release(root).rglob(f"components/{world.fibre.pk}/*"))
    assert not list(release(root).rglob(f"incidents/{world.acme_incident.pk}/*"))
    assert _debouncer.wait_idle(60)


# --- the phone line for one customer ------------------------------------------------------------


@pytest.fixture
def pbx_key(world):
    _api, key = make_api("PBX", pages=[world.page], read_only=True)
    return _api.headers["Authorization"]


@pytest.mark.django_db
def test_the_phone_line_speaks_for_one_customer_with_the_pages_key(world, client, pbx_key):
    office_hours(world.page)
    monday_evening = dt.datetime(2026, 11, 30, 20, 0, tzinfo=world.page.tz)
    with time_machine.travel(monday_evening, tick=False):
        acme = client.get("/p/it/phone.json?customer=acme", headers={"Authorization": pbx_key})
        globex = client.get("/p/it/phone.json?customer=globex", headers={"Authorization": pbx_key})
        text = client.get("/p/it/phone.txt?customer=acme", headers={"Authorization": pbx_key})
    assert acme.status_code == 200
    assert acme["Cache-Control"].startswith("private, no-store")
    said = acme.json()
    assert said["customer"] == {"code": "acme", "name": "Acme", "contract": "extended_16x7"}
    assert ACME[1] in [i["name"] for i in said["incidents"]]
    assert "Internet slow in the region" in [i["name"] for i in said["incidents"]]
    assert_hidden(acme.content.decode(), GLOBEX, "Acme's phone message")
    assert said["desk"]["line"] == "outage_line"
    assert said["desk"]["forward_to"] == "+31 800 111 2222"
    assert (
        "Call your outage number +31 800 111 2222 and have your PIN ready."
        in (said["desk"]["message"])
    )
    assert said["indicator"] == "critical" and said["major_outage"]
    assert text.status_code == 200 and text["X-Forward-To"] == "+31 800 111 2222"
    # Globex has an office-hours contract: after hours it hears when the desk opens.
    heard = globex.json()
    assert GLOBEX[1] in [i["name"] for i in heard["incidents"]]
    assert_hidden(globex.content.decode(), ACME[1:], "Globex's phone message")
    assert heard["desk"]["forward_to"] is None
    assert "opens again tomorrow" in heard["desk"]["message"]
    assert "outage number" not in heard["desk"]["message"]


@pytest.mark.django_db
def test_a_customers_phone_message_is_refused_alike_whether_the_code_exists_or_not(
    world, client, phone_page
):
    _api, _key = make_api("Telephony only", pages=[phone_page])
    other_page_key = _api.headers["Authorization"]
    answers = set()
    for code in ("acme", "no-such-customer"):
        for headers in ({}, {"Authorization": other_page_key}, {"Authorization": "Bearer x" * 3}):
            response = client.get(f"/p/it/phone.json?customer={code}", headers=headers)
            assert response.status_code == 403
            answers.add(response.content)
            assert_hidden(response.content.decode(), world.secrets)
        response = client.get(f"/p/it/phone.txt?customer={code}")
        assert response.status_code == 403 and response["Cache-Control"] == "private, no-store"
    assert len(answers) == 1


@pytest.mark.django_db
def test_an_unknown_customer_is_a_404_for_the_pages_key(world, client, pbx_key):
    response = client.get("/p/it/phone.json?customer=initech", headers={"Authorization": pbx_key})
    assert response.status_code == 404


# --- mails, webhooks and chats ------------------------------------------------------------------


def email_subscriber(page, email, customer=None) -> Subscriber:
    s = subscribe(page, email=email, skip_confirmation=True)
    if customer is not None:
        Subscriber.objects.filter(pk=s.pk).update(customer=customer)
    return s


def notices_to(address: str) -> list[str]:
    return [m.message().as_string() for m in mail.outbox if address in m.to]


@pytest.mark.django_db
def test_customer_only_incidents_mail_only_that_customers_subscribers(
    it_page, django_capture_on_commit_callbacks
):
    fibre = make_component(it_page, ACME[0], visibility="customers")
    internet = component(it_page, "Internet access")
    acme = customer_services.create_access_group(
        it_page, actor=None, name="Acme", code="acme", components=[fibre]
    )
    globex = customer_services.create_access_group(it_page, actor=None, name="Globex")
    email_subscriber(it_page, "pat@public.example")
    email_subscriber(it_page, "ops@acme.example", customer=acme)
    email_subscriber(it_page, "ops@globex.example", customer=globex)
    with django_capture_on_commit_callbacks(execute=True):
        services.open_incident(
            it_page, actor=None, name=ACME[1], body="Down.", components={fibre.pk: "major_outage"}
        )
    assert len(notices_to("ops@acme.example")) == 1
    assert ACME[1] in notices_to("ops@acme.example")[0]
    assert notices_to("pat@public.example") == notices_to("ops@globex.example") == []

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.open_incident(
            it_page,
            actor=None,
            name="Internet slow in the region",
            body="Several lines are slow.",
            components={internet.pk: "degraded_performance", fibre.pk: "major_outage"},
        )
    for address in ("pat@public.example", "ops@globex.example"):
        [notice] = notices_to(address)
        assert "Internet access" in notice
        assert_hidden(notice, ACME[:1], f"the mail to {address}")
    [own] = notices_to("ops@acme.example")
    assert ACME[0] in own and "Internet access" in own


@pytest.mark.django_db
def test_a_confirmed_address_of_a_customers_domain_becomes_its_subscriber(it_page):
    from incidents.models import CustomerDomain, CustomerMember

    acme = customer_services.create_access_group(it_page, actor=None, name="Acme")
    CustomerDomain.objects.create(customer=acme, domain="acme.example")
    globex = customer_services.create_access_group(it_page, actor=None, name="Globex")
    CustomerMember.objects.create(customer=globex, email="boss@gmail.example")
    by_domain = subscribe(it_page, email="noc@acme.example")
    confirm(it_page, confirmation_token(by_domain))
    invited = subscribe(it_page, email="boss@gmail.example", skip_confirmation=True)
    stranger = subscribe(it_page, email="someone@else.example", skip_confirmation=True)
    assert Subscriber.objects.get(pk=by_domain.pk).customer == acme
    assert Subscriber.objects.get(pk=invited.pk).customer == globex
    assert Subscriber.objects.get(pk=stranger.pk).customer is None


@pytest.mark.django_db
def test_a_customers_subscriber_keeps_its_own_components_when_saving_its_preferences(world, client):
    """The manage page offers a customer's subscriber its customer's own components too (and
    saving keeps them); a public subscriber's page names none of them."""
    own = email_subscriber(world.page, "noc@acme.example", customer=world.acme)
    own.refresh_from_db()
    update_preferences(own, components=[world.fibre.pk], language="en")
    page = client.get(f"/p/it/subscription/{own.token}/")
    html = page.content.decode()
    assert page.status_code == 200 and ACME[0] in html and GLOBEX[0] not in html
    assert f'value="{world.fibre.pk}" ' in html and "checked" in html
    saved = client.post(
        f"/p/it/subscription/{own.token}/",
        {"components": [str(world.fibre.pk), str(world.internet.pk)], "language": "en"},
    )
    assert saved.status_code == 302
    assert set(own.components.values_list("pk", flat=True)) == {world.fibre.pk, world.internet.pk}
    # Another customer's component is refused, as is any of them for a public subscriber.
    refused = client.post(
        f"/p/it/subscription/{own.token}/", {"components": [str(world.pbx.pk)], "language": "en"}
    )
    assert refused.status_code == 400
    public = email_subscriber(world.page, "pat@public.example")
    assert_hidden(client.get(f"/p/it/subscription/{public.token}/").content.decode(), world.secrets)


@pytest.fixture
def consumer(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 0
    consumer = Consumer().start()
    yield consumer
    consumer.stop()


@pytest.mark.django_db
def test_webhooks_get_customer_only_items_only_for_their_customer(
    it_page, consumer, django_capture_on_commit_callbacks
):
    fibre = make_component(it_page, ACME[0], visibility="customers")
    internet = component(it_page, "Internet access")
    acme = customer_services.create_access_group(
        it_page, actor=None, name="Acme", code="acme", components=[fibre]
    )
    public, _ = add_endpoint(
        it_page, kind="webhook", endpoint=consumer.url("/public"), skip_confirmation=True
    )
    own, _ = add_endpoint(
        it_page, kind="webhook", endpoint=consumer.url("/acme"), skip_confirmation=True
    )
    Subscriber.objects.filter(pk=own.pk).update(customer=acme)
    with django_capture_on_commit_callbacks(execute=True):
        services.open_incident(
            it_page, actor=None, name=ACME[1], body="Down.", components={fibre.pk: "major_outage"}
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.set_component_status(fibre, "operational", actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        services.open_incident(
            it_page,
            actor=None,
            name="Internet slow in the region",
            body="Slow.",
            components={internet.pk: "degraded_performance", fibre.pk: "major_outage"},
        )
    to_public = [r.json for r in consumer.at("/public")]
    to_acme = [r.json for r in consumer.at("/acme")]
    assert [b["incident"]["name"] for b in to_public if "incident" in b] == [
        "Internet slow in the region"
    ]
    assert_hidden(json.dumps(to_public), [ACME[0], ACME[1], fibre.public_id], "public webhooks")
    assert not Delivery.objects.filter(subscriber=public, notification__incident=None).exists()
    names = [b["incident"]["name"] for b in to_acme if "incident" in b]
    assert names == [ACME[1], "Internet slow in the region"]
    assert [b["component"]["name"] for b in to_acme if "component" in b] == [ACME[0]]
    public_one = [b for b in to_acme if "incident" in b][-1]["incident"]
    assert {c["name"] for c in public_one["components"]} == {"Internet access", ACME[0]}


@pytest.mark.django_db
def test_chats_get_customer_only_items_only_for_their_customer(
    it_page, consumer, django_capture_on_commit_callbacks
):
    fibre = make_component(it_page, ACME[0], visibility="customers")
    acme = customer_services.create_access_group(
        it_page, actor=None, name="Acme", code="acme", components=[fibre]
    )
    add_endpoint(
        it_page,
        kind="chat",
        endpoint=f"json://127.0.0.1:{consumer.port}/public",
        skip_confirmation=True,
    )
    own, _ = add_endpoint(
        it_page,
        kind="chat",
        endpoint=f"json://127.0.0.1:{consumer.port}/acme",
        skip_confirmation=True,
    )
    Subscriber.objects.filter(pk=own.pk).update(customer=acme)
    with django_capture_on_commit_callbacks(execute=True):
        services.open_incident(
            it_page, actor=None, name=ACME[1], body="Down.", components={fibre.pk: "major_outage"}
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.set_component_status(fibre, "operational", actor=None)
    assert consumer.at("/public") == []
    titles = [r.json["title"] for r in consumer.at("/acme")]
    assert titles == [f"IT services: {ACME[1]} (Investigating)", f"IT services: {ACME[0]}"]


@pytest.mark.django_db
def test_a_delivery_fanned_out_before_a_component_became_customer_only_is_not_sent(
    it_page, django_capture_on_commit_callbacks, settings
):
    from notifications import outbox

    line = make_component(it_page, ACME[0])
    email_subscriber(it_page, "pat@public.example")
    incident = services.open_incident(
        it_page, actor=None, name=ACME[1], body="Down.", components={line.pk: "major_outage"}
    )
    notification = outbox.Notification.objects.create(
        key="test",
        page=it_page,
        incident=incident,
        event_type="incident.created",
        data={"incident": {"id": incident.pk}},
        component_ids=[line.pk],
    )
    list(outbox.fan_out(notification))
    services.update_component(line, actor=None, visibility="customers")
    token, count = outbox.claim(notification.pk)
    assert count == 1
    result = outbox.send_claimed(notification, token)
    assert result.sent == 0
    assert Delivery.objects.get(notification=notification).last_error == (
        "not visible to this subscriber"
    )


# --- the v1 API: keys of other pages, guessed ids ------------------------------------------------


@pytest.fixture
def two_customers(db):
    """Acme's and Globex's own pages, each with its own key, customer-only line and incident."""
    made = {}
    for code, name in (("acme", "Acme"), ("globex", "Globex")):
        page = make_page(slug=f"{code}-lines", name=f"{name} lines")
        line = make_component(page, f"{name}: own line", visibility="customers")
        customer = customer_services.create_access_group(
            page, actor=None, name=name, code=code, components=[line]
        )
        member = customer_services.create_access_user(
            page, actor=None, email=f"ops@{code}.example", customer=customer
        )
        incident = services.open_incident(
            page,
            actor=None,
            name=f"{name} line down",
            body="Down.",
            components={line.pk: "major_outage"},
        )
        api, _key = make_api(f"{name} key", pages=[page])
        made[code] = dict(
            page=page, line=line, customer=customer, member=member, incident=incident, api=api
        )
    return made


@pytest.mark.django_db
def test_one_customers_key_finds_nothing_of_another_by_guessing_ids(two_customers):
    acme, globex = two_customers["acme"], two_customers["globex"]
    api: Api = acme["api"]
    theirs = f"pages/{globex['page'].slug}"
    ours = f"pages/{acme['page'].slug}"
    for path in [
        theirs,
        f"{theirs}/components",
        f"{theirs}/incidents",
        f"{theirs}/page_access_groups",
        f"{theirs}/page_access_users",
        f"{theirs}/incidents/{globex['incident'].public_id}",
        f"{ours}/incidents/{globex['incident'].public_id}",
        f"{ours}/incidents/{globex['incident'].pk}",
        f"{ours}/components/{globex['line'].public_id}",
        f"{ours}/components/{globex['line'].pk}",
        f"{ours}/page_access_groups/{globex['customer'].public_id}",
        f"{ours}/page_access_groups/{globex['customer'].pk}",
        f"{ours}/page_access_groups/{globex['customer'].public_id}/components",
        f"{ours}/page_access_users/{globex['member'].public_id}",
        f"{ours}/page_access_users/{globex['member'].pk}",
    ]:
        response = api.get(path)
        assert response.status_code == 404, path
        assert_hidden(response.content.decode(), ["Globex", "ops@globex"], path)
    for path, body in [
        (f"{ours}/page_access_groups/{globex['customer'].public_id}", {"page_access_group": {}}),
        (f"{ours}/page_access_users/{globex['member'].public_id}", {"page_access_user": {}}),
    ]:
        assert api.patch(path, body).status_code == 404
        assert api.delete(path).status_code == 404
    # Its own lists hold only its own.
    listed = api.get(f"{ours}/incidents").content.decode()
    assert "Acme line down" in listed
    assert_hidden(listed, ["Globex"], "Acme's incidents")
    # Nor may it put Globex's line in its group, or move Globex's person to itself.
    group = f"{ours}/page_access_groups/{acme['customer'].public_id}/components"
    response = api.patch(group, {"component_ids": [globex["line"].public_id]})
    assert response.status_code == 422 and response.json()["code"] == "unknown_component"
    response = api.post(
        f"{ours}/page_access_users",
        {
            "page_access_user": {
                "email": "spy@acme.example",
                "page_access_group_ids": [globex["customer"].public_id],
            }
        },
    )
    assert response.status_code == 422 and response.json()["code"] == "unknown_group"
    assert Customer.objects.get(code="globex").members.count() == 1
    assert Incident.objects.filter(name="Globex line down").exists()


# --- the public websocket group -----------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_public_websocket_gets_no_customer_only_change(it_page, settings):
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator

    from statuspage.asgi import application

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

    def customers_world():
        fibre = make_component(it_page, ACME[0], visibility="customers")
        customer_services.create_access_group(
            it_page, actor=None, name="Acme", code="acme", components=[fibre]
        )
        return fibre

    fibre = await database_sync_to_async(customers_world)()
    socket = WebsocketCommunicator(
        application, "/ws/pages/it/", headers=[(b"origin", b"http://testserver")]
    )
    assert (await socket.connect(timeout=5))[0]
    hello = json.loads(await socket.receive_from(timeout=5))

    def customer_only_changes():
        incident = services.open_incident(
            it_page, actor=None, name=ACME[1], body="Down.", components={fibre.pk: "major_outage"}
        )
        services.post_update(incident, actor=None, status="identified", body=ACME[2])
        services.set_component_status(fibre, "degraded_performance", actor=None)
        customer_services.change_access_group(
            Customer.objects.get(code="acme"), page=it_page, actor=None, name="Acme B.V."
        )
        services.resolve_incident(incident, actor=None, body="Spliced.")

    await database_sync_to_async(customer_only_changes)()
    # Nothing the public sees changed: no message at all (not even that something did).
    assert await socket.receive_nothing(timeout=0.5)

    def public_change():
        internet = component(it_page, "Internet access")
        services.open_incident(
            it_page,
            actor=None,
            name="Internet slow in the region",
            body="Slow.",
            components={internet.pk: "degraded_performance", fibre.pk: "major_outage"},
        )

    await database_sync_to_async(public_change)()
    text = await socket.receive_from(timeout=5)
    message = json.loads(text)
    assert message["version"] > hello["version"]
    assert message["data"]["incident"]["name"] == "Internet slow in the region"
    assert [c["name"] for c in message["data"]["incident"]["components"]] == ["Internet access"]
    assert_hidden(text, [*ACME, fibre.public_id], "the public push")
    await socket.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_component_made_customer_only_leaves_the_public_page_live(it_page, settings):
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator

    from statuspage.asgi import application

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    line = await database_sync_to_async(make_component)(it_page, "Utrecht line")
    socket = WebsocketCommunicator(
        application, "/ws/pages/it/", headers=[(b"origin", b"http://testserver")]
    )
    assert (await socket.connect(timeout=5))[0]
    await socket.receive_from(timeout=5)
    await database_sync_to_async(services.update_component)(
        line, actor=None, visibility="customers"
    )
    message = json.loads(await socket.receive_from(timeout=5))
    assert message["data"] == {
        "components": [],
        "removed": [{"id": line.public_id, "name": "Utrecht line"}],
    }
    assert "Utrecht line" not in message["html"]["components"]
    await socket.disconnect()


# --- moving a page keeps who sees what ---------------------------------------------------------


@pytest.mark.django_db
def test_a_page_moved_out_and_back_in_keeps_its_customer_only_components(world, client, tmp_path):
    import io

    from django.core.management import call_command

    from incidents.models import Page

    out = io.StringIO()
    call_command("export_page", "it", stdout=out)
    Page.objects.filter(slug="it").delete()
    Customer.objects.all().delete()
    path = tmp_path / "it.json"
    path.write_text(out.getvalue())
    call_command("import_page", str(path), stdout=io.StringIO())
    page = Page.objects.get(slug="it")
    # (Customers themselves span pages and are not in a page's archive: a restored
    # customer-only component is seen by nobody until it is assigned again.)
    assert component(page, ACME[0]).visibility == "customers"
    assert_hidden(client.get("/p/it/").content.decode(), world.secrets, "the restored page")
