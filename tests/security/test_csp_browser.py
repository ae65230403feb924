"""The Content-Security-Policy in Chromium: the public page (with live.js pushing through a
real uvicorn), the admin and its forms work under it, with no CSP violation in the console."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model

from incidents.models import Component, Page, ReportAlert
from tests.test_live_browser import set_status, write

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def watch(page) -> list[str]:
    """Console messages that report a Content-Security-Policy violation."""
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return violations


def test_public_page_and_live_updates_work_under_the_policy(live_server_with_redis, browser):
    from playwright.sync_api import expect

    server = live_server_with_redis
    page = browser.new_page()
    violations = watch(page)
    with page.expect_websocket() as socket:
        page.goto(f"{server.url}/p/it/")
    socket.value.wait_for_event("framereceived")  # live.js ran and got its hello
    vpn = Component.objects.get(page__slug="it", name="VPN")
    status = page.locator(f'[data-component="{vpn.public_id}"] .status')
    write(set_status, "VPN", "major_outage")
    expect(status).to_have_class(re.compile(r"status--major_outage"), timeout=5000)
    # The accent colour comes from the nonce'd inline style.
    accent = page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--accent')"
    )
    assert accent.strip() == Page.objects.get(slug="it").accent_colour
    for path in ("subscribe/", "report/", "history/", "handout/"):
        page.goto(f"{server.url}/p/it/{path}")
    assert violations == []


def test_the_admin_works_under_the_policy(live_server_with_redis, browser, it_page, settings):
    from django.conf import global_settings

    server = live_server_with_redis
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS  # the server checks it
    get_user_model().objects.create_superuser("root", "root@example.com", "root-pass-123")
    alert = ReportAlert.objects.create(
        page=it_page, created_at=it_page.created_at, last_report_at=it_page.created_at,
        report_count=5, company_count=3,
    )  # fmt: skip
    alert.components.set(Component.objects.filter(page=it_page)[:1])
    page = browser.new_page()
    violations = watch(page)
    page.goto(f"{server.url}/admin/login/")
    page.fill("#id_login", "root")
    page.fill("#id_password", "root-pass-123")
    page.get_by_role("button", name="Sign In", exact=True).click()
    page.wait_for_url(f"{server.url}/admin/")
    # The early-warning banner is styled by its nonce'd <style>.
    assert page.locator(".report-alerts").evaluate("e => getComputedStyle(e).borderTopWidth") == (
        "3px"
    )
    for path in (
        f"incidents/page/{it_page.pk}/change/",  # prepopulated slug, filter_horizontal widgets
        "incidents/incident/add/",
        f"incidents/incident/add/?page={it_page.pk}",  # the open form and its inline script
        "incidents/maintenance/add/",
        "incidents/problemreport/",
        "incidents/component/",
    ):
        response = page.goto(f"{server.url}/admin/{path}")
        assert response.status == 200, path
    assert violations == [], violations
