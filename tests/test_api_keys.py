"""API keys: hashed storage, the OAuth/Bearer header, revocation, expiry, scopes, page limits,
the admin (raw key shown once; engineers limited to their pages) and `create_api_key`."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from incidents.api.authentication import hash_key
from incidents.models import APIKey, Component, Incident

from .api_helpers import Api, make_api

pytestmark = pytest.mark.django_db


def test_a_key_is_stored_only_as_a_hash(it_page):
    api, key = make_api("monitoring")
    raw = api.headers["Authorization"].split()[1]
    assert len(raw) >= 40
    assert key.hashed_key == hash_key(raw) and raw not in key.hashed_key
    assert key.prefix == raw[: len(key.prefix)] and len(key.prefix) == 12
    assert str(key) == "API key monitoring"


@pytest.mark.parametrize("scheme", ["OAuth", "Bearer", "bearer"])
def test_both_header_schemes_work(it_page, scheme):
    _api, key = make_api()
    raw = _api.headers["Authorization"].split()[1]
    assert Api(raw, scheme=scheme).get("pages").status_code == 200


@pytest.mark.parametrize(
    "header",
    [None, "OAuth", "OAuth not-a-key", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 500],
)
def test_missing_or_unknown_keys_are_401_with_a_challenge(it_page, header):
    api = Api("unused")
    api.headers = {"Authorization": header} if header else {}
    response = api.get("pages")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'OAuth realm="api"'
    assert response.json()["code"] in {"not_authenticated", "invalid_api_key"}


def test_revoked_and_expired_keys_are_refused(it_page):
    api, key = make_api()
    assert api.get("pages").status_code == 200
    key.revoked = True
    key.save()
    assert api.get("pages").json()["code"] == "invalid_api_key"
    api2, key2 = make_api("short-lived", expires_at=timezone.now() + dt.timedelta(minutes=5))
    assert api2.get("pages").status_code == 200
    key2.expires_at = timezone.now() - dt.timedelta(seconds=1)
    key2.save()
    assert api2.get("pages").status_code == 401


def test_a_read_only_key_reads_but_gets_403_on_every_write(it_page):
    api, _ = make_api("dashboard", read_only=True)
    vpn = Component.objects.get(page=it_page, name="VPN")
    assert api.get("pages/it/components").status_code == 200
    for response in (
        api.post("pages/it/incidents", {"incident": {"name": "X"}}),
        api.patch(f"pages/it/components/{vpn.pk}", {"component": {"status": "major_outage"}}),
        api.delete(f"pages/it/components/{vpn.pk}"),
        api.patch("pages/it", {"page": {"name": "Hacked"}}),
    ):
        assert response.status_code == 403
        assert response.json()["code"] == "read_only_key"
    assert not Incident.objects.exists()
    vpn.refresh_from_db()
    assert vpn.status == "operational"


def test_a_key_for_page_a_does_not_see_page_b(it_page, phone_page):
    api, _ = make_api("it-only", pages=[it_page])
    inbound = Component.objects.get(page=phone_page, name="Inbound calls")
    assert [p["id"] for p in api.get("pages").json()] == ["it"]
    assert api.get("pages/it/components").status_code == 200
    for response in (
        api.get("pages/telephony"),
        api.get("pages/telephony/components"),
        api.get(f"pages/telephony/components/{inbound.pk}"),
        api.post("pages/telephony/incidents", {"incident": {"name": "X"}}),
        api.patch(
            f"pages/telephony/components/{inbound.pk}", {"component": {"status": "major_outage"}}
        ),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    inbound.refresh_from_db()
    assert inbound.status == "operational" and not Incident.objects.exists()


def test_a_key_without_pages_may_touch_every_page(it_page, phone_page):
    api, _ = make_api("everything")
    assert [p["id"] for p in api.get("pages").json()] == ["it", "telephony"]


def test_last_used_is_recorded(it_page):
    api, key = make_api()
    assert key.last_used_at is None
    api.get("pages")
    key.refresh_from_db()
    assert key.last_used_at is not None


# --- the management command -------------------------------------------------------------------


def test_create_api_key_prints_only_the_key(it_page, phone_page):
    out = io.StringIO()
    call_command(
        "create_api_key", "nagios", "--page", "it", "--read-only", "--expires-in-days", "30",
        stdout=out,
    )  # fmt: skip
    raw = out.getvalue().strip()
    assert "\n" not in raw and " " not in raw and len(raw) >= 40
    key = APIKey.objects.get(name="nagios")
    assert key.hashed_key == hash_key(raw)
    assert key.is_read_only and list(key.pages.all()) == [it_page]
    assert dt.timedelta(days=29) < key.expires_at - timezone.now() <= dt.timedelta(days=30)
    assert Api(raw).get("pages/it/components").status_code == 200
    assert Api(raw).get("pages/telephony/components").status_code == 404


def test_create_api_key_refuses_unknown_pages(it_page):
    with pytest.raises(CommandError, match="nope"):
        call_command("create_api_key", "x", "--page", "nope", stdout=io.StringIO())
    assert not APIKey.objects.exists()


# --- the admin --------------------------------------------------------------------------------

KEY_IN_MESSAGE = re.compile(r"<code class='api-key'>([^<]+)</code>")


def add_key_in_admin(client, **fields):
    data = {"name": "from-admin", "scope": "read_write", "expires_at_0": "", "expires_at_1": ""}
    data.update(fields)
    return client.post("/admin/incidents/apikey/add/", data, follow=True)


def test_the_admin_shows_a_new_key_once_and_stores_its_hash(client, admin_user_, it_page):
    client.force_login(admin_user_)
    response = add_key_in_admin(client, name="pager")
    assert response.status_code == 200
    match = KEY_IN_MESSAGE.search(response.content.decode())
    assert match, "the raw key is shown after creation"
    raw = match.group(1)
    key = APIKey.objects.get(name="pager")
    assert key.hashed_key == hash_key(raw) and key.created_by == admin_user_
    assert Api(raw).get("pages").status_code == 200
    page = client.get(f"/admin/incidents/apikey/{key.pk}/change/").content.decode()
    assert raw not in page  # never shown again


def test_revoking_in_the_admin_records_when(client, admin_user_, it_page):
    client.force_login(admin_user_)
    api, key = make_api("old")
    client.post(
        "/admin/incidents/apikey/",
        {"action": "revoke", "_selected_action": [key.pk]},
        follow=True,
    )
    key.refresh_from_db()
    assert key.revoked and key.revoked_at is not None
    assert api.get("pages").status_code == 401


def test_engineers_only_make_and_see_keys_for_their_pages(client, alice, it_page, phone_page):
    client.force_login(alice)
    everywhere, _ = make_api("everywhere")
    make_api("phones", pages=[phone_page])
    make_api("it-tool", pages=[it_page])
    listing = client.get("/admin/incidents/apikey/").content.decode()
    assert "it-tool" in listing and "phones" not in listing and "everywhere" not in listing

    response = add_key_in_admin(client, name="all-pages")  # no page chosen = every page
    assert not APIKey.objects.filter(name="all-pages").exists()
    assert "pages" in response.context["adminform"].form.errors
    response = add_key_in_admin(client, name="their-phones", pages=[phone_page.pk])
    assert not APIKey.objects.filter(name="their-phones").exists()
    assert "pages" in response.context["adminform"].form.errors

    response = add_key_in_admin(client, name="alice-bot", pages=[it_page.pk])
    key = APIKey.objects.get(name="alice-bot")
    assert list(key.pages.all()) == [it_page]
    assert KEY_IN_MESSAGE.search(response.content.decode())


def test_a_page_with_limited_keys_cannot_be_deleted_so_no_key_widens(it_page, phone_page):
    from django.db.models import ProtectedError

    api, key = make_api("phones-only", pages=[phone_page])
    with pytest.raises(ProtectedError):
        phone_page.delete()
    assert [p["id"] for p in api.get("pages").json()] == ["telephony"]
