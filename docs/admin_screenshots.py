"""Take the README's admin screenshots in Chromium at 1280 px from a running demo.

    make run PORT=8410 &          # demo data: an open incident on the IT page
    .venv/bin/python docs/admin_screenshots.py http://127.0.0.1:8410

Signs in with the login `make run` printed (var/admin-password.txt) and writes
docs/admin-board.png (the status board), docs/admin-open-incident.png (the open form from the
board's template link) and docs/admin-incident.png (the open incident's own page).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent


def main(base: str) -> None:
    password = (ROOT / "var" / "admin-password.txt").read_text().strip()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
        page.goto(f"{base}/accounts/login/?next=/admin/")
        page.fill("input[name=login]", "admin")
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/admin/")
        page.goto(f"{base}/admin/")  # without the "signed in" message
        page.screenshot(path=str(ROOT / "docs" / "admin-board.png"))  # the first screen
        incident = page.locator(".board-page").first.locator(".board-list a").first
        href = incident.get_attribute("href")
        page.locator(".board-templates a").first.click()
        page.wait_for_load_state()
        page.screenshot(path=str(ROOT / "docs" / "admin-open-incident.png"))
        page.goto(f"{base}{href}")
        page.screenshot(path=str(ROOT / "docs" / "admin-incident.png"))
        if not re.search(r"/incident/\d+/change/$", href or ""):
            sys.exit(f"expected an open incident on the board, found {href!r}")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
