"""axe-core (bundled by axe-playwright-python, no CDN) in Debian's Chromium on the public pages:
the status page, an incident, the history, every step of the report flow and the handout.

With PLAYBOOK_SCREENSHOTS=docs set, it also saves the README's screenshots there.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import Component, SupportHours

from .factories import office_hours

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BLOCKING = {"serious", "critical"}

pytestmark = [pytest.mark.browser]


@pytest.fixture
def outage(transactional_db, it_page, phone_page):
    office_hours(it_page)
    it_page.after_hours_phone = "+31 20 999 0000"
    it_page.after_hours_audience = "contracts with 24x7 support"
    services.save_page(it_page, actor=None)
    internet = Component.objects.get(page=it_page, name="Internet access")
    vpn = Component.objects.get(page=it_page, name="VPN")
    incident = services.open_incident(
        it_page,
        actor=None,
        name="Internet down in Utrecht",
        body="A fibre cable was cut near Utrecht. **Engineers are on site.**",
        components={internet.pk: "major_outage"},
    )
    old = services.open_incident(
        it_page,
        actor=None,
        name="Slow VPN",
        body="Looking into it.",
        components={vpn.pk: "degraded_performance"},
    )
    services.resolve_incident(old, actor=None, body="Fixed.")
    start = timezone.now() + dt.timedelta(days=2)
    services.schedule_maintenance(
        it_page,
        actor=None,
        name="Router upgrade",
        body="New routers.",
        scheduled_for=start,
        scheduled_until=start + dt.timedelta(hours=2),
        components=[vpn.pk],
    )
    return {"incident": incident, "internet": internet, "vpn": vpn}


@pytest.fixture
def browser_page(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls around it are ours.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 900, "height": 900}, locale="en-GB")
        yield context.new_page()
        browser.close()


def blocking_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["target"][0] for node in v["nodes"][:3])
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]


def shoot(page, name: str) -> None:
    folder = os.environ.get("PLAYBOOK_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def test_public_pages_have_no_serious_accessibility_violations(
    live_server, outage, browser_page, it_page
):
    page = browser_page
    base = f"{live_server.url}/p/it/"
    internet = outage["internet"].pk
    found = {}

    def check(label: str, url: str | None = None) -> None:
        if url:
            response = page.goto(url)
            assert response.status < 500, f"{label}: HTTP {response.status}"
        found[label] = blocking_violations(page)

    check("status page", base)
    check("incident page", f"{base}incidents/{outage['incident'].pk}/")
    check("history", f"{base}history/")
    check("report step 1", f"{base}report/")
    page.check(f"#component-{internet}")
    page.click("button[type=submit]")
    assert "/report/known/" in page.url
    assert page.get_by_text("This problem is known and we are working on it.").is_visible()
    check("report step 2 (known)")
    shoot(page, "report-known.png")
    check("report step 2 (unknown)", f"{base}report/known/?component={outage['vpn'].pk}")
    page.goto(f"{base}report/form/?component={internet}")
    check("report step 3")
    page.click("button[type=submit]")  # everything but the component missing
    assert page.get_by_text("Please check your report").is_visible()
    check("report step 3 with errors")
    page.goto(f"{base}report/form/?component={internet}")
    page.check("#scope-company")
    page.check("#has_power-yes")
    page.check("#has_internet-no")
    page.fill("#id_since", "today 09:40")
    page.fill("#id_description", "No website loads; the router's light is red.")
    page.fill("#id_contact_name", "Dana de Vries")
    page.fill("#id_company", "Bakkerij Jansen")
    page.fill("#id_email", "dana@bakkerij.example")
    page.fill("#id_phone", "+31 6 1234 5678")
    shoot(page, "report-form.png")
    page.click("button[type=submit]")
    assert "/report/sent/" in page.url
    check("report sent")
    check("handout", f"{base}handout/")
    shoot(page, "handout.png")
    check("handout (Dutch)", f"{base}handout/?lang=nl")
    check("Dutch status page", f"{live_server.url}/p/telephony/")
    # The banner names the desk's state: check it open and closed, whatever the clock says.
    today = timezone.localtime(timezone.now(), it_page.tz).weekday()
    for state, weekdays in (("open", range(7)), ("closed", [(today + 3) % 7])):
        SupportHours.objects.filter(page=it_page).delete()
        office_hours(it_page, weekdays=weekdays, opens="00:00", closes="23:59")
        it_page.headline = f"Desk {state}"  # a new version, so the page is rendered anew
        services.save_page(it_page, actor=None)
        check(f"status page, desk {state}", base)
        assert page.locator(f".banner-todo .desk--{state}").count() == 1

    assert {label: v for label, v in found.items() if v} == {}
    assert len(found) == 14
    # The check itself sees a violation when there is one.
    page.set_content('<html lang="en"><body><main><input type="text"></main></body></html>')
    assert any(v.startswith("label (critical)") for v in blocking_violations(page))


def test_dark_mode_keeps_the_contrast_and_the_banner_leads_to_support(
    live_server, outage, browser_page
):
    """Issue 14: dark mode by `prefers-color-scheme`, times that say how long ago (kept fresh
    by ago.js), a favicon in the page's colour and the banner's jump link to support."""
    page = browser_page
    page.emulate_media(color_scheme="dark")
    page.goto(f"{live_server.url}/p/it/")
    background = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    assert background == "rgb(16, 21, 28)"
    assert blocking_violations(page) == []
    affected = page.locator(".banner-affected").inner_text()
    assert affected == "Affected: Internet access (major outage)"
    ago = page.locator(".ago").first
    ago.evaluate("element => { element.textContent = 'stale'; }")
    page.evaluate("document.dispatchEvent(new CustomEvent('statuspage:updated'))")
    assert ago.inner_text() in {"just now", "1 minute ago"}
    icon = page.locator('link[rel="icon"]').get_attribute("href")
    assert icon.startswith("data:image/svg+xml,") and "0b5cad" in icon.lower()
    page.click(".banner-todo a")
    assert page.url.endswith("#support-title")
    assert page.locator("#support-title").is_visible()
