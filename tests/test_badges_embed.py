"""The page elsewhere: badges that parse and name the status, the embeddable page (the only
framable one, for the sites the page names) and widget.js on another origin in Chromium."""

from __future__ import annotations

import http.server
import threading
import xml.etree.ElementTree as ET

import pytest

from incidents import services
from incidents.models import Component

SVG = "{http://www.w3.org/2000/svg}"
CHROMIUM = "/usr/bin/chromium"


def badge_texts(content: bytes) -> tuple[str, list[str]]:
    root = ET.fromstring(content)
    assert root.tag == f"{SVG}svg"
    title = root.find(f"{SVG}title").text
    return title, [t.text for t in root.iter(f"{SVG}text")]


@pytest.mark.django_db
def test_the_page_badge_names_the_status_and_is_cacheable(client, it_page, alice):
    response = client.get("/p/it/badge.svg")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    assert "max-age" in response["Cache-Control"]
    title, texts = badge_texts(response.content)
    assert title == "IT services: All Systems Operational"
    assert texts == ["IT services", "All Systems Operational"]
    again = client.get("/p/it/badge.svg", headers={"If-None-Match": response["ETag"]})
    assert again.status_code == 304

    services.set_component_status(Component.objects.get(name="VPN"), "major_outage", actor=alice)
    changed = client.get("/p/it/badge.svg", headers={"If-None-Match": response["ETag"]})
    assert changed.status_code == 200
    assert badge_texts(changed.content)[0] == "IT services: Major System Outage"


@pytest.mark.django_db
def test_a_component_badge_names_its_status_in_the_visitors_language(client, it_page, alice):
    vpn = Component.objects.get(name="VPN")
    services.set_component_status(vpn, "major_outage", actor=alice)
    response = client.get(f"/p/it/components/{vpn.pk}/badge.svg")
    assert badge_texts(response.content)[0] == "VPN: Major outage"
    dutch = client.get(f"/p/it/components/{vpn.pk}/badge.svg", headers={"Accept-Language": "nl"})
    assert badge_texts(dutch.content)[0] == "VPN: Grote storing"
    assert client.get("/p/it/components/999999/badge.svg").status_code == 404


@pytest.mark.django_db
def test_hidden_components_have_no_badge(client, it_page, alice):
    vpn = Component.objects.get(name="VPN")
    services.update_component(vpn, actor=alice, is_visible=False)
    assert client.get(f"/p/it/components/{vpn.pk}/badge.svg").status_code == 404


@pytest.mark.django_db
def test_only_the_embed_may_be_framed_and_only_by_the_pages_sites(client, it_page, alice):
    assert client.get("/p/it/")["X-Frame-Options"] == "DENY"
    response = client.get("/p/it/embed/")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert response["Content-Security-Policy"] == "frame-ancestors *"
    it_page.embed_frame_ancestors = "https://intranet.example.com  https://*.example.org"
    services.save_page(it_page, actor=alice)
    response = client.get("/p/it/embed/")
    assert response["Content-Security-Policy"] == (
        "frame-ancestors https://intranet.example.com https://*.example.org"
    )
    assert b"All Systems Operational" in response.content


@pytest.mark.django_db
def test_frame_ancestors_accepts_only_origins(it_page):
    from django.core.exceptions import ValidationError

    it_page.embed_frame_ancestors = "https://ok.example.com; script-src *"
    with pytest.raises(ValidationError):
        it_page.full_clean()


@pytest.mark.django_db
def test_the_embed_lists_open_incidents_and_broken_components(client, it_page, alice):
    vpn = Component.objects.get(name="VPN")
    services.open_incident(
        it_page, actor=alice, name="VPN down", body="Looking.", components={vpn.pk: "major_outage"}
    )
    content = client.get("/p/it/embed/").content.decode()
    assert "VPN down" in content and "VPN" in content and "Major System Outage" in content


class OtherOrigin:
    """An intranet page on another origin (localhost vs 127.0.0.1, another port)."""

    def __init__(self, script_url: str):
        html = (
            '<!doctype html><html lang="en"><head><title>Intranet</title></head><body>'
            f'<h1>Intranet</h1><script src="{script_url}" async></script></body></html>'
        ).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(html)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("localhost", 0), Handler)
        self.url = f"http://localhost:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_widget_shows_a_notice_on_another_origin_while_something_is_down(
    live_server, it_page, alice, monkeypatch, settings
):
    from playwright.sync_api import expect, sync_playwright

    settings.WIDGET_POLL_SECONDS = 1
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    intranet = OtherOrigin(f"{live_server.url}/p/it/widget.js")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page()
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(intranet.url)
            page.wait_for_timeout(1500)
            notice = page.locator("[data-statuspage-widget]").get_by_role("status")
            assert notice.count() == 0  # all operational: nothing shown

            vpn = Component.objects.get(name="VPN")
            services.set_component_status(vpn, "major_outage", actor=alice)
            expect(notice).to_contain_text("IT services: Major System Outage", timeout=10000)
            expect(notice).to_contain_text("VPN")
            link = notice.get_by_role("link")
            assert link.get_attribute("href") == f"{live_server.url}/p/it/"

            notice.get_by_role("button", name="Hide this notice").click()
            expect(page.locator("[data-statuspage-widget]")).to_have_count(0)
            assert errors == []
            browser.close()
    finally:
        intranet.close()


@pytest.mark.django_db
def test_badges_embed_and_widget_read_the_cached_snapshot(
    client, it_page, django_assert_max_num_queries
):
    client.get("/p/it/embed/")  # builds and caches the snapshot
    vpn = Component.objects.get(name="VPN")
    # One query each: the page lookup; the snapshot comes from the cache.
    for path in ("badge.svg", f"components/{vpn.pk}/badge.svg", "embed/", "widget.js"):
        with django_assert_max_num_queries(1):
            assert client.get(f"/p/it/{path}").status_code == 200
