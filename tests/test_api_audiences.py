"""Statuspage's audiences in the management API: page access groups (customers) and page access
users (their invited addresses), in Statuspage's shape, each write one audited intent."""

from __future__ import annotations

import pytest

from incidents.models import AuditEntry, Component, Customer, CustomerMember

from .api_helpers import make_api
from .factories import make_component

pytestmark = pytest.mark.django_db

GROUP_FIELDS = {
    "id", "page_id", "name", "page_access_user_ids", "external_identifier", "metric_ids",
    "component_ids", "created_at", "updated_at",
}  # fmt: skip
USER_FIELDS = {
    "id", "page_id", "email", "external_login", "page_access_group_id", "page_access_group_ids",
    "created_at", "updated_at",
}  # fmt: skip


@pytest.fixture
def api(it_page):
    return make_api("automation", pages=[it_page])[0]


def component(page, name) -> Component:
    return Component.objects.get(page=page, name=name)


def create_group(api, page, **fields):
    body = {"page_access_group": {"name": "Acme", **fields}}
    response = api.post(f"pages/{page.slug}/page_access_groups", body)
    assert response.status_code == 201, response.content
    return response.json()


def test_a_group_is_a_customer_using_components_of_the_page(api, it_page, captured_events):
    fibre = make_component(it_page, "Acme: fibre line Utrecht", visibility="customers")
    internet = component(it_page, "Internet access")
    with captured_events() as got:
        group = create_group(
            api, it_page, external_identifier="acme", component_ids=[fibre.public_id, internet.pk]
        )
    assert set(group) == GROUP_FIELDS
    assert group["page_id"] == "it" and group["name"] == "Acme"
    assert group["external_identifier"] == "acme"
    assert set(group["component_ids"]) == {fibre.public_id, internet.public_id}
    assert group["metric_ids"] == [] and group["page_access_user_ids"] == []
    customer = Customer.objects.get(public_id=group["id"])
    assert customer.page == it_page and customer.code == "acme"
    # Assignment changes nobody's visibility: the public component stays public.
    assert component(it_page, "Internet access").visibility == "public"
    assert got.types() == ["customer.updated"]
    [row] = AuditEntry.objects.filter(action="create_page_access_group")
    assert row.page == it_page and row.actor_name == "automation"


def test_a_code_is_made_from_the_name_when_none_is_given(api, it_page):
    first = create_group(api, it_page, name="Bakkerij Jansen B.V.")
    second = create_group(api, it_page, name="Bakkerij Jansen B.V.")
    assert first["external_identifier"] == "bakkerij-jansen-bv"
    assert second["external_identifier"] == "bakkerij-jansen-bv-2"


def test_bad_codes_duplicates_and_other_pages_components_are_refused(api, it_page, phone_page):
    create_group(api, it_page, external_identifier="acme")
    for fields, code, field in [
        ({"external_identifier": "Acme Corp!"}, "invalid", "external_identifier"),
        ({"external_identifier": "acme"}, "duplicate", "external_identifier"),
        (
            {"component_ids": [component(phone_page, "Inbound calls").public_id]},
            "unknown_component",
            "component_ids",
        ),
        ({"metric_ids": ["m1"]}, "invalid", "metric_ids"),
    ]:
        response = api.post(
            "pages/it/page_access_groups", {"page_access_group": {"name": "X", **fields}}
        )
        assert response.status_code in (400, 422), fields
        body = response.json()
        assert body["code"] == code, body
        assert field in (body.get("field"), *body.get("errors", {}).get("page_access_group", {}))
    assert Customer.objects.count() == 1


def test_a_group_is_read_listed_changed_and_deleted(
    api, it_page, django_assert_max_num_queries, captured_events
):
    fibre = make_component(it_page, "Acme: fibre line Utrecht", visibility="customers")
    vpn = component(it_page, "VPN")
    group = create_group(api, it_page, external_identifier="acme", component_ids=[fibre.pk])
    for n in range(5):
        create_group(api, it_page, name=f"Customer {n}", component_ids=[vpn.pk])
    # key, page, customers, their components, their people (+ the key's last-used savepoint)
    with django_assert_max_num_queries(8):
        listed = api.get("pages/it/page_access_groups")
    assert listed.status_code == 200 and len(listed.json()) == 6
    path = f"pages/it/page_access_groups/{group['id']}"
    assert api.get(path).json() == group
    with captured_events() as got:
        changed = api.patch(
            path, {"page_access_group": {"name": "Acme B.V.", "component_ids": [vpn.public_id]}}
        )
    assert changed.status_code == 200
    assert changed.json()["name"] == "Acme B.V."
    assert changed.json()["component_ids"] == [vpn.public_id]
    assert got.types() == ["customer.updated"]
    assert AuditEntry.objects.filter(action="change_page_access_group").count() == 1
    deleted = api.delete(path)
    assert deleted.status_code == 200 and deleted.json()["name"] == "Acme B.V."
    assert api.get(path).status_code == 404
    assert not Customer.objects.filter(code="acme").exists()


def test_a_groups_components_are_added_replaced_and_removed(api, it_page, phone_page):
    internet, vpn, mail = (
        component(it_page, n) for n in ("Internet access", "VPN", "Email hosting")
    )
    group = create_group(api, it_page, component_ids=[internet.public_id])
    # Its services on another page are kept when this page's change.
    inbound = component(phone_page, "Inbound calls")
    Customer.objects.get(public_id=group["id"]).components.add(inbound)
    path = f"pages/it/page_access_groups/{group['id']}/components"
    added = api.patch(path, {"component_ids": [vpn.public_id]})
    assert set(added.json()["component_ids"]) == {internet.public_id, vpn.public_id}
    assert set(api.put(path, {"component_ids": [mail.pk]}).json()["component_ids"]) == {
        internet.public_id,
        vpn.public_id,
        mail.public_id,
    }
    replaced = api.post(path, {"component_ids": [vpn.public_id]})
    assert replaced.json()["component_ids"] == [vpn.public_id]
    listed = api.get(path).json()
    assert [c["name"] for c in listed] == ["VPN"]
    removed = api.delete(path, raw=b'{"component_ids": []}')
    assert removed.status_code == 200
    one = api.delete(f"{path}/{vpn.public_id}")
    assert one.status_code == 200 and one.json()["component_ids"] == []
    assert list(Customer.objects.get(public_id=group["id"]).components.all()) == [inbound]


def test_users_are_a_customers_invited_addresses(api, it_page, captured_events):
    acme = create_group(api, it_page, name="Acme")
    globex = create_group(api, it_page, name="Globex")
    with captured_events() as got:
        response = api.post(
            "pages/it/page_access_users",
            {
                "page_access_user": {
                    "email": "Ops@Acme.example",
                    "page_access_group_ids": [acme["id"]],
                }
            },
        )
    assert response.status_code == 201, response.content
    user = response.json()
    assert set(user) == USER_FIELDS
    assert user["email"] == "ops@acme.example"
    assert user["page_access_group_id"] == acme["id"]
    assert user["page_access_group_ids"] == [acme["id"]]
    assert got.types() == ["customer.updated"]
    member = CustomerMember.objects.get(public_id=user["id"])
    assert member.invited and member.customer.public_id == acme["id"]
    assert api.get(f"pages/it/page_access_groups/{acme['id']}").json()["page_access_user_ids"] == [
        user["id"]
    ]
    # The audit trail keeps no address.
    row = AuditEntry.objects.get(action="create_page_access_user")
    assert "ops@acme.example" not in str(row.changes)

    path = f"pages/it/page_access_users/{user['id']}"
    assert api.get(path).json() == user
    assert [u["id"] for u in api.get("pages/it/page_access_users").json()] == [user["id"]]
    moved = api.patch(path, {"page_access_user": {"page_access_group_ids": [globex["id"]]}})
    assert moved.status_code == 200 and moved.json()["page_access_group_id"] == globex["id"]
    duplicate = api.post(
        "pages/it/page_access_users",
        {"page_access_user": {"email": "ops@acme.example", "page_access_group_id": acme["id"]}},
    )
    assert duplicate.status_code == 422 and duplicate.json()["code"] == "duplicate"
    no_group = api.post(
        "pages/it/page_access_users", {"page_access_user": {"email": "a@b.example"}}
    )
    assert no_group.status_code == 422 and no_group.json()["field"] == "page_access_group_ids"
    assert api.delete(path).status_code == 200
    assert api.get(path).status_code == 404


def test_removing_a_person_ends_their_sign_in(api, it_page):
    from django.contrib.auth import get_user_model

    group = create_group(api, it_page)
    user = api.post(
        "pages/it/page_access_users",
        {"page_access_user": {"email": "ops@acme.example", "page_access_group_ids": [group["id"]]}},
    ).json()
    person = get_user_model().objects.create_user("ops-acme")
    CustomerMember.objects.filter(public_id=user["id"]).update(user=person)
    assert api.delete(f"pages/it/page_access_users/{user['id']}").status_code == 200
    person.refresh_from_db()
    assert not person.is_active


def test_a_read_only_key_reads_but_never_writes_audiences(it_page):
    reader = make_api("reader", pages=[it_page], read_only=True)[0]
    assert reader.get("pages/it/page_access_groups").status_code == 200
    response = reader.post("pages/it/page_access_groups", {"page_access_group": {"name": "X"}})
    assert response.status_code == 403
    assert not Customer.objects.exists()


def test_the_component_object_says_and_takes_its_visibility(api, it_page):
    created = api.post(
        "pages/it/components",
        {"component": {"name": "Acme: fibre line Utrecht", "visibility": "customers"}},
    )
    assert created.status_code == 201 and created.json()["visibility"] == "customers"
    path = f"pages/it/components/{created.json()['id']}"
    assert api.get(path).json()["visibility"] == "customers"
    changed = api.patch(path, {"component": {"visibility": "public"}})
    assert changed.json()["visibility"] == "public"
    bad = api.patch(path, {"component": {"visibility": "secret"}})
    assert bad.status_code in (400, 422)


def test_a_subscriber_made_by_the_api_may_belong_to_a_group(api, it_page):
    from notifications.models import Subscriber

    fibre = make_component(it_page, "Acme: fibre line Utrecht", visibility="customers")
    group = create_group(api, it_page, component_ids=[fibre.public_id])
    response = api.post(
        "pages/it/subscribers",
        {
            "subscriber": {
                "email": "noc@acme.example",
                "component_ids": [fibre.public_id],
                "page_access_group_id": group["id"],
                "skip_confirmation_notification": True,
            }
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["page_access_group_id"] == group["id"]
    assert response.json()["components"] == [fibre.public_id]
    assert Subscriber.objects.get(email="noc@acme.example").customer.public_id == group["id"]
    # Without the group, a customer-only component is not one to follow.
    public = api.post(
        "pages/it/subscribers",
        {"subscriber": {"email": "pat@public.example", "component_ids": [fibre.public_id]}},
    )
    assert public.status_code == 422
    unknown = api.post(
        "pages/it/subscribers",
        {"subscriber": {"email": "x@y.example", "page_access_group_id": "zzzzzzzzzzzz"}},
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_group"


def test_an_engineer_says_in_the_admin_which_customer_a_subscriber_belongs_to(
    client, alice, it_page
):
    from django.urls import reverse

    from incidents.services.customers import create_access_group
    from notifications.models import Subscriber
    from notifications.services import subscribe

    acme = create_access_group(it_page, actor=None, name="Acme")
    subscriber = subscribe(it_page, email="noc@gmail.example", skip_confirmation=True)
    client.force_login(alice)
    url = reverse("admin:notifications_subscriber_change", args=[subscriber.pk])
    assert "Acme" in client.get(url).content.decode()
    response = client.post(url, {"language": "en", "customer": acme.pk, "components": []})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Subscriber.objects.get(pk=subscriber.pk).customer == acme
    row = AuditEntry.objects.filter(action="update_subscription").latest("id")
    assert row.changes["customer"] == "acme"
