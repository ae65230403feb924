"""Passkeys (WebAuthn) in Chromium, with a virtual authenticator from the DevTools protocol
(`WebAuthn.addVirtualAuthenticator`): an engineer adds a passkey after typing their password
again, then signs in with the passkey alone."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.auth import get_user_model

from incidents.models import AuditEntry, PageRole, Role
from tests.fault_helpers import AppServer

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_an_engineer_adds_a_passkey_and_signs_in_with_it(browser, it_page, tmp_path, settings):
    from django.conf import global_settings

    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS  # the server checks it
    erin = get_user_model().objects.create_user("erin", password="erin-pass-123", is_staff=True)
    PageRole.objects.create(page=it_page, user=erin, role=Role.RESPONDER)
    server = AppServer(tmp_path, {})
    server.start()
    try:
        # WebAuthn wants a domain (not an IP address) as the relying party: localhost.
        base = f"http://localhost:{server.port}"
        context = browser.new_context()
        page = context.new_page()
        devtools = context.new_cdp_session(page)
        devtools.send("WebAuthn.enable")
        devtools.send(
            "WebAuthn.addVirtualAuthenticator",
            {
                "options": {
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": True,
                    "hasUserVerification": True,
                    "isUserVerified": True,
                    "automaticPresenceSimulation": True,
                }
            },
        )
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_login", "erin")
        page.fill("#id_password", "erin-pass-123")
        page.get_by_role("button", name="Sign In", exact=True).click()
        page.wait_for_url(f"{base}/admin/")

        page.goto(f"{base}/accounts/2fa/webauthn/add/")
        assert "/accounts/reauthenticate/" in page.url  # the password again first
        page.fill("#id_password", "erin-pass-123")
        page.get_by_role("button", name="Confirm").click()
        page.wait_for_url(f"{base}/accounts/2fa/webauthn/add/")
        page.fill("#id_name", "Laptop")
        page.check("#id_passwordless")
        page.click("#mfa_webauthn_add")
        page.wait_for_url(lambda url: "/webauthn/add/" not in url, timeout=20000)
        key = Authenticator.objects.get(user=erin, type=Authenticator.Type.WEBAUTHN)
        assert key.wrap().name == "Laptop" and key.wrap().is_passwordless

        context.clear_cookies()
        page.goto(f"{base}/accounts/login/?next=/admin/")
        page.get_by_role("button", name="Sign in with a passkey").click()
        page.wait_for_url(f"{base}/admin/", timeout=20000)
        entry = AuditEntry.objects.filter(action="sign_in", actor_user=erin).latest("id")
        assert entry.changes == {"methods": ["webauthn"]}
    finally:
        server.close()
