"""The admin's front page is a status board (issue 14): what is open per page, components not
operational with one-click status changes (through the services, per-page roles), recent
reports and alerts, a big "Open incident", and the model list still reachable."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from incidents import services
from incidents.models import AuditEntry, Component, ComponentStatusChange, IncidentTemplate
from tests.factories import make_component, make_page

pytestmark = pytest.mark.django_db


def component(page, name):
    return Component.objects.get(page=page, name=name)


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def test_the_index_shows_open_incidents_maintenance_and_components_not_operational(
    alice_client, alice, it_page
):
    services.open_incident(
        it_page,
        actor=alice,
        name="VPN drops connections",
        body="Looking.",
        components={component(it_page, "VPN").pk: "major_outage"},
    )
    now = timezone.now()
    services.schedule_maintenance(
        it_page,
        actor=alice,
        name="Mail server upgrade",
        body="New version.",
        scheduled_for=now + dt.timedelta(hours=2),
        scheduled_until=now + dt.timedelta(hours=3),
        components=[component(it_page, "Email hosting")],
    )
    html = alice_client.get(reverse("admin:index")).content.decode()
    board = html[html.index('id="board-it"') : html.index('id="all-models"')]
    assert "VPN drops connections" in board
    assert "Mail server upgrade" in board
    assert "Components not operational" in board and "Major outage" in board
    assert f"{reverse('admin:incidents_incident_add')}?page={it_page.pk}" in board
    assert "Open incident" in board
    # The models are still listed below the board.
    assert "All models" in html and reverse("admin:incidents_component_changelist") in html


def test_a_board_shows_only_the_pages_the_engineer_has_a_role_on(client, bob, it_page):
    client.force_login(bob)
    html = client.get(reverse("admin:index")).content.decode()
    assert 'id="board-telephony"' in html
    assert 'id="board-it"' not in html


def test_a_viewer_sees_the_board_without_buttons(client, it_page):
    viewer = get_user_model().objects.create_user("vera", password="x", is_staff=True)
    it_page.engineers.add(viewer, through_defaults={"role": "viewer"})
    services.set_component_status(component(it_page, "VPN"), "partial_outage", actor=None)
    client.force_login(viewer)
    html = client.get(reverse("admin:index")).content.decode()
    assert 'id="board-it"' in html and "Partial outage" in html
    assert "set-status" not in html
    assert f"{reverse('admin:incidents_incident_add')}?page=" not in html


def test_one_click_sets_a_components_status_through_the_service(alice_client, it_page):
    vpn = component(it_page, "VPN")
    url = reverse("admin:incidents_component_set_status", args=[vpn.pk])
    assert url in alice_client.get(reverse("admin:index")).content.decode()
    audit_before = AuditEntry.objects.count()
    history_before = ComponentStatusChange.objects.filter(component=vpn).count()
    response = alice_client.post(url, {"status": "major_outage", "next": "/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    vpn.refresh_from_db()
    assert vpn.status == "major_outage"
    # One intent: one history row and one audit row.
    assert ComponentStatusChange.objects.filter(component=vpn).count() == history_before + 1
    assert AuditEntry.objects.count() == audit_before + 1
    assert AuditEntry.objects.latest("id").action == "set_component_status"


def test_one_click_status_emits_one_event(alice_client, it_page, captured_events):
    vpn = component(it_page, "VPN")
    url = reverse("admin:incidents_component_set_status", args=[vpn.pk])
    with captured_events() as got:
        alice_client.post(url, {"status": "degraded_performance"})
    assert got.types() == ["component.updated"]


def test_one_click_status_needs_post_csrf_and_a_role_on_the_page(
    client, alice, bob, it_page, phone_page
):
    vpn = component(it_page, "VPN")
    url = reverse("admin:incidents_component_set_status", args=[vpn.pk])
    client.force_login(alice)
    assert client.get(url).status_code == 405
    # Bob has no role on the IT page: not found, nothing changed.
    client.force_login(bob)
    assert client.post(url, {"status": "major_outage"}).status_code == 404
    # A viewer of the page is refused.
    viewer = get_user_model().objects.create_user("vera", password="x", is_staff=True)
    it_page.engineers.add(viewer, through_defaults={"role": "viewer"})
    client.force_login(viewer)
    assert client.post(url, {"status": "major_outage"}).status_code == 403
    vpn.refresh_from_db()
    assert vpn.status == "operational"
    # Without the CSRF token the POST is refused.
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert strict.post(url, {"status": "major_outage"}).status_code == 403
    vpn.refresh_from_db()
    assert vpn.status == "operational"


def test_one_click_refuses_an_unknown_status_with_a_message(alice_client, it_page):
    vpn = component(it_page, "VPN")
    url = reverse("admin:incidents_component_set_status", args=[vpn.pk])
    page = alice_client.post(url, {"status": "on_fire"}, follow=True).content.decode()
    assert "on_fire" in page or "status" in page.lower()
    vpn.refresh_from_db()
    assert vpn.status == "operational"


def test_one_click_does_not_redirect_to_another_site(alice_client, it_page):
    url = reverse("admin:incidents_component_set_status", args=[component(it_page, "VPN").pk])
    response = alice_client.post(url, {"status": "operational", "next": "https://evil.example"})
    assert response["Location"] == reverse("admin:index")


def test_templates_are_one_click_away_from_the_board(alice_client, it_page):
    template = IncidentTemplate.objects.create(
        page=it_page, name="VPN down", title="VPN unavailable", body="VPN is down.", impact="major"
    )
    template.components.set([component(it_page, "VPN")])
    html = alice_client.get(reverse("admin:index")).content.decode()
    link = f"{reverse('admin:incidents_incident_add')}?page={it_page.pk}&amp;template={template.pk}"
    assert link in html
    form = alice_client.get(link.replace("&amp;", "&")).content.decode()
    vpn = component(it_page, "VPN")
    # The template's component is ticked at the status its impact stands for.
    assert f'id="id_components_{vpn.pk}" checked' in form
    assert 'value="partial_outage" selected' in form
    assert 'value="VPN unavailable"' in form


def _board_queries(client, django_assert_max_num_queries, limit):
    with django_assert_max_num_queries(limit) as captured:
        assert client.get(reverse("admin:index")).status_code == 200
    return len(captured.captured_queries)


def test_the_board_reads_in_a_bounded_number_of_queries(
    client, admin_user_, alice, it_page, phone_page, django_assert_max_num_queries
):
    client.force_login(admin_user_)
    services.open_incident(
        it_page,
        actor=alice,
        name="One",
        body="x",
        components={component(it_page, "VPN").pk: "major_outage"},
    )
    small = _board_queries(client, django_assert_max_num_queries, 30)
    # Ten more pages, each with components and an open incident: not one query more.
    for n in range(10):
        page = make_page(slug=f"extra-{n}", name=f"Extra {n}")
        parts = [make_component(page, f"Part {i}") for i in range(5)]
        services.open_incident(
            page,
            actor=alice,
            name=f"Down {n}",
            body="x",
            components={parts[0].pk: "partial_outage"},
        )
    large = _board_queries(client, django_assert_max_num_queries, 30)
    # Queries: session and user, the pages' zone, the board's (pages, roles, components,
    # open items and their components, templates, reports and their components, report
    # alerts and their components, monitoring drafts, firing alerts), the early-warning
    # banner, and the model list's permission checks: no more for 12 pages than for 2.
    assert large <= small


def test_an_engineers_board_is_bounded_too(
    client, alice, it_page, phone_page, django_assert_max_num_queries
):
    """A staff user's board adds the role checks of the model list (once per role and
    request, not per model: 145 queries before), the same for 2 open incidents as for 12."""
    client.force_login(alice)
    vpn = component(it_page, "VPN")
    services.open_incident(
        it_page, actor=alice, name="A", body="x", components={vpn.pk: "major_outage"}
    )
    few = _board_queries(client, django_assert_max_num_queries, 30)
    for n in range(10):
        services.open_incident(it_page, actor=alice, name=f"More {n}", body="x")
        services.set_component_status(
            component(it_page, "Email hosting"), "partial_outage", actor=alice
        )
    many = _board_queries(client, django_assert_max_num_queries, 30)
    assert many <= few
