"""The customer view (issue 16): passwordless sign-in by one-time link over real SMTP, /my/
showing exactly one customer's services and incidents, "what to do now" by contract and clock,
the wall-screen link, the admin, reports attached to the company, and siblings' status in the
public header. (The customer websocket is in tests/test_customer_live.py.)"""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client

from incidents import services
from incidents.models import (
    AuditEntry,
    Component,
    Customer,
    CustomerDomain,
    CustomerMember,
    ProblemReport,
)
from incidents.services import ServiceError, customer_access
from incidents.services import reports as report_services
from tests.email_helpers import html_of, start_smtp, text_of
from tests.factories import make_component, office_hours

pytestmark = pytest.mark.django_db

# A Tuesday in winter (Europe/Amsterdam is UTC+1).
OFFICE = dt.datetime(2026, 1, 13, 10, 0, tzinfo=dt.UTC)  # 11:00 local: desk open
EVENING = dt.datetime(2026, 1, 13, 19, 0, tzinfo=dt.UTC)  # 20:00 local: after-hours line open
NIGHT = dt.datetime(2026, 1, 13, 23, 30, tzinfo=dt.UTC)  # 00:30 local: everything closed


def component(page, name):
    return Component.objects.get(page=page, name=name)


@pytest.fixture(autouse=True)
def _run_on_commit(monkeypatch):
    """The test transaction never commits: run what waits for the commit (the sign-in mail's
    task) at once, as a committed request would."""
    from django.db import transaction

    monkeypatch.setattr(transaction, "on_commit", lambda func, using=None, robust=False: func())


def customers_only(component):
    Component.objects.filter(pk=component.pk).update(visibility="customers")
    component.refresh_from_db()
    return component


@pytest.fixture
def smtp(settings):
    controller, sink = start_smtp()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield sink
    controller.stop()


def wait_for(sink, count, timeout=5.0):
    deadline = time.monotonic() + timeout
    while sink.count() < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return sink.parsed()


@pytest.fixture
def acme(it_page, phone_page):
    """A 16x7 customer on both pages, with its own fibre line (customer-only)."""
    office_hours(it_page)
    office_hours(it_page, weekdays=range(7), opens="17:30", closes="23:00", line="after_hours")
    fibre = customers_only(make_component(it_page, "Acme fibre Utrecht"))
    customer = Customer.objects.create(
        code="acme",
        name="Acme",
        contract="extended_16x7",
        outage_phone="+31 20 999 0000",
        page=it_page,
    )
    customer.components.set(
        [fibre, component(it_page, "Internet access"), component(phone_page, "Inbound calls")]
    )
    CustomerDomain.objects.create(customer=customer, domain="acme.example")
    return customer


@pytest.fixture
def bakery(it_page, phone_page):
    """An office-hours customer with its own PBX (customer-only) and one invited address."""
    pbx = customers_only(make_component(phone_page, "Bakkerij PBX"))
    customer = Customer.objects.create(code="bakkerij", name="Bakkerij Jansen", page=phone_page)
    customer.components.set([pbx, component(it_page, "VPN")])
    CustomerMember.objects.create(customer=customer, email="jan@gmail.example")
    return customer


def sign_in(client, email):
    """Sign in as a customer's person through the real flow (mail to memory)."""
    from django.core import mail

    mail.outbox.clear()
    client.post("/my/sign-in/", {"email": email})
    token = re.search(r"sesame=([\w\-:.%]+)", mail.outbox[-1].body).group(1)
    response = client.post("/my/link/", {"sesame": token})
    assert response.status_code == 302 and response["Location"] == "/my/"
    return token


# --- Sign-in ---------------------------------------------------------------------------------


def test_a_domain_address_gets_a_one_time_link_by_smtp_that_signs_in_once(client, acme, smtp):
    response = client.post("/my/sign-in/", {"email": "Dana@Acme.example"})
    assert response.status_code == 302 and response["Location"] == "/my/sign-in/sent/"
    (message,) = wait_for(smtp, 1)
    assert message["To"] == "dana@acme.example"
    assert "IT services" in message["Subject"]
    text, html = text_of(message), html_of(message)
    link = re.search(r"http://\S+/my/link/\?sesame=\S+", text).group(0)
    assert link in html.replace("&amp;", "&")
    assert "Acme" in text and "works once, for 15 minutes" in text
    token = link.split("sesame=")[1]

    # Opening the link (a mail scanner does too) shows a button and signs nobody in.
    assert client.get(link.removeprefix("http://127.0.0.1:8000")).status_code == 200
    assert client.get("/my/").status_code == 302
    assert client.post("/my/link/", {"sesame": token})["Location"] == "/my/"
    body = client.get("/my/").content.decode()
    assert "Status overview for Acme" in body

    member = CustomerMember.objects.get(email="dana@acme.example")
    assert member.customer == acme and not member.invited and member.last_sign_in_at
    assert not member.user.is_staff and not member.user.has_usable_password()

    client.post("/my/sign-out/")
    again = client.post("/my/link/", {"sesame": token})
    assert again.status_code == 400
    assert "not valid any more" in again.content.decode()
    assert client.get("/my/").status_code == 302


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, acme, bakery, smtp):
    known = client.post("/my/sign-in/", {"email": "jan@gmail.example"})
    unknown = client.post("/my/sign-in/", {"email": "someone@elsewhere.example"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == "/my/sign-in/sent/"
    assert [m["To"] for m in wait_for(smtp, 1)] == ["jan@gmail.example"]
    time.sleep(0.3)
    assert smtp.count() == 1
    assert not get_user_model().objects.filter(email="someone@elsewhere.example").exists()
    page = client.get("/my/sign-in/sent/").content.decode()
    assert "If this address belongs to one of our customers" in page


def test_the_link_expires(client, acme, settings):
    from django.core import mail

    with time_machine.travel(OFFICE, tick=False) as clock:
        client.post("/my/sign-in/", {"email": "dana@acme.example"})
        token = re.search(r"sesame=(\S+)", mail.outbox[-1].body).group(1)
        clock.shift(dt.timedelta(seconds=settings.SESAME_MAX_AGE + 1))
        response = client.post("/my/link/", {"sesame": token})
    assert response.status_code == 400
    assert client.get("/my/").status_code == 302


def test_links_are_rate_limited_per_address_alike_for_known_and_unknown(client, acme):
    from django.core import mail

    for email in ("dana@acme.example", "nobody@nowhere.example"):
        answers = [client.post("/my/sign-in/", {"email": email}).status_code for _ in range(4)]
        assert answers == [302, 302, 302, 429]
    assert len(mail.outbox) == 3
    with pytest.raises(ServiceError) as refused:
        customer_access.request_sign_in_link("dana@acme.example")
    assert refused.value.code == "rate_limited"


def test_a_malformed_address_is_refused_with_a_message(client, acme):
    response = client.post("/my/sign-in/", {"email": "not an address"})
    assert response.status_code == 400
    assert "name@example.com" in response.content.decode()


def test_a_link_is_one_audit_row_and_names_no_address(client, acme):
    client.post("/my/sign-in/", {"email": "dana@acme.example"})
    client.post("/my/sign-in/", {"email": "nobody@nowhere.example"})
    rows = list(AuditEntry.objects.filter(action="send_customer_sign_in_link"))
    assert len(rows) == 1
    assert "dana" not in str(rows[0].changes) and rows[0].actor_type == "visitor"


def test_a_customer_person_never_reaches_the_admin(client, acme):
    sign_in(client, "dana@acme.example")
    for path in ("/admin/", "/admin/incidents/customer/", "/admin/incidents/incident/"):
        response = client.get(path)
        assert response.status_code in (302, 403), path
        if response.status_code == 302:
            assert "/my/" not in response["Location"] and "login" in response["Location"]


def test_a_staff_account_cannot_sign_in_by_link(client, acme, alice):
    CustomerMember.objects.create(customer=acme, email="alice@acme.example", user=alice)
    from django.core import mail

    client.post("/my/sign-in/", {"email": "alice@acme.example"})
    assert mail.outbox == []


# --- What /my/ shows -------------------------------------------------------------------------


def test_my_shows_exactly_the_customers_services_and_incidents(
    client, it_page, phone_page, acme, bakery
):
    fibre = component(it_page, "Acme fibre Utrecht")
    pbx = component(phone_page, "Bakkerij PBX")
    acme_incident = services.open_incident(
        it_page, actor=None, name="Fibre cut in Utrecht", body="Digging.",
        components={fibre.pk: "major_outage"},
    )  # fmt: skip
    bakery_incident = services.open_incident(
        phone_page, actor=None, name="Bakkerij PBX down", body="Looking.",
        components={pbx.pk: "major_outage"},
    )  # fmt: skip
    shared = services.open_incident(
        it_page, actor=None, name="Internet slow", body="Upstream.",
        components={component(it_page, "Internet access").pk: "degraded_performance"},
    )  # fmt: skip
    other = services.open_incident(
        it_page, actor=None, name="Email delayed", body="Queue.",
        components={component(it_page, "Email hosting").pk: "degraded_performance"},
    )  # fmt: skip
    services.schedule_maintenance(
        phone_page, actor=None, name="Inbound calls upgrade", body="New trunks.",
        scheduled_for=dt.datetime.now(dt.UTC) + dt.timedelta(days=2),
        scheduled_until=dt.datetime.now(dt.UTC) + dt.timedelta(days=2, hours=1),
        components=[component(phone_page, "Inbound calls").pk],
    )  # fmt: skip

    sign_in(client, "dana@acme.example")
    body = client.get("/my/").content.decode()
    for shown in (
        "Acme fibre Utrecht", "Internet access", "Inbound calls", "Fibre cut in Utrecht",
        "Internet slow", "Inbound calls upgrade",
    ):  # fmt: skip
        assert shown in body, shown
    for hidden in ("Bakkerij", "VPN", "Email delayed", "Email hosting"):
        assert hidden not in body, hidden
    assert client.get(f"/my/incidents/{acme_incident.pk}/").status_code == 200
    assert client.get(f"/my/incidents/{shared.pk}/").status_code == 200
    # Guessed URLs of another customer's incident, or one that touches none of its services.
    assert client.get(f"/my/incidents/{bakery_incident.pk}/").status_code == 404
    assert client.get(f"/my/incidents/{other.pk}/").status_code == 404
    sections = client.get("/my/sections/").json()["html"]
    assert "Fibre cut in Utrecht" in sections and "Bakkerij" not in sections


def test_my_is_in_the_visitors_language_with_the_home_pages_look(client, acme):
    sign_in(client, "dana@acme.example")
    response = client.get("/my/", HTTP_ACCEPT_LANGUAGE="nl")
    body = response.content.decode()
    assert response["Content-Language"] == "nl" and '<html lang="nl">' in body
    assert "Statusoverzicht voor Acme" in body
    assert "--accent: #0b5cad" in body
    assert {"private", "no-store"} <= {v.strip() for v in response["Cache-Control"].split(",")}


def test_my_runs_a_bounded_number_of_queries(client, acme, django_assert_max_num_queries):
    sign_in(client, "dana@acme.example")
    client.get("/my/")
    # session + user + member, components, 2 per page for uptime (2 pages), hours, incidents
    # (+ updates, affected, pages), reports (+ components), siblings' list: about 20 however
    # many incidents and services.
    with django_assert_max_num_queries(22):
        assert client.get("/my/").status_code == 200


@pytest.mark.parametrize(
    ("moment", "contract", "expected"),
    [
        (OFFICE, "extended_16x7", ["Our support desk is open until 17:30", "+31 20 123 4567"]),
        (OFFICE, "office_hours", ["Our support desk is open until 17:30", "+31 20 123 4567"]),
        (EVENING, "extended_16x7", ["after-hours outage line", "+31 20 999 0000", "PIN ready"]),
        (EVENING, "office_hours", ["opens Wednesday at 08:00", "does not include an after-hours"]),
        (NIGHT, "extended_16x7", ["opens Wednesday at 08:00"]),
    ],
)
def test_what_to_do_now_follows_the_contract_and_the_clock(
    client, acme, moment, contract, expected
):
    outage = acme.outage_phone if contract == "extended_16x7" else ""
    Customer.objects.filter(pk=acme.pk).update(contract=contract, outage_phone=outage)
    with time_machine.travel(moment, tick=False):
        sign_in(client, "dana@acme.example")
        body = client.get("/my/").content.decode()
    todo = body.split('class="todo"')[1].split("</section>")[0]
    for text in expected:
        assert text in todo, (text, todo)
    if moment != EVENING or contract != "extended_16x7":
        assert "+31 20 999 0000" not in todo and "PIN" not in todo


# --- The wall-screen link --------------------------------------------------------------------


def test_the_wall_link_is_read_only_and_rotating_it_ends_the_old_one(client, acme, admin_user_):
    _customer, first = customer_access.rotate_wall_link(acme, actor=admin_user_)
    acme.refresh_from_db()
    assert first not in acme.wall_token_hash and len(acme.wall_token_hash) == 64
    response = client.get(f"/my/wall/{first}/")
    body = response.content.decode()
    assert response.status_code == 200 and "Status overview for Acme" in body
    main = body.split("<main")[1].split("</main>")[0]
    assert "Your problem reports" not in main and "/report/" not in main
    assert "sign-out" not in body and "my.js" not in body and 'http-equiv="refresh"' in body
    assert client.get("/my/").status_code == 302  # the wall link signs nobody in

    _customer, second = customer_access.rotate_wall_link(acme, actor=admin_user_)
    assert client.get(f"/my/wall/{first}/").status_code == 404
    assert client.get(f"/my/wall/{second}/").status_code == 200
    assert client.get("/my/wall/guess/").status_code == 404
    rows = AuditEntry.objects.filter(action="rotate_customer_wall_link")
    assert rows.count() == 2 and all(first not in str(r.changes) for r in rows)
    customer_access.revoke_wall_link(acme, actor=admin_user_)
    assert client.get(f"/my/wall/{second}/").status_code == 404


# --- The admin -------------------------------------------------------------------------------


def test_the_admin_saves_a_customer_with_domains_people_and_services_as_one_intent(
    client, it_page, phone_page, admin_user_
):
    client.force_login(admin_user_)
    form = client.get("/admin/incidents/customer/add/").content.decode()
    assert "IT services" in form and "Telephony" in form  # services grouped by page
    data = {
        "name": "Acme",
        "code": "acme",
        "contract": "extended_16x7",
        "outage_phone": "+31 20 999 0000",
        "page": it_page.pk,
        "services": [
            str(component(it_page, "VPN").pk), str(component(phone_page, "Inbound calls").pk)
        ],
        "domains-TOTAL_FORMS": "1", "domains-INITIAL_FORMS": "0",
        "domains-0-domain": "acme.example",
        "members-TOTAL_FORMS": "1", "members-INITIAL_FORMS": "0",
        "members-0-email": "boss@gmail.example",
    }  # fmt: skip
    before = AuditEntry.objects.count()
    response = client.post("/admin/incidents/customer/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    customer = Customer.objects.get(code="acme")
    assert {c.name for c in customer.components.all()} == {"VPN", "Inbound calls"}
    assert [d.domain for d in customer.domains.all()] == ["acme.example"]
    assert [m.email for m in customer.members.all()] == ["boss@gmail.example"]
    rows = list(AuditEntry.objects.order_by("id")[before:])
    assert [r.action for r in rows] == ["save_customer"]
    listing = client.get("/admin/incidents/customer/").content.decode()
    assert "Acme" in listing and "16x7" in listing

    response = client.post(
        "/admin/incidents/customer/",
        {"action": "rotate_wall", "_selected_action": [customer.pk]},
        follow=True,
    )
    assert re.search(r"/my/wall/[\w-]{40,}/", response.content.decode())


def test_the_outage_number_needs_a_16x7_contract(admin_user_):
    customer = Customer(code="x", name="X", contract="office_hours", outage_phone="+31 1")
    with pytest.raises(ServiceError):
        customer_access.save_customer(
            customer, actor=admin_user_, components=[], domains=[], members=[]
        )


def test_a_domain_belongs_to_one_customer(acme, admin_user_):
    other = Customer(code="other", name="Other")
    with pytest.raises(ServiceError, match="another customer"):
        customer_access.save_customer(
            other, actor=admin_user_, components=[], domains=["acme.example"], members=[]
        )


def test_removing_a_person_ends_their_access(client, acme, bakery, admin_user_):
    sign_in(client, "jan@gmail.example")
    assert client.get("/my/").status_code == 200
    customer_access.save_customer(
        bakery, actor=admin_user_, components=bakery.components.all(), domains=[], members=[]
    )
    assert client.get("/my/").status_code == 302


# --- Reports attached to the company ---------------------------------------------------------


def report_data(page, **overrides):
    data = {
        "component": [str(component(page, "Internet access").pk)],
        "scope": "company",
        "has_power": "yes",
        "has_internet": "no",
        "since": "today 09:40",
        "description": "Nothing loads.",
        "contact_name": "Dana",
        "company": "Acme",
        "email": "dana@acme.example",
        "phone": "+31 6 1234 5678",
        "website": "",
    }
    data.update(overrides)
    return data


def test_a_signed_in_customers_report_is_attached_and_prefilled(client, it_page, acme):
    sign_in(client, "dana@acme.example")
    form = client.get("/p/it/report/form/").content.decode()
    assert 'value="Acme"' in form and "Acme fibre Utrecht" in form
    fibre = component(it_page, "Acme fibre Utrecht")
    response = client.post(
        "/p/it/report/form/", report_data(it_page, company="ACME bv", component=[str(fibre.pk)])
    )
    assert response.status_code == 302
    report = ProblemReport.objects.get()
    assert report.customer == acme and list(report.components.all()) == [fibre]
    body = client.get("/my/").content.decode()
    assert report.reference in body


def test_a_guest_cannot_report_a_customer_only_service(client, it_page, acme):
    fibre = component(it_page, "Acme fibre Utrecht")
    fields = {k: v for k, v in report_data(it_page).items() if k not in ("component", "website")}
    with pytest.raises(ServiceError):
        report_services.submit_report(it_page, **fields, components=[fibre.pk])


def test_the_early_warning_counts_a_customers_people_as_one_company(it_page, acme, bakery):
    from incidents.models import ReportAlert

    internet = component(it_page, "Internet access")
    it_page.report_alert_count, it_page.report_alert_min_companies = 3, 2
    it_page.save()
    fields = {k: v for k, v in report_data(it_page).items() if k not in ("component", "website")}
    # Three people of Acme, typing three company names: one company.
    for n, name in enumerate(["Acme", "ACME b.v.", "Acme Utrecht"]):
        report_services.submit_report(
            it_page, **{**fields, "company": name, "email": f"p{n}@acme.example"},
            components=[internet.pk], customer=acme, ip=f"10.0.0.{n}",
        )  # fmt: skip
    assert ReportAlert.objects.count() == 0
    # A guest who types Acme's name is Acme too; another company makes it two.
    report_services.submit_report(
        it_page, **{**fields, "company": " acme ", "email": "g@x.example"},
        components=[internet.pk], ip="10.0.1.1",
    )  # fmt: skip
    assert ReportAlert.objects.count() == 0
    report_services.submit_report(
        it_page, **{**fields, "company": "Bakkerij Jansen", "email": "b@x.example"},
        components=[internet.pk], ip="10.0.1.2", customer=bakery,
    )  # fmt: skip
    alert = ReportAlert.objects.get()
    assert alert.company_count == 2 and alert.report_count == 5


# --- Siblings in the public header -----------------------------------------------------------


def test_each_page_header_shows_the_other_pages_status_and_a_line_for_a_major_outage(
    client, it_page, phone_page
):
    body = client.get("/p/it/").content.decode()
    header = body.split("</header>")[0]
    assert 'data-sibling-indicator="none"' in header and "Telephony" in header
    assert "has a major outage" not in header
    services.set_component_status(
        component(phone_page, "Inbound calls"), "major_outage", actor=None
    )
    # The list of pages' versions is kept SIBLINGS_SECONDS: the header follows within that.
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=11)):
        header = client.get("/p/it/").content.decode().split("</header>")[0]
    assert 'data-sibling-indicator="critical"' in header
    assert "Telephony has a major outage." in header
    assert 'href="/p/telephony/">See the Telephony status page' in header
    # The telephony page does not announce itself.
    own = client.get("/p/telephony/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "has a major outage" not in own.split("</header>")[0]


def test_siblings_status_costs_no_query_per_sibling_on_a_cache_hit(
    it_page, phone_page, django_assert_num_queries
):
    from statuspage.views import sibling_pages
    from tests.factories import make_page

    make_page(slug="hosting", name="Hosting")
    sibling_pages(it_page)  # warms the list and the siblings' snapshots
    with django_assert_num_queries(0):  # all from the cache
        assert [s["slug"] for s in sibling_pages(it_page)] == ["hosting", "telephony"]
    from django.core.cache import cache

    cache.delete("public:siblings")
    with django_assert_num_queries(1):  # the list of pages; snapshots still cached
        sibling_pages(it_page)


def test_deleting_a_customer_is_one_audited_intent_and_ends_its_peoples_access(
    client, acme, admin_user_
):
    person = Client()
    sign_in(person, "dana@acme.example")
    client.force_login(admin_user_)
    response = client.post(
        "/admin/incidents/customer/",
        {"action": "delete_selected", "_selected_action": [acme.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Customer.objects.exists()
    assert list(
        AuditEntry.objects.filter(action="delete_customer").values_list("object_repr", flat=True)
    ) == ["Acme"]
    assert person.get("/my/").status_code == 302


def test_the_sign_in_mail_speaks_the_visitors_language_formally(client, acme):
    from django.core import mail

    client.cookies["statuspage_language"] = "nl"
    client.post("/my/sign-in/", {"email": "dana@acme.example"})
    (message,) = mail.outbox
    assert message.subject == "Uw aanmeldlink voor IT services"
    assert "Deze link werkt één keer, 15 minuten lang." in message.body
    html = message.alternatives[0][0]
    assert '<html lang="nl">' in html and "Aanmelden" in html
    page = client.get("/my/sign-in/sent/").content.decode()
    assert "Als dit adres bij een van onze klanten hoort" in page


def test_a_signed_in_customer_picks_its_own_services_and_sees_what_is_known_of_them(
    client, it_page, acme
):
    fibre = component(it_page, "Acme fibre Utrecht")
    services.open_incident(
        it_page, actor=None, name="Fibre cut in Utrecht", body="Digging.",
        components={fibre.pk: "major_outage"},
    )  # fmt: skip
    assert "Acme fibre Utrecht" not in client.get("/p/it/report/").content.decode()  # a guest
    sign_in(client, "dana@acme.example")
    pick = client.get("/p/it/report/").content.decode()
    assert "You are signed in for Acme" in pick and "Acme fibre Utrecht" in pick
    known = client.get(f"/p/it/report/known/?component={fibre.pk}").content.decode()
    assert "This problem is known" in known and "Fibre cut in Utrecht" in known
    assert "For your company" in known and 'href="/my/incidents/' in known
    form = client.get(f"/p/it/report/form/?component={fibre.pk}").content.decode()
    assert f'value="{fibre.pk}" id="component-{fibre.pk}" checked' in form


def test_the_demos_customer_signs_in_and_sees_its_own_line_which_the_public_never_sees(client):
    """`make run`'s demo data has a customer to try the view with (README's quickstart)."""
    import io

    from django.core.management import call_command

    call_command("load_demo", stdout=io.StringIO())
    line = Component.objects.get(name="Jansen: fibre line Utrecht")
    assert line.visibility == "customers"
    assert "Jansen" not in Client().get("/p/it/").content.decode()
    sign_in(client, "dana@bakkerij.example")
    mine = client.get("/my/").content.decode()
    assert "Jansen: fibre line Utrecht" in mine and "Bakkerij Jansen" in mine
    # Its shared services too, in the visitor's language (the telephony page is Dutch).
    assert "Internet access" in mine and "Inbound calls" in mine
    dutch = client.get("/my/", HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "Jansen: glasvezellijn Utrecht" in dutch and "Inkomende gesprekken" in dutch
