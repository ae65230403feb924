"""Single sign-on: a real OpenID Connect provider (node-oidc-provider, tests/oidc/) on
localhost signs an engineer in through the browser flow in Chromium. The account is made from
the verified address, is staff, gets the page roles its `groups` claim names, and the audit
trail has the sign-in."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from incidents.models import AuditEntry, PageRole
from tests.fault_helpers import AppServer

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PROVIDER_DIR = Path(__file__).resolve().parent / "oidc"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def oidc_provider_installed():
    """node-oidc-provider from the npm registry, as tests/oidc/package-lock.json pins it."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are needed for the OpenID Connect provider")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=PROVIDER_DIR, check=True, timeout=300
        )


@pytest.fixture
def sso(oidc_provider_installed, it_page, tmp_path):
    """The app (uvicorn) configured with one provider, "test", and the provider itself."""
    provider_port = free_port()
    issuer = f"http://127.0.0.1:{provider_port}"
    app = AppServer(
        tmp_path,
        {
            "OIDC_PROVIDERS": "test",
            "OIDC_TEST_LABEL": "Company sign-in",
            "OIDC_TEST_SERVER_URL": issuer,
            "OIDC_TEST_CLIENT_ID": "statuspage",
            "OIDC_TEST_CLIENT_SECRET": "statuspage-test-secret",
            "OIDC_TEST_SCOPES": "openid,email,profile,groups",
        },
    )
    app.start()
    log = (tmp_path / "provider.log").open("w")
    provider = subprocess.Popen(
        ["node", "provider.mjs"],
        cwd=PROVIDER_DIR,
        env={
            **os.environ,
            "PORT": str(provider_port),
            "CLIENT_ID": "statuspage",
            "CLIENT_SECRET": "statuspage-test-secret",
            "REDIRECT_URI": f"{app.url}/accounts/oidc/test/login/callback/",
            "OIDC_TEST_GROUPS": json.dumps({"dana": ["it:responder", "nowhere:viewer"]}),
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", timeout=2):
                break
        except OSError:
            if time.monotonic() > deadline or provider.poll() is not None:
                app.close()
                raise AssertionError((tmp_path / "provider.log").read_text()) from None
            time.sleep(0.2)
    yield app
    provider.kill()
    provider.wait(10)
    app.close()


def test_an_engineer_signs_in_through_the_openid_connect_provider(sso, browser, it_page):
    page = browser.new_page()
    page.goto(f"{sso.url}/admin/")
    assert "/accounts/login/" in page.url  # the admin sends strangers to the sign-in page
    page.get_by_role("link", name="Company sign-in").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()  # allauth: leave for the provider

    # The provider's own sign-in and consent pages.
    page.fill("input[name=login]", "dana")
    page.fill("input[name=password]", "any password: the test provider's form takes any")
    page.click("button[type=submit]")
    page.click("button[type=submit]")  # consent: "Continue"
    page.wait_for_url(f"{sso.url}/admin/", timeout=20000)
    assert "IT services" in page.content() or "Site administration" in page.content()

    dana = get_user_model().objects.get(email="dana@example.com")
    assert dana.is_staff and not dana.is_superuser and not dana.has_usable_password()
    # The claim's roles, on pages that exist.
    assert list(PageRole.objects.filter(user=dana).values_list("page__slug", "role")) == [
        ("it", "responder")
    ]
    entries = AuditEntry.objects.filter(actor_user=dana).order_by("id")
    assert [e.action for e in entries] == ["sign_in", "sso_roles"]
    assert entries[0].changes == {"methods": ["sso:test"]}
    assert entries[1].changes == {"roles": {"it": {"before": None, "after": "responder"}}}
    # As a responder she opens incidents on her page but sees no API keys.
    assert page.goto(f"{sso.url}/admin/incidents/incident/add/").status == 200
    assert page.goto(f"{sso.url}/admin/incidents/apikey/").status == 403
