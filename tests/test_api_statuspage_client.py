"""Statuspage's generated Python client (`atlassian-statuspage` from PyPI), unchanged, pointed at
our /api/v1 on a live server: create a component and an incident, post an update, resolve it."""

from __future__ import annotations

import threading
import time

import atlassian_statuspage as sp
import pytest

from incidents.api.authentication import create_api_key
from incidents.models import Component, Incident

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def statuspage(live_server, it_page):
    _key, raw = create_api_key("statuspage-client", pages=[it_page])
    config = sp.Configuration()
    config.host = f"{live_server.url}/api/v1"
    config.api_key["Authorization"] = raw
    config.api_key_prefix["Authorization"] = "OAuth"
    client = sp.ApiClient(config)
    yield client
    client.pool.close()
    client.pool.join()
    # Hang up the kept-alive connection and let the server's request thread finish inside this
    # test, while it may still use the test's database connection.
    client.rest_client.pool_manager.clear()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(
        "process_request_thread" in t.name for t in threading.enumerate()
    ):
        time.sleep(0.01)


def test_the_statuspage_client_runs_an_incident_from_start_to_finish(statuspage, it_page):
    components = sp.ComponentsApi(statuspage)
    incidents = sp.IncidentsApi(statuspage)
    pages = sp.PagesApi(statuspage)

    (page,) = pages.get_pages()
    assert page.id == "it" and page.name == "IT services"

    component = components.post_pages_page_id_components(
        sp.PostPagesPageIdComponents(
            component=sp.PostPagesPageIdComponentsComponent(
                name="Payments API", description="Card payments", status="operational"
            )
        ),
        "it",
    )
    assert isinstance(component, sp.Component)
    assert component.name == "Payments API" and component.page_id == "it"
    assert Component.objects.get(public_id=component.id).description == "Card payments"

    incident = incidents.post_pages_page_id_incidents(
        sp.PostPagesPageIdIncidents(
            incident=sp.PostPagesPageIdIncidentsIncident(
                name="Payments failing",
                status="investigating",
                body="Card payments fail for some customers.",
                component_ids=[component.id],
                components={component.id: "major_outage"},
            )
        ),
        "it",
    )
    assert isinstance(incident, sp.Incident)
    assert incident.status == "investigating" and incident.impact == "critical"
    assert [c.id for c in incident.components] == [component.id]
    assert incident.components[0].status == "major_outage"
    assert incident.incident_updates[0].body == "Card payments fail for some customers."

    updated = incidents.patch_pages_page_id_incidents_incident_id(
        sp.PatchPagesPageIdIncidents(
            incident=sp.PatchPagesPageIdIncidentsIncident(
                status="identified",
                body="A certificate expired; renewing it.",
                components={component.id: "partial_outage"},
            )
        ),
        "it",
        incident.id,
    )
    assert updated.status == "identified"
    assert [u.status for u in updated.incident_updates] == ["identified", "investigating"]

    fixed = sp.IncidentUpdatesApi(
        statuspage
    ).patch_pages_page_id_incidents_incident_id_incident_updates_incident_update_id(  # noqa: E501
        sp.PatchPagesPageIdIncidentsIncidentIdIncidentUpdates(
            incident_update=sp.PatchPagesPageIdIncidentsIncidentIdIncidentUpdatesIncidentUpdate(
                body="A certificate expired; we are renewing it."
            )
        ),
        "it",
        incident.id,
        updated.incident_updates[0].id,
    )
    assert fixed.body == "A certificate expired; we are renewing it."

    resolved = incidents.patch_pages_page_id_incidents_incident_id(
        sp.PatchPagesPageIdIncidents(
            incident=sp.PatchPagesPageIdIncidentsIncident(
                status="resolved", body="Payments work again."
            )
        ),
        "it",
        incident.id,
    )
    assert resolved.status == "resolved" and resolved.resolved_at is not None
    assert components.get_pages_page_id_components_component_id("it", component.id).status == (
        "operational"
    )
    assert incidents.get_pages_page_id_incidents_unresolved("it") == []
    stored = Incident.objects.get(public_id=incident.id)
    assert stored.status == "resolved" and stored.updates.count() == 3
    assert {u.author_name for u in stored.updates.all()} == {"API key statuspage-client"}


def test_the_client_sees_our_errors_as_api_exceptions(statuspage, it_page):
    incidents = sp.IncidentsApi(statuspage)
    with pytest.raises(sp.rest.ApiException) as refused:
        incidents.get_pages_page_id_incidents_incident_id("it", "999999")
    assert refused.value.status == 404
    with pytest.raises(sp.rest.ApiException) as other_page:
        incidents.get_pages_page_id_incidents("telephony")
    assert other_page.value.status == 404
