"""Roles per page, table-driven: a viewer, a responder and a page manager of the IT page (none
of them in any group: their role alone decides), tried against every model of the admin — the
list, the add form, one of their page's objects and one of the telephony page's — and every
list action; API keys only for pages one manages; role changes and the upgrade's mapping."""

from __future__ import annotations

import importlib

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from incidents import services
from incidents.models import (
    APIKey,
    AuditEntry,
    Component,
    ComponentStatus,
    Incident,
    IncidentTemplate,
    PageRole,
    Role,
)
from incidents.services.base import PermissionRefused
from notifications.models import Subscriber

from .factories import make_group

pytestmark = pytest.mark.django_db

V, R, P = Role.VIEWER, Role.RESPONDER, Role.PAGE_MANAGER
ALL = {V, R, P}

# model: (roles that read it, roles that add, roles that change an object of their page)
TABLE: dict[str, tuple[set[str], set[str], set[str]]] = {
    "incidents.page": (ALL, set(), {P}),
    "incidents.componentgroup": (ALL, {P}, {P}),
    "incidents.component": (ALL, {P}, {R, P}),
    "incidents.incident": (ALL, {R, P}, {R, P}),
    "incidents.maintenance": (ALL, {R, P}, {R, P}),
    "incidents.incidenttemplate": (ALL, {P}, {P}),
    "incidents.componentstatuschange": (ALL, set(), set()),
    "incidents.problemreport": (ALL, set(), {R, P}),
    "incidents.reportalert": (ALL, set(), {R, P}),
    "incidents.alertrule": (ALL, {P}, {P}),
    "incidents.alertstate": (ALL, set(), set()),
    "incidents.alertdraft": (ALL, set(), set()),
    "incidents.auditentry": (ALL, set(), set()),
    "incidents.apikey": ({P}, {P}, {P}),
    # Customers span pages: page managers keep those of their pages (issue 16).
    "incidents.customer": ({P}, {P}, {P}),
    "notifications.subscriber": (ALL, {P}, {P}),
    "notifications.delivery": (ALL, set(), set()),
}
# Every other model in the admin (users, groups, the mirror, allauth's) is for superusers.

# model: {action: roles that may run it}
ACTIONS: dict[str, dict[str, set[str]]] = {
    "incidents.incident": {"resolve_selected": {R, P}, "delete_selected": {R, P}},
    "incidents.maintenance": {
        "delete_selected": {R, P},
        "start_selected": {R, P},
        "complete_selected": {R, P},
        "cancel_selected": {R, P},
    },
    "incidents.component": {f"set_{s}": {R, P} for s in ComponentStatus.values}
    | {"delete_selected": {P}},
    "incidents.componentgroup": {"delete_selected": {P}},
    "incidents.incidenttemplate": {"delete_selected": {P}},
    "incidents.problemreport": {
        "open_incident_action": {R, P},
        "link_to_incident_action": {R, P},
        "delete_selected": {R, P},
    },
    "incidents.reportalert": {"acknowledge": {R, P}, "delete_selected": {R, P}},
    "incidents.alertrule": {"delete_selected": {P}},
    "incidents.alertdraft": {"publish": {R, P}, "dismiss": {R, P}},
    "incidents.apikey": {"revoke": {P}, "delete_selected": {P}},
    "incidents.customer": {"rotate_wall": {P}, "revoke_wall": {P}, "delete_selected": {P}},
    "notifications.subscriber": {"export_csv": {P}, "renew_secret": {P}, "delete_selected": {P}},
}


def person(name: str, page, role: str):
    user = get_user_model().objects.create_user(name, password=f"{name}-pass-123", is_staff=True)
    if role:
        PageRole.objects.create(page=page, user=user, role=role)
    client = Client()
    client.force_login(user)
    return user, client


@pytest.fixture
def people(it_page):
    return {role: person(f"{role}-person", it_page, role) for role in (V, R, P)}


@pytest.fixture
def objects(it_page, phone_page, bob):
    """One object of each kind on the IT page and on the telephony page (bob's)."""
    made = {}
    for key, page in (("own", it_page), ("other", phone_page)):
        group = make_group(page, f"Group {key}")
        template = IncidentTemplate.objects.create(page=page, name="T", title="T", body="b")
        incident = services.open_incident(page, actor=None, name=f"Outage {key}", body="x")
        subscriber = Subscriber.objects.create(page=page, email=f"{key}@example.com")
        key_obj, _raw = services.create_api_key(actor=None, name=f"key {key}", pages=[page])
        made[key] = {
            "incidents.page": page,
            "incidents.componentgroup": group,
            "incidents.component": Component.objects.filter(page=page).first(),
            "incidents.incidenttemplate": template,
            "incidents.incident": incident,
            "notifications.subscriber": subscriber,
            "incidents.apikey": key_obj,
        }
    return made


def url(model: str, view: str, *args) -> str:
    app, name = model.split(".")
    return reverse(f"admin:{app}_{name}_{view}", args=args)


def registered() -> list[str]:
    return sorted(f"{m._meta.app_label}.{m._meta.model_name}" for m in admin.site._registry)


@pytest.mark.parametrize("role", [V, R, P])
def test_each_role_reads_and_adds_exactly_what_the_table_says(people, role):
    _user, client = people[role]
    assert set(TABLE) <= set(registered())
    for model in registered():
        read, add, _change = TABLE.get(model, (set(), set(), set()))
        listing = client.get(url(model, "changelist"))
        assert listing.status_code == (200 if role in read else 403), (model, "list")
        adding = client.get(url(model, "add"))
        assert adding.status_code == (200 if role in add else 403), (model, "add")
    index = client.get("/admin/").content.decode()
    assert ("API keys" in index) == (role == P)


@pytest.mark.parametrize("role", [V, R, P])
def test_each_role_changes_exactly_what_the_table_says_and_nothing_of_another_page(
    people, objects, role, rf
):
    user, client = people[role]
    request = rf.get("/admin/")
    request.user = user
    for model, own in objects["own"].items():
        read, _add, change = TABLE[model]
        response = client.get(url(model, "change", own.pk))
        assert response.status_code == (200 if role in read else 403), model
        model_admin = admin.site._registry[type(own)]
        assert model_admin.has_change_permission(request, own) == (role in change), model
        if role not in change:
            # A POST anyway: refused, nothing written.
            assert client.post(url(model, "change", own.pk), {}).status_code == 403, model
        other = objects["other"][model]
        for method in (client.get, client.post):
            response = method(url(model, "change", other.pk), {})
            # Another page's object does not exist for them: back to the index with a message
            # (Django's), or not found (the incident page), or refused; never a 500.
            assert response.status_code in (302, 403, 404), (model, method)
            if response.status_code == 302:
                assert response.headers["Location"] == "/admin/", model
        assert client.get(url(model, "delete", other.pk)).status_code in (302, 403, 404), model
    # Nothing of the telephony page changed.
    assert Incident.objects.get(pk=objects["other"]["incidents.incident"].pk).status != "resolved"


@pytest.mark.parametrize("role", [V, R, P])
def test_each_role_gets_exactly_the_actions_the_table_says(people, objects, role):
    _user, client = people[role]
    for model, actions in ACTIONS.items():
        if model not in TABLE:
            continue
        response = client.get(url(model, "changelist"))
        if response.status_code == 403:
            assert not any(role in roles for roles in actions.values()), model
            continue
        form = response.context["action_form"]
        choices = form.fields["action"].choices if form is not None else []
        offered = {name for name, _label in choices} - {""}
        expected = {name for name, roles in actions.items() if role in roles}
        assert offered == expected, (model, offered, expected)


def test_an_action_on_another_pages_rows_does_nothing(people, objects):
    _user, client = people[R]
    other = objects["other"]["incidents.incident"]
    response = client.post(
        url("incidents.incident", "changelist"),
        {"action": "resolve_selected", "_selected_action": [other.pk]},
    )
    assert response.status_code == 302
    other.refresh_from_db()
    assert other.status != "resolved"


def test_a_responder_sets_a_components_status_but_not_its_name(people, it_page):
    _user, client = people[R]
    component = Component.objects.filter(page=it_page).first()
    response = client.post(
        url("incidents.component", "change", component.pk),
        {"status": "major_outage", "name": "Renamed"},
        follow=True,
    )
    assert response.status_code == 200
    component.refresh_from_db()
    assert component.status == "major_outage" and component.name != "Renamed"


def test_api_keys_only_for_pages_one_manages(people, it_page, phone_page):
    manager, client = people[P]
    response = client.post(
        url("incidents.apikey", "add"),
        {"name": "Deploys", "scope": "read_write", "pages": [phone_page.pk]},
    )
    assert response.status_code == 200  # the form again, with why
    assert "Select a valid choice" in response.content.decode()
    assert not APIKey.objects.filter(name="Deploys").exists()
    response = client.post(
        url("incidents.apikey", "add"),
        {"name": "Deploys", "scope": "read_write", "pages": [it_page.pk]},
    )
    assert response.status_code == 302
    assert list(APIKey.objects.get(name="Deploys").pages.all()) == [it_page]
    # The service says the same to any caller (one rule, one place).
    responder, _client = people[R]
    with pytest.raises(PermissionRefused, match="page manager"):
        services.create_api_key(actor=responder, name="Mine", pages=[it_page])
    with pytest.raises(PermissionRefused, match="superuser"):
        services.create_api_key(actor=manager, name="Everything", pages=[])


def test_role_changes_are_one_audited_intent_by_a_superuser(admin_user_, people, it_page):
    viewer, _client = people[V]
    responder, _client = people[R]
    client = Client()
    client.force_login(admin_user_)
    change = client.get(url("incidents.page", "change", it_page.pk))
    assert change.status_code == 200
    services.save_page(
        it_page, actor=admin_user_, roles={viewer: R, people[P][0]: P}
    )  # the responder loses their role, the viewer becomes a responder
    entry = AuditEntry.objects.filter(action="save_page").latest("id")
    assert entry.changes["roles"] == {
        "viewer-person": {"before": "viewer", "after": "responder"},
        "responder-person": {"before": "responder", "after": None},
    }
    assert not PageRole.objects.filter(user=responder).exists()
    with pytest.raises(PermissionRefused):
        services.save_page(it_page, actor=people[P][0], roles={viewer: P})


def test_the_upgrade_maps_engineers_to_responders_and_host_managers_to_page_managers(
    it_page, phone_page
):
    from django.apps import apps
    from django.contrib.auth.models import Permission

    migration = importlib.import_module("incidents.migrations.0015_page_roles")
    User = get_user_model()
    plain = User.objects.create_user("plain", is_staff=True)
    hosts = User.objects.create_user("hosts", is_staff=True)
    hosts.user_permissions.add(Permission.objects.get(codename="manage_page_hosts"))
    for user in (plain, hosts):
        PageRole.objects.create(page=it_page, user=user, role=V)
    migration.map_engineers_to_roles(apps, None)
    assert dict(PageRole.objects.values_list("user__username", "role")) == {
        "plain": R,
        "hosts": P,
    }
