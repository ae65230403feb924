"""Uptime from the component status history: exact per local day (DST too), cheap to read."""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo

import pytest
from django.utils import translation

from incidents import services
from incidents.models import Component, ComponentDailyStatus
from incidents.snapshot import build_page_snapshot
from incidents.snapshot_types import UptimeDay
from incidents.visibility import public_components

from .factories import make_component, make_page

pytestmark = pytest.mark.django_db

AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")


def local(text: str) -> dt.datetime:
    """An Amsterdam wall-clock time ('2026-11-02 10:00') as an aware datetime."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=AMS)


@pytest.fixture
def clock(time_machine):
    def move(text_or_moment):
        moment = local(text_or_moment) if isinstance(text_or_moment, str) else text_or_moment
        time_machine.move_to(moment, tick=False)
        return moment

    return move


@pytest.fixture
def page(db):
    return make_page(slug="ams", name="Amsterdam", time_zone="Europe/Amsterdam")


def bar(page, component, day: str) -> UptimeDay:
    uptime = build_page_snapshot(page).uptime.components[component.pk]
    return next(d for d in uptime.days if d.date == day)


def set_status(component, status):
    services.set_component_status(component, status, actor=services.System("test"))


def test_a_day_with_one_outage_hour_is_95_83_percent(page, clock):
    clock("2026-11-01 12:00")
    router = make_component(page, "Router")
    clock("2026-11-02 10:00")
    set_status(router, "major_outage")
    clock("2026-11-02 11:00")
    set_status(router, "operational")
    clock("2026-11-03 09:00")
    day = bar(page, router, "2026-11-02")
    assert day.seconds == {"operational": 82800, "major_outage": 3600}
    assert day.uptime == pytest.approx(100 * (1 - 3600 / 86400), abs=1e-4)  # 95.8333
    assert day.level == "major"
    # The day it was created counts from its creation (12 hours), and today up to now (9 hours).
    assert bar(page, router, "2026-11-01").seconds == {"operational": 43200}
    assert bar(page, router, "2026-11-03").seconds == {"operational": 9 * 3600}


def test_overlapping_incidents_count_their_union_once(page, clock):
    clock("2026-11-01 00:00")
    vpn = make_component(page, "VPN")
    clock("2026-11-02 10:00")
    first = services.open_incident(
        page, actor=None, name="VPN down", body="Down.", components={vpn.pk: "major_outage"}
    )
    clock("2026-11-02 10:30")
    second = services.open_incident(
        page,
        actor=None,
        name="VPN slow logins",
        body="Slow.",
        components={vpn.pk: "partial_outage"},
    )
    clock("2026-11-02 11:00")
    services.resolve_incident(first, actor=None)  # the second still holds it: partial outage
    clock("2026-11-02 12:00")
    services.resolve_incident(second, actor=None)
    clock("2026-11-04 08:00")
    day = bar(page, vpn, "2026-11-02")
    # 10:00–10:30 major, 10:30–12:00 partial: two hours down, not two and a half.
    assert day.seconds == {
        "operational": 86400 - 7200,
        "major_outage": 1800,
        "partial_outage": 5400,
    }
    assert day.uptime == pytest.approx(100 * (1 - 7200 / 86400), abs=1e-4)  # 91.6667
    assert [i.name for i in day.incidents] == ["VPN down", "VPN slow logins"]
    assert bar(page, vpn, "2026-11-03").incidents == ()
    assert bar(page, vpn, "2026-11-03").uptime == 100.0


def test_the_spring_dst_day_has_23_hours(page, clock):
    clock("2026-03-27 12:00")
    mail = make_component(page, "Mail")
    clock("2026-03-29 01:00")  # CET, 00:00 UTC
    set_status(mail, "major_outage")
    clock("2026-03-29 04:00")  # CEST, 02:00 UTC: two real hours later
    set_status(mail, "operational")
    clock("2026-03-31 12:00")
    day = bar(page, mail, "2026-03-29")
    assert sum(day.seconds.values()) == 23 * 3600
    assert day.seconds["major_outage"] == 7200
    assert day.uptime == pytest.approx(100 * (1 - 7200 / 82800), abs=1e-4)  # 91.3043
    assert sum(bar(page, mail, "2026-03-28").seconds.values()) == 24 * 3600


def test_the_autumn_dst_day_has_25_hours(page, clock):
    clock("2026-10-23 12:00")
    mail = make_component(page, "Mail")
    clock("2026-10-25 01:00")  # CEST, 23:00 UTC the day before
    set_status(mail, "major_outage")
    clock("2026-10-25 04:00")  # CET, 03:00 UTC: four real hours later
    set_status(mail, "operational")
    clock("2026-10-27 12:00")
    day = bar(page, mail, "2026-10-25")
    assert sum(day.seconds.values()) == 25 * 3600
    assert day.seconds["major_outage"] == 4 * 3600
    assert day.uptime == pytest.approx(84.0, abs=1e-4)  # 1 - 4/25


def test_an_outage_across_midnight_is_split_between_the_two_days(page, clock):
    clock("2026-11-01 00:00")
    dns = make_component(page, "DNS")
    clock("2026-11-02 23:00")
    set_status(dns, "partial_outage")
    clock("2026-11-03 02:00")
    set_status(dns, "operational")
    clock("2026-11-04 00:00")
    assert bar(page, dns, "2026-11-02").seconds["partial_outage"] == 3600
    assert bar(page, dns, "2026-11-03").seconds["partial_outage"] == 7200


@pytest.mark.parametrize(
    ("excludes", "expected"), [(True, 1 - 3600 / 79200), (False, 1 - 3600 / 86400)]
)
def test_maintenance_is_left_out_of_uptime_when_the_page_says_so(page, clock, excludes, expected):
    page.uptime_excludes_maintenance = excludes
    services.save_page(page, actor=None)
    clock("2026-11-01 00:00")
    db = make_component(page, "Database")
    clock("2026-11-02 02:00")
    set_status(db, "under_maintenance")
    clock("2026-11-02 04:00")
    set_status(db, "major_outage")
    clock("2026-11-02 05:00")
    set_status(db, "operational")
    clock("2026-11-03 00:00")
    day = bar(page, db, "2026-11-02")
    assert day.seconds["under_maintenance"] == 7200
    assert day.uptime == pytest.approx(100 * expected, abs=1e-4)


def test_days_before_the_component_existed_have_no_data_and_the_90_day_figure(page, clock):
    clock("2026-11-01 00:00")
    api = make_component(page, "API")
    clock("2026-11-05 12:00")
    set_status(api, "major_outage")
    clock("2026-11-05 18:00")
    set_status(api, "operational")
    clock("2026-11-10 00:00")
    uptime = build_page_snapshot(page).uptime.components[api.pk]
    assert len(uptime.days) == 90
    assert uptime.days[-1].date == "2026-11-10"
    before = [d for d in uptime.days if d.date < "2026-11-01"]
    assert len(before) == 80
    assert all(d.uptime is None and d.level == "nodata" for d in before)
    # 9 observed days (216 h, the last one at midnight is empty), 6 hours down.
    assert uptime.percent == pytest.approx(100 * (1 - 6 / 216), abs=1e-4)


def test_incremental_rows_match_a_rebuild_from_history(page, clock):
    clock("2026-10-20 08:00")
    web = make_component(page, "Web")
    for moment, status in [
        ("2026-10-22 09:15", "degraded_performance"),
        ("2026-10-25 02:30", "major_outage"),
        ("2026-10-25 02:45", "partial_outage"),
        ("2026-10-26 00:00", "operational"),
    ]:
        clock(moment)
        set_status(web, status)
    clock("2026-10-28 12:00")
    services.roll_up_uptime()  # the beat task: yesterday and today
    incremental = {
        r.day: (r.seconds, r.end_status)
        for r in ComponentDailyStatus.objects.filter(component=web, day__lte="2026-10-27")
    }
    services.roll_up_uptime(rebuild=True)
    rebuilt = {
        r.day: (r.seconds, r.end_status)
        for r in ComponentDailyStatus.objects.filter(component=web, day__lte="2026-10-27")
    }
    assert incremental == rebuilt
    assert len(rebuilt) == 8  # 20th to 27th: quiet days have rows too
    assert rebuilt[dt.date(2026, 10, 25)][0]["major_outage"] == 900


def test_the_beat_rollup_writes_rows_for_quiet_days(page, clock):
    clock("2026-11-01 10:00")
    web = make_component(page, "Web")
    clock("2026-11-03 10:00")
    assert not ComponentDailyStatus.objects.filter(component=web, day="2026-11-03").exists()
    from incidents.tasks import roll_up_uptime

    roll_up_uptime.delay()
    row = ComponentDailyStatus.objects.get(component=web, day="2026-11-03")
    assert row.seconds == {"operational": 36000} and row.end_status == "operational"
    assert bar(page, web, "2026-11-02").seconds == {"operational": 86400}


def test_the_public_page_with_uptime_bars_costs_a_fixed_number_of_queries(
    client, page, clock, django_assert_num_queries
):
    from django.core.cache import cache

    clock("2026-09-01 00:00")
    for n in range(3):
        make_component(page, f"Service {n}")
    clock("2026-11-20 12:00")
    first = page.components.first()
    services.open_incident(
        page, actor=None, name="Slow", body="x", components={first.pk: "partial_outage"}
    )
    clock("2026-11-25 12:00")
    # The page by its slug; the snapshot: components, groups, opening hours, recent incident and
    # maintenance ids, incidents, their updates, their components, uptime rows, incidents per
    # day; the list of other pages.
    cache.clear()
    with django_assert_num_queries(12):
        response = client.get("/p/ams/")
    assert response.content.decode().count('role="slider"') == 3  # one element per component
    for n in range(3, 30):
        component = make_component(page, f"Service {n}")
        services.open_incident(
            page, actor=None, name=f"Down {n}", body="x", components={component.pk: "major_outage"}
        )
    cache.clear()
    # The same, plus the version check that tells this process its copy of the page is stale.
    with django_assert_num_queries(13):
        response = client.get("/p/ams/")
    assert response.content.decode().count('role="slider"') == 30
    # Afterwards the snapshot (and the rendered page) come from the cache: the page lookup only.
    with django_assert_num_queries(1):
        client.get("/p/ams/")


def test_the_demo_it_page_weighs_at_most_60_kb_with_every_days_figures(client, db):
    """Issue 18: the demo page was 182 KB, 90 focusable bars per component. Now one slider per
    component whose data holds each day's text; the HTML stays under 60 KB."""
    import json
    import re
    from html import unescape

    from django.core.management import call_command

    call_command("load_demo", stdout=io.StringIO())
    html = client.get("/p/it/").content
    assert len(html) <= 60 * 1024, len(html)
    text = html.decode()
    sliders = re.findall(r'<div class="uptime-bars" role="slider" tabindex="0"[^>]*>', text)
    components = public_components(Component.objects.filter(page__slug="it")).count()
    assert len(sliders) == components > 0
    assert 'class="uptime-day' not in text and text.count('tabindex="0"') == components
    for tag in sliders:
        days = re.search(r'data-days="([^"]*)"', tag).group(1).split(",")
        texts = json.loads(unescape(re.search(r'data-texts="([^"]*)"', tag).group(1)))
        assert len(days) == 90 and all(0 <= int(d) < len(texts) for d in days)
        assert all("uptime" in t or t == "No data" for t in texts)
    # The demo's incidents are named on the days they happened.
    assert "Internet access disrupted in the Utrecht region" in unescape(text)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_one_tab_stop_per_component_and_arrow_keys_move_between_days(live_server, page):
    import os

    from playwright.sync_api import sync_playwright

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    web = make_component(page, "Web shop")
    make_component(page, "Mail")
    services.open_incident(
        page,
        actor=None,
        name="Checkout errors",
        body="Looking.",
        components={web.pk: "partial_outage"},
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            tab = browser.new_page(viewport={"width": 900, "height": 900})
            tab.goto(f"{live_server.url}/p/ams/")
            # The bars take a full-width row under the component's name and status.
            row, name = tab.locator("li.component").first, tab.locator("li.component .name").first
            slider = tab.locator(".uptime-bars").first
            bars = slider.bounding_box()
            assert bars["y"] >= name.bounding_box()["y"] + name.bounding_box()["height"]
            assert bars["width"] >= 0.95 * row.bounding_box()["width"]
            assert slider.get_attribute("aria-label") == "Uptime of Web shop per day, last 90 days"
            tip = slider.locator(".uptime-tip")
            assert not tip.is_visible()  # hidden until asked for
            slider.focus()
            assert tip.is_visible() and tip.bounding_box()["width"] > 100
            assert "Checkout errors" in tip.inner_text() and "partial outage" in tip.inner_text()
            value = slider.get_attribute("aria-valuetext")
            assert "Checkout errors" in value and "partial outage" in value
            assert slider.get_attribute("aria-valuenow") == "90"
            # Arrow keys move between days; what a screen reader hears follows.
            tab.keyboard.press("ArrowLeft")
            assert slider.get_attribute("aria-valuenow") == "89"
            yesterday = slider.get_attribute("aria-valuetext")
            assert "Checkout errors" not in yesterday and "No data" in yesterday
            assert "No data" in tip.inner_text()
            tab.keyboard.press("Home")
            assert slider.get_attribute("aria-valuenow") == "1"
            tab.keyboard.press("ArrowLeft")  # stays on the first day
            assert slider.get_attribute("aria-valuenow") == "1"
            tab.keyboard.press("End")
            assert slider.get_attribute("aria-valuenow") == "90"
            # One Tab leaves the 90 days for the next component's slider.
            tab.keyboard.press("Tab")
            focused = tab.evaluate("document.activeElement.getAttribute('aria-label')")
            assert focused == "Uptime of Mail per day, last 90 days"
            assert not tip.is_visible()
            # Hovering a bar shows that day's tip.
            box = slider.bounding_box()
            tab.mouse.move(box["x"] + 2, box["y"] + box["height"] / 2)
            assert tip.is_visible() and "No data" in tip.inner_text()
            tab.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2)
            assert "Checkout errors" in tip.inner_text()
        finally:
            browser.close()


def test_the_bars_speak_the_visitors_language(client, page, clock):
    clock("2026-11-01 00:00")
    make_component(page, "Webwinkel")
    clock("2026-11-03 12:00")
    with translation.override("en"):  # the middleware activates Dutch; do not leak it
        html = client.get("/p/ams/", HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert 'aria-label="Beschikbaarheid van Webwinkel per dag, afgelopen 90 dagen"' in html
    assert "100,00% beschikbaar in 90 dagen" in html
    # Today's figures are the slider's value text; every day's text is in data-texts.
    assert 'aria-valuetext="di 3 Nov 2026: 100,00% beschikbaar' in html
    assert "Geen gegevens" in html


@pytest.mark.django_db(transaction=True)
def test_the_beat_rollup_and_status_changes_running_at_once_agree_with_the_history(page):
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    web = make_component(page, "Web")
    errors = []
    statuses = ["degraded_performance", "partial_outage", "operational", "major_outage"] * 5

    def changes():
        try:
            for status in statuses:
                set_status(web, status)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    def beats():
        try:
            for _ in range(10):
                services.roll_up_uptime()
        except Exception as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=changes), threading.Thread(target=beats)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    row = ComponentDailyStatus.objects.get(component=web)
    assert row.end_status == "major_outage"
    before = (row.seconds, row.end_status)
    services.roll_up_uptime(rebuild=True)
    rebuilt = ComponentDailyStatus.objects.get(component=web)
    assert set(rebuilt.seconds) == set(before[0]) and rebuilt.end_status == before[1]


def test_changing_the_page_time_zone_recomputes_its_days(page, clock):
    clock("2026-11-01 12:00")
    web = make_component(page, "Web")
    clock("2026-11-02 00:30")  # 23:30 UTC on the 1st
    set_status(web, "major_outage")
    clock("2026-11-02 01:30")
    set_status(web, "operational")
    clock("2026-11-03 12:00")
    assert bar(page, web, "2026-11-02").seconds["major_outage"] == 3600
    page.time_zone = "UTC"
    services.save_page(page, actor=None)
    # In UTC the outage is 23:30–00:30: half an hour on each day.
    assert bar(page, web, "2026-11-01").seconds["major_outage"] == 1800
    assert bar(page, web, "2026-11-02").seconds["major_outage"] == 1800
    rows = ComponentDailyStatus.objects.filter(component=web)
    assert sorted(str(r.day) for r in rows) == ["2026-11-01", "2026-11-02", "2026-11-03"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_on_the_demo_page_the_support_desk_is_one_tab_per_component_away(
    live_server, browser, settings
):
    """Issue 18: a keyboard user needed 820 Tab presses to reach 'Problem not listed here?'
    past 90 focusable bars per component; now the uptime history is one stop per component."""
    from django.core.management import call_command

    settings.PUBLIC_FAST_PATH = True  # the second visit is answered from the kept rendering
    call_command("load_demo", stdout=io.StringIO())
    tab = browser.new_page(viewport={"width": 1200, "height": 900})
    for _ in range(2):
        tab.goto(f"{live_server.url}/p/it/")
    sliders = tab.locator(".uptime-bars").count()
    components = public_components(Component.objects.filter(page__slug="it")).count()
    assert sliders == components > 0
    presses, stops_in_history = 0, 0
    while presses < 200:
        tab.keyboard.press("Tab")
        presses += 1
        where = tab.evaluate(
            """() => {
                const el = document.activeElement;
                return {slider: el.classList.contains('uptime-bars'),
                        support: !!el.closest('section.support')};
            }"""
        )
        stops_in_history += where["slider"]
        if where["support"]:
            break
    assert stops_in_history == components  # one stop per component's 90 days
    assert presses <= components + 25, presses  # was 820
    # The screen reader hears each day: arrow keys change the slider's value text.
    slider = tab.locator(".uptime-bars").first
    slider.focus()
    today = slider.get_attribute("aria-valuetext")
    tab.keyboard.press("ArrowLeft")
    assert slider.get_attribute("aria-valuenow") == "89"
    assert slider.get_attribute("aria-valuetext") not in ("", today)
