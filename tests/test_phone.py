"""The phone line's message, fetched as an IVR would and spoken by espeak-ng: none, minor and
major states in English and Dutch, the engineers' override, and where to forward a caller."""

from __future__ import annotations

import datetime as dt
import subprocess
import wave

import pytest
import time_machine

from incidents import services
from incidents.models import Component

from .factories import office_hours

pytestmark = pytest.mark.django_db

AMS = dt.timezone(dt.timedelta(hours=1))  # Amsterdam in winter
MONDAY_0940 = dt.datetime(2026, 3, 2, 9, 40, tzinfo=AMS)
MONDAY_1015 = dt.datetime(2026, 3, 2, 10, 15, tzinfo=AMS)
SATURDAY_1100 = dt.datetime(2026, 3, 7, 11, 0, tzinfo=AMS)


def component(page, name):
    return Component.objects.get(page=page, name=name)


def fetch(client, path, **params):
    response = client.get(path, params)
    assert response.status_code == 200
    return response


def open_at(page, moment, status, actor=None, name="Internet down", **fields):
    with time_machine.travel(moment, tick=False):
        return services.open_incident(
            page,
            actor=actor,
            name=name,
            body="See https://example.com/details for **details**.",
            components={component(page, "Internet access").pk: status},
            **fields,
        )


def speak(text: str, language: str, path) -> float:
    """Render text to a WAV file with espeak-ng, as the phone system would; return seconds."""
    subprocess.run(["espeak-ng", "-v", language, "-w", str(path), text], check=True, timeout=60)
    with wave.open(str(path), "rb") as audio:
        return audio.getnframes() / audio.getframerate()


def test_nothing_wrong_in_english_and_dutch(client, it_page, django_assert_max_num_queries):
    with time_machine.travel(MONDAY_1015, tick=False):
        # snapshot on a cold cache (9); the support hours come with it
        with django_assert_max_num_queries(9):
            message = fetch(client, "/p/it/phone.json").json()
        dutch = fetch(client, "/p/it/phone.json", lang="nl").json()
    assert message["major_outage"] is False and message["indicator"] == "none"
    assert message["language"] == "en"  # the page's language, not the caller's browser
    assert message["summary"] == "There are no known disruptions of our services at the moment."
    assert dutch["summary"] == "Er zijn op dit moment geen storingen bekend."


def test_a_minor_disruption_is_spoken_with_its_time_in_words(client, it_page):
    open_at(it_page, MONDAY_0940, "degraded_performance")
    with time_machine.travel(MONDAY_1015, tick=False):
        english = fetch(client, "/p/it/phone.json").json()
        dutch = fetch(client, "/p/it/phone.json", lang="nl").json()
    assert english["major_outage"] is False
    assert english["summary"] == (
        "We are aware of a disruption of Internet access since nine forty in the morning. "
        "Our engineers are working on it."
    )
    assert dutch["summary"] == (
        "Er is sinds negen uur veertig een storing in Internet access. Onze technici werken eraan."
    )
    for summary in (english["summary"], dutch["summary"]):
        assert "http" not in summary and "*" not in summary and ":" not in summary


def test_a_major_outage_ends_with_the_request_to_hang_up(client, it_page, phone_page):
    open_at(it_page, MONDAY_0940, "major_outage")
    with time_machine.travel(MONDAY_1015, tick=False):
        english = fetch(client, "/p/it/phone.json").json()
        dutch = fetch(client, "/p/it/phone.json", lang="nl").json()
    assert english["major_outage"] is True
    assert english["summary"].endswith(
        "You can hang up now: we are already working on it. "
        "Calling again keeps our engineers from the fix."
    )
    assert dutch["summary"].endswith(
        "U kunt nu ophangen: we werken er al aan. "
        "Opnieuw bellen houdt onze technici van de oplossing af."
    )


def test_the_most_severe_incident_is_spoken_first_whatever_the_count(client, it_page):
    """Issue 14: with five open incidents the critical one, opened first, was cut off."""
    vpn = component(it_page, "VPN")
    with time_machine.travel(MONDAY_0940, tick=False):
        services.open_incident(
            it_page,
            actor=None,
            name="VPN down",
            body="Down.",
            impact="critical",
            components={vpn.pk: "major_outage"},
        )
    for minute, name in enumerate(["Slow mail", "Slow web", "Slow print", "Slow wifi", "Slow TV"]):
        moment = MONDAY_0940 + dt.timedelta(minutes=minute + 1)
        open_at(it_page, moment, "degraded_performance", name=name)
    with time_machine.travel(MONDAY_1015, tick=False):
        message = fetch(client, "/p/it/phone.json").json()
    assert message["summary"].startswith(
        "We are aware of a disruption of VPN since nine forty in the morning."
    )
    assert "There are three more disruptions." in message["summary"]
    # Among equals, the newest first.
    assert [i["name"] for i in message["incidents"]] == [
        "VPN down",
        "Slow TV",
        "Slow wifi",
        "Slow print",
        "Slow web",
        "Slow mail",
    ]


def test_a_dutch_page_speaks_dutch_by_default(client, phone_page):
    with time_machine.travel(MONDAY_1015, tick=False):
        message = fetch(client, "/p/telephony/phone.json").json()
    assert message["language"] == "nl"
    assert message["summary"] == "Er zijn op dit moment geen storingen bekend."


def test_the_engineers_override_replaces_the_generated_sentence(client, it_page, alice):
    incident = open_at(it_page, MONDAY_0940, "major_outage", actor=alice)
    services.change_incident(
        incident,
        actor=alice,
        phone_message="Internet in Utrecht is down. A cable was cut; see www.example.com.",
    )
    with time_machine.travel(MONDAY_1015, tick=False):
        message = fetch(client, "/p/it/phone.json").json()
    assert message["summary"].startswith(
        "Internet in Utrecht is down. A cable was cut; see. You can hang up"
    )
    assert "www." not in message["summary"]
    assert message["incidents"][0]["message"].startswith("Internet in Utrecht is down.")


def test_forwarding_follows_the_opening_hours(client, it_page):
    office_hours(it_page)  # Monday–Friday 08:00–17:30
    it_page.after_hours_phone = "+31 20 999 0000"
    it_page.after_hours_audience = "contracts with 24x7 support"
    services.save_page(it_page, actor=None)
    with time_machine.travel(MONDAY_1015, tick=False):
        open_desk = fetch(client, "/p/it/phone.json").json()["desk"]
    with time_machine.travel(SATURDAY_1100, tick=False):
        closed = fetch(client, "/p/it/phone.json").json()["desk"]
        dutch = fetch(client, "/p/it/phone.json", lang="nl").json()["desk"]
    assert open_desk["open"] and open_desk["line"] == "office"
    assert open_desk["forward_to"] == "+31 20 123 4567"
    assert open_desk["message"] == "Our support desk is open until five thirty in the afternoon."
    assert closed["office_open"] is False
    assert closed["line"] == "after_hours" and closed["forward_to"] == "+31 20 999 0000"
    assert closed["message"] == (
        "Our support desk is closed. It opens again on Monday at eight o'clock in the morning. "
        "Outside office hours, call your outage number with your PIN."
    )
    assert dutch["message"].startswith(
        "Onze servicedesk is gesloten. We zijn weer open op maandag om acht uur."
    )


def test_the_plain_text_variant_for_simple_phone_systems(client, it_page):
    office_hours(it_page)
    open_at(it_page, MONDAY_0940, "major_outage")
    with time_machine.travel(MONDAY_1015, tick=False):
        response = fetch(client, "/p/it/phone.txt")
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["X-Major-Outage"] == "yes"
    assert response["X-Desk-Open"] == "yes" and response["X-Forward-To"] == "+31 20 123 4567"
    assert response.content.decode().startswith("We are aware of a disruption of Internet access")


def test_an_incident_from_yesterday_says_so(client, it_page):
    open_at(it_page, dt.datetime(2026, 3, 1, 22, 5, tzinfo=AMS), "partial_outage")
    with time_machine.travel(MONDAY_1015, tick=False):
        english = fetch(client, "/p/it/phone.json").json()["summary"]
        dutch = fetch(client, "/p/it/phone.json", lang="nl").json()["summary"]
    assert "since yesterday at ten oh five in the evening" in english
    assert "sinds gisteren om tweeëntwintig uur vijf" in dutch


@pytest.mark.slow
@pytest.mark.needs("espeak-ng")
@pytest.mark.parametrize("language", ["en", "nl"])
def test_the_summary_speaks_through_espeak_in_every_state(
    client, it_page, alice, tmp_path, language
):
    durations = {}
    for state, status in (
        ("none", None),
        ("minor", "degraded_performance"),
        ("major", "major_outage"),
    ):
        if status:
            incident = open_at(it_page, MONDAY_0940, status, actor=alice)
        with time_machine.travel(MONDAY_1015, tick=False):
            summary = fetch(client, "/p/it/phone.txt", lang=language).content.decode()
        wav = tmp_path / f"{state}-{language}.wav"
        durations[state] = speak(summary, language, wav)
        assert wav.stat().st_size > 20_000
        if status:
            services.resolve_incident(incident, actor=alice, body="Fixed.")
    # Real speech, and more of it when there is more to say.
    assert durations["none"] > 1.5
    assert durations["minor"] > durations["none"] + 1
    assert durations["major"] > durations["minor"] + 2
