"""Two-factor, sessions and the audit trail of signing in, through HTTP: TOTP enrolment and
sign-in with codes computed here (pyotp), a recovery code that works once, REQUIRE_MFA keeping
a local staff user without a second factor off every admin page, the idle timeout, the list of
active sessions with "sign out of the others", and sign-ins / failed sign-ins as audit rows."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
import time_machine
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from incidents.models import AuditEntry

pytestmark = pytest.mark.django_db


def sign_in(client: Client, username: str, password: str):
    return client.post("/accounts/login/", {"login": username, "password": password})


def enrol_totp(client: Client, password: str) -> str:
    """Add an authenticator app for the signed-in user (who types their password again, as
    for every change to their sign-in); return its secret."""
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.headers["Location"].startswith("/accounts/reauthenticate/")
    client.post(page.headers["Location"], {"password": password})
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = page.context["form"].secret
    done = client.post("/accounts/2fa/totp/activate/", {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 302, done.content.decode()[:2000]
    return secret


def recovery_codes(user) -> list[str]:
    codes = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    return codes.wrap().get_unused_codes()


def test_totp_enrolment_then_signing_in_asks_for_a_code(alice):
    client = Client()
    assert sign_in(client, "alice", "alice-pass-123").headers["Location"] == "/admin/"
    secret = enrol_totp(client, "alice-pass-123")
    assert Authenticator.objects.filter(user=alice, type=Authenticator.Type.TOTP).exists()
    client.post("/accounts/logout/")

    with time_machine.travel(timezone.now() + dt.timedelta(seconds=60), tick=True):
        other = Client()
        first = sign_in(other, "alice", "alice-pass-123")
        assert first.headers["Location"] == "/accounts/2fa/authenticate/"
        assert other.get("/admin/").status_code == 302  # not signed in before the code
        wrong = other.post(
            "/accounts/2fa/authenticate/", {"code": "000000"}, REMOTE_ADDR="192.0.2.41"
        )
        assert wrong.status_code == 200 and "Incorrect code" in wrong.content.decode()
        # The wrong code is in the audit trail (the password was right), without the code.
        failed = AuditEntry.objects.get(action="second_factor_failed")
        assert (failed.actor_name, failed.changes) == (
            "alice",
            {"ip": "192.0.2.41", "kind": "totp"},
        )
        code = pyotp.TOTP(secret).now()
        done = other.post("/accounts/2fa/authenticate/", {"code": code})
        assert done.headers["Location"] == "/admin/"
        assert other.get("/admin/").status_code == 200
    entry = AuditEntry.objects.filter(action="sign_in", actor_user=alice).latest("id")
    assert entry.changes == {"methods": ["password", "totp"]}


def test_a_recovery_code_works_once(alice):
    client = Client()
    sign_in(client, "alice", "alice-pass-123")
    enrol_totp(client, "alice-pass-123")
    code = recovery_codes(alice)[0]
    client.post("/accounts/logout/")

    first = Client()
    sign_in(first, "alice", "alice-pass-123")
    assert first.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    assert first.get("/admin/").status_code == 200
    assert code not in recovery_codes(alice)

    again = Client()
    sign_in(again, "alice", "alice-pass-123")
    refused = again.post("/accounts/2fa/authenticate/", {"code": code})
    assert refused.status_code == 200 and "Incorrect code" in refused.content.decode()
    assert again.get("/admin/").status_code == 302


def admin_urls(obj_urls: list[str]) -> list[str]:
    """The admin's index, every app index, every registered model's list and add page."""
    urls = ["/admin/", "/admin/password_change/"]
    for model in admin.site._registry:
        opts = model._meta
        urls.append(reverse("admin:app_list", args=[opts.app_label]))
        urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
    return sorted(set(urls + obj_urls))


def test_require_mfa_keeps_a_local_staff_user_without_a_second_factor_off_every_admin_page(
    settings, alice, it_page
):
    settings.REQUIRE_MFA = True
    client = Client()
    assert sign_in(client, "alice", "alice-pass-123").status_code == 302
    urls = admin_urls([reverse("admin:incidents_page_change", args=[it_page.pk])])
    assert len(urls) > 30
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"] == "/accounts/2fa/", url
    # A POST is refused the same way (nothing is written).
    post = client.post(reverse("admin:incidents_page_change", args=[it_page.pk]), {"name": "X"})
    assert post.headers["Location"] == "/accounts/2fa/"
    it_page.refresh_from_db()
    assert it_page.name == "IT services"
    page = client.get("/accounts/2fa/", follow=False)
    assert page.status_code == 200 and "Add a second factor" in page.content.decode()

    enrol_totp(client, "alice-pass-123")
    assert client.get("/admin/").status_code == 200
    assert client.get(reverse("admin:incidents_page_change", args=[it_page.pk])).status_code == 200


def test_require_mfa_trusts_the_providers_mfa_for_sso_users_unless_told_otherwise(settings, alice):
    settings.REQUIRE_MFA = True
    alice.set_unusable_password()  # as an account made by an SSO sign-in
    alice.save(update_fields=["password"])
    client = Client()
    client.force_login(alice)
    assert client.get("/admin/").status_code == 200
    settings.REQUIRE_MFA_FOR_SSO = True
    assert client.get("/admin/").headers["Location"] == "/accounts/2fa/"


def test_an_idle_session_is_signed_out(settings, alice):
    settings.SESSION_IDLE_MINUTES = 30
    client = Client()
    sign_in(client, "alice", "alice-pass-123")
    assert client.get("/admin/").status_code == 200
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=20), tick=True):
        assert client.get("/admin/").status_code == 200  # active: the clock starts again
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=52), tick=True):
        response = client.get("/admin/incidents/incident/")
        assert response.headers["Location"] == (
            "/accounts/login/?next=%2Fadmin%2Fincidents%2Fincident%2F"
        )
        assert client.get("/admin/").status_code == 302  # the session is gone


def test_a_user_lists_their_sessions_and_signs_out_the_others(alice):
    desk, laptop = Client(HTTP_USER_AGENT="Desk"), Client(HTTP_USER_AGENT="Laptop")
    sign_in(desk, "alice", "alice-pass-123")
    sign_in(laptop, "alice", "alice-pass-123")
    listing = desk.get("/accounts/sessions/")
    assert listing.status_code == 200
    assert listing.context["session_count"] == 2
    text = listing.content.decode()
    assert "Desk" in text and "Laptop" in text
    assert desk.post("/accounts/sessions/").status_code == 302  # sign out the other sessions
    assert laptop.get("/admin/").status_code == 302
    assert desk.get("/admin/").status_code == 200
    assert desk.get("/accounts/sessions/").context["session_count"] == 1


def test_sign_ins_failed_sign_ins_and_sign_outs_are_in_the_audit_trail(alice):
    client = Client(REMOTE_ADDR="192.0.2.30")
    sign_in(client, "nobody", "guess")
    sign_in(client, "alice", "wrong")
    sign_in(client, "alice", "alice-pass-123")
    client.post("/accounts/logout/")
    rows = list(
        AuditEntry.objects.filter(object_type="user")
        .order_by("id")
        .values_list("action", "actor_name", "changes")
    )
    assert rows == [
        ("sign_in_failed", "nobody", {"ip": "192.0.2.30"}),
        ("sign_in_failed", "alice", {"ip": "192.0.2.30"}),
        ("sign_in", "alice", {"methods": ["password"]}),
        ("sign_out", "alice", {}),
    ]
    # Rows about no page are for superusers: an engineer's audit list does not show them.
    client.post("/accounts/login/", {"login": "alice", "password": "alice-pass-123"})
    listing = client.get(reverse("admin:incidents_auditentry_changelist"))
    assert listing.status_code == 200 and "sign_in_failed" not in listing.content.decode()
