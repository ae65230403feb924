"""Bilingual content (issue 14): engineers write a title, a message, a component's or group's name
in the page's language and, if they like, in the other one; every reader gets their language's
text and falls back to the original: the page, incident page, history, feeds, live push and
live.json, embeds, the phone line, subscribers' mails, the v1 API. The v2 JSON keeps the original
(Statuspage's shape)."""

from __future__ import annotations

import io
import json

import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from incidents import services
from incidents.models import Component, ComponentGroup, Incident, IncidentTemplate, Page
from incidents.services import ServiceError
from incidents.services.rules import default_body
from notifications.models import Subscriber

from .api_helpers import make_api
from .email_helpers import html_of, start_smtp, text_of

pytestmark = pytest.mark.django_db

NL = {"HTTP_ACCEPT_LANGUAGE": "nl-NL,nl;q=0.9"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"}


def component(page, name):
    return Component.objects.get(page=page, name=name)


@pytest.fixture
def translated(it_page):
    """An incident on the (English) IT page with a Dutch title, a first message in both
    languages and a second one only in English; VPN and its group named in Dutch too."""
    vpn = component(it_page, "VPN")
    services.update_component(vpn, actor=None, name_translations={"nl": "VPN-verbinding"})
    network = ComponentGroup.objects.get(page=it_page, name="Network")
    network.name_translations = {"nl": "Netwerk"}
    services.save_group(network, actor=None)
    incident = services.open_incident(
        it_page,
        actor=None,
        name="VPN drops",
        name_translations={"nl": "VPN valt weg"},
        body="We are looking into **dropped** connections.",
        body_translations={"nl": "Wij onderzoeken **verbroken** verbindingen."},
        components={vpn.pk: "partial_outage"},
    )
    services.post_update(incident, actor=None, status="identified", body="A switch failed.")
    return incident


def test_a_dutch_visitor_reads_the_translations_and_the_original_where_there_is_none(
    client, it_page, translated
):
    dutch = client.get("/p/it/", **NL).content.decode()
    assert 'lang="nl"' in dutch
    assert "VPN valt weg" in dutch and "VPN drops" not in dutch
    assert "VPN-verbinding" in dutch and "Netwerk" in dutch
    # The newest update has no Dutch text: the original, not nothing.
    assert "A switch failed." in dutch

    incident = client.get(f"/p/it/incidents/{translated.pk}/", **NL).content.decode()
    assert "VPN valt weg" in incident
    assert "Wij onderzoeken <strong>verbroken</strong> verbindingen." in incident
    assert "A switch failed." in incident
    assert "dropped" not in incident

    history = client.get("/p/it/history/", **NL).content.decode()
    assert "VPN valt weg" in history

    english = client.get("/p/it/", **EN).content.decode()
    assert "VPN drops" in english and "VPN valt weg" not in english
    assert "VPN-verbinding" not in english


def test_the_visitors_explicit_choice_beats_accept_language(client, it_page, translated):
    client.cookies["statuspage_language"] = "nl"
    assert "VPN valt weg" in client.get("/p/it/", **EN).content.decode()
    client.cookies["statuspage_language"] = "en"
    assert "VPN drops" in client.get("/p/it/", **NL).content.decode()


def test_the_dutch_page_is_dutch_and_english_visitors_get_the_english_text(client, phone_page):
    services.update_component(
        component(phone_page, "Inbound calls"),
        actor=None,
        name="Inkomende gesprekken",
        name_translations={"en": "Inbound calls"},
    )
    services.open_incident(
        phone_page,
        actor=None,
        name="Gesprekken vallen weg",
        name_translations={"en": "Calls are dropped"},
        body="Wij onderzoeken het probleem.",
        body_translations={"en": "We are investigating."},
    )
    first_visit = client.get("/p/telephony/").content.decode()  # the page's language
    assert "Gesprekken vallen weg" in first_visit and "Inkomende gesprekken" in first_visit
    english = client.get("/p/telephony/", **EN).content.decode()
    assert "Calls are dropped" in english and "Inbound calls" in english
    assert "Gesprekken vallen weg" not in english


def test_an_update_without_a_message_gets_the_default_text_in_every_language(it_page):
    incident = services.open_incident(it_page, actor=None, name="Slow mail")
    update = services.resolve_incident(incident, actor=None)
    first = incident.updates.order_by("id").first()
    assert first.body == default_body("en", "investigating")
    assert first.body_translations == {"nl": default_body("nl", "investigating")}
    assert first.body_translations["nl"] != first.body
    assert update.body == "This incident has been resolved."
    assert update.body_translations["nl"] != update.body
    # A message of the engineer's own gets no made-up translation.
    own = services.reopen_incident(incident, actor=None, body="It is back.")
    assert own.body_translations == {}


@pytest.mark.parametrize(
    ("translations", "code", "field"),
    [
        ({"nl": "Twee\nregels"}, "multiline", "name_translations.nl"),
        ({"nl": "a" * 201}, "too_long", "name_translations.nl"),
        ({"nl": "bidi \u202e"}, "bidi_control", "name_translations.nl"),
        ({"en": "The page's own language"}, "page_language", "name_translations.en"),
        ({"de": "Störung"}, "unknown_language", "name_translations.de"),
        (["nl", "Storing"], "invalid", "name_translations"),
    ],
)
def test_a_translated_title_is_checked_like_the_title(it_page, translations, code, field):
    with pytest.raises(ServiceError) as refused:
        services.open_incident(
            it_page, actor=None, name="Mail down", name_translations=translations
        )
    assert (refused.value.code, refused.value.field) == (code, field)
    assert not Incident.objects.exists()


def test_component_and_group_names_stay_one_line_in_every_language(it_page):
    with pytest.raises(ServiceError) as refused:
        services.create_component(
            it_page, actor=None, name="Printing", name_translations={"nl": "Af\r\ndrukken"}
        )
    assert refused.value.field == "name_translations.nl"
    group = ComponentGroup(page=it_page, name="Print", name_translations={"nl": "Af\ndruk"})
    with pytest.raises(ServiceError):
        services.save_group(group, actor=None)


def test_an_empty_translation_removes_it(it_page, translated):
    services.change_incident(translated, actor=None, name_translations={"nl": ""})
    translated.refresh_from_db()
    assert translated.name_translations == {}


def test_v2_json_keeps_the_original_in_statuspages_fields(client, it_page, translated):
    summary = client.get("/p/it/api/v2/summary.json", **NL).json()
    incident = summary["incidents"][0]
    assert incident["name"] == "VPN drops"
    assert incident["incident_updates"][-1]["body"].startswith("We are looking")
    assert "name_translations" not in incident
    vpn = next(c for c in summary["components"] if c["id"] == component(it_page, "VPN").public_id)
    assert vpn["name"] == "VPN"


def test_feeds_live_json_badge_and_embed_speak_the_visitors_language(client, it_page, translated):
    atom = client.get("/p/it/history.atom", **NL).content.decode()
    assert "VPN valt weg" in atom and "Wij onderzoeken" in atom
    assert "VPN drops" in client.get("/p/it/history.rss", **EN).content.decode()
    live = client.get("/p/it/live.json", **NL).json()
    assert "VPN valt weg" in json.dumps(live, ensure_ascii=False)
    assert "VPN valt weg" in client.get("/p/it/embed/", **NL).content.decode()


def test_the_phone_line_speaks_the_translation_of_its_language(client, it_page, translated):
    dutch = client.get("/p/it/phone.json?lang=nl").json()
    assert dutch["language"] == "nl"
    assert dutch["incidents"][0]["name"] == "VPN valt weg"
    english = client.get("/p/it/phone.json?lang=en").json()
    assert english["incidents"][0]["name"] == "VPN drops"


@pytest.fixture
def smtp(settings):
    controller, sink = start_smtp()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = False
    yield sink
    controller.stop()


def test_a_dutch_subscriber_gets_the_dutch_text_and_an_english_one_the_original(
    it_page, smtp, django_capture_on_commit_callbacks
):
    for email, language in (("joost@example.com", "nl"), ("dana@example.com", "en")):
        Subscriber.objects.create(
            page=it_page, email=email, language=language, confirmed_at=timezone.now()
        )
    vpn = component(it_page, "VPN")
    services.update_component(vpn, actor=None, name_translations={"nl": "VPN-verbinding"})
    with django_capture_on_commit_callbacks(execute=True):
        services.open_incident(
            it_page,
            actor=None,
            name="VPN drops",
            name_translations={"nl": "VPN valt weg"},
            body="We are looking into it.",
            body_translations={"nl": "Wij onderzoeken het."},
            components={vpn.pk: "partial_outage"},
        )
    mails = {m["To"]: m for m in smtp.parsed()}
    dutch, english = mails["joost@example.com"], mails["dana@example.com"]
    assert dutch["Subject"] == "[IT services] Nieuwe storing: VPN valt weg"
    assert "Wij onderzoeken het." in text_of(dutch) and "VPN-verbinding" in text_of(dutch)
    assert "Wij onderzoeken het." in html_of(dutch) and "looking" not in html_of(dutch)
    assert english["Subject"] == "[IT services] New incident: VPN drops"
    assert "We are looking into it." in text_of(english) and "VPN-verbinding" not in text_of(
        english
    )


def test_the_v1_api_takes_and_returns_translations(it_page):
    api = make_api("deploy-bot")[0]
    created = api.post(
        "pages/it/incidents",
        {
            "incident": {
                "name": "Mail slow",
                "name_translations": {"nl": "E-mail traag"},
                "body": "Looking.",
                "body_translations": {"nl": "Wij kijken."},
            }
        },
    )
    assert created.status_code == 201, created.content
    incident = created.json()
    assert incident["name_translations"] == {"nl": "E-mail traag"}
    assert incident["incident_updates"][0]["body_translations"] == {"nl": "Wij kijken."}

    patched = api.patch(
        f"pages/it/incidents/{incident['id']}",
        {
            "incident": {
                "status": "identified",
                "body": "Found it.",
                "body_translations": {"nl": "Gevonden."},
                "name_translations": {"nl": "E-mail erg traag"},
            }
        },
    )
    assert patched.status_code == 200, patched.content
    read = api.get(f"pages/it/incidents/{incident['id']}").json()
    assert read["name_translations"] == {"nl": "E-mail erg traag"}
    newest = read["incident_updates"][0]
    assert (newest["body"], newest["body_translations"]) == ("Found it.", {"nl": "Gevonden."})

    fixed = api.patch(
        f"pages/it/incidents/{incident['id']}/incident_updates/{newest['id']}",
        {"incident_update": {"body_translations": {"nl": "Oorzaak gevonden."}}},
    )
    assert fixed.status_code == 200, fixed.content
    assert fixed.json()["body"] == "Found it."
    assert fixed.json()["body_translations"] == {"nl": "Oorzaak gevonden."}

    component_ = api.post(
        "pages/it/components",
        {"component": {"name": "Printing", "name_translations": {"nl": "Afdrukken"}}},
    ).json()
    assert component_["name_translations"] == {"nl": "Afdrukken"}
    group = api.post(
        "pages/it/component-groups",
        {"component_group": {"name": "Office", "name_translations": {"nl": "Kantoor"}}},
    )
    assert group.status_code == 201, group.content
    assert group.json()["name_translations"] == {"nl": "Kantoor"}

    refused = api.post(
        "pages/it/incidents",
        {"incident": {"name": "Two", "name_translations": {"nl": "twee\nregels"}}},
    )
    assert refused.status_code == 422, refused.content
    assert "name_translations.nl" in refused.content.decode()


def test_the_admin_forms_take_the_second_language(admin_client, it_page):
    response = admin_client.post(
        reverse("admin:incidents_incident_add"),
        {
            "page": it_page.pk,
            "name": "Mail slow",
            "name_nl": "E-mail traag",
            "status": "investigating",
            "body": "Looking.",
            "body_nl": "Wij kijken.",
            "deliver_notifications": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    incident = Incident.objects.get(name="Mail slow")
    assert incident.name_translations == {"nl": "E-mail traag"}
    assert incident.updates.get().body_translations == {"nl": "Wij kijken."}

    vpn = component(it_page, "VPN")
    page = admin_client.get(reverse("admin:incidents_component_change", args=[vpn.pk]))
    content = page.content.decode()
    assert 'name="name_nl"' in content and 'name="name_en"' not in content


def test_a_template_gives_its_translations_with_its_texts(it_page):
    template = IncidentTemplate(
        page=it_page,
        name="Mail",
        title="Mail down",
        title_translations={"nl": "E-mail uit de lucht"},
        body="Mail is down.",
        body_translations={"nl": "E-mail werkt niet."},
    )
    services.save_incident_template(template, actor=None)
    incident = services.open_incident(it_page, actor=None, template=template)
    assert incident.name_translations == {"nl": "E-mail uit de lucht"}
    assert incident.updates.get().body_translations == {"nl": "E-mail werkt niet."}
    # A title of one's own does not take the template's translation of another title.
    other = services.open_incident(it_page, actor=None, name="Mail slow", template=template)
    assert other.name_translations == {}


def test_the_demo_telephony_page_is_dutch_with_english_translations(client):
    call_command("load_demo", "--reset", stdout=io.StringIO())
    page = Page.objects.get(slug="telephony")
    assert page.default_language == "nl"
    dutch = client.get("/p/telephony/").content.decode()
    assert "Inkomende gesprekken" in dutch and "Upgrade van het telefonieplatform" in dutch
    english = client.get("/p/telephony/", **EN).content.decode()
    assert "Inbound calls" in english and "Telephony platform upgrade" in english
    it_in_dutch = client.get("/p/it/", **NL).content.decode()
    assert "Internettoegang verstoord in de regio Utrecht" in it_in_dutch


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_live_push_gives_each_language_its_text(it_page, settings):
    from .test_live_consumer import connect, receive

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    clients = {}
    for language in ("en", "nl"):
        clients[language] = (await connect(f"/ws/pages/it/?lang={language}"))[0]
        assert (await receive(clients[language]))["type"] == "hello"

    def open_incident():
        vpn = component(it_page, "VPN")
        services.open_incident(
            it_page,
            actor=None,
            name="VPN drops",
            name_translations={"nl": "VPN valt weg"},
            body="Looking.",
            body_translations={"nl": "Wij kijken."},
            components={vpn.pk: "partial_outage"},
        )

    await database_sync_to_async(open_incident)()
    dutch, english = await receive(clients["nl"]), await receive(clients["en"])
    assert dutch["data"]["incident"]["name"] == "VPN valt weg"
    assert dutch["data"]["incident"]["latest_update"]["body"] == "Wij kijken."
    assert (
        "VPN valt weg" in dutch["html"]["incidents"]
        and "VPN drops" not in dutch["html"]["incidents"]
    )
    assert "VPN valt weg" in dutch["announce"]
    assert english["data"]["incident"]["name"] == "VPN drops"
    assert "VPN drops" in english["html"]["incidents"]
    for communicator in clients.values():
        await communicator.disconnect()


def test_a_change_of_translations_is_one_event_and_one_audit_row(it_page, captured_events):
    from incidents.models import AuditEntry

    incident = services.open_incident(it_page, actor=None, name="Mail slow", body="Looking.")
    update = incident.updates.get()
    rows = AuditEntry.objects.count()
    with captured_events() as got:
        services.update_incident(
            incident,
            actor=None,
            name_translations={"nl": "E-mail traag"},
            status="identified",
            body="Found.",
            body_translations={"nl": "Gevonden."},
        )
    assert got.types() == ["incident.updated"]
    assert AuditEntry.objects.count() == rows + 1
    entry = AuditEntry.objects.latest("id")
    assert entry.changes["name_translations"] == {"before": {}, "after": {"nl": "E-mail traag"}}
    with captured_events() as got:
        services.edit_update(update, actor=None, body_translations={"nl": "Wij kijken."})
    assert got.types() == ["incident_update.edited"]
    assert AuditEntry.objects.count() == rows + 2


def test_the_state_a_late_websocket_client_gets_is_in_its_language(it_page, translated):
    from notifications.live import current_state

    _version, dutch = current_state(it_page.pk, "it", "nl")
    _version, english = current_state(it_page.pk, "it", "en")
    assert "VPN valt weg" in json.loads(dutch)["html"]["incidents"]
    assert "VPN drops" in json.loads(english)["html"]["incidents"]
