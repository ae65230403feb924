"""Property-based run of the management API from its own OpenAPI schema (schemathesis): no
request, valid or not, may produce a 5xx, and every response must match the schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from incidents.api.authentication import create_api_key

pytestmark = pytest.mark.django_db

# Examples per operation: ~30 operations, bounded to well under a minute on 2 shared cores.
MAX_EXAMPLES = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def load_schema():
    """The schema as the running app serves it (drf-spectacular needs no database)."""
    from statuspage.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/v1/schema/", application)


schema = load_schema()


@pytest.fixture
def keep_test_connection():
    """Calling the WSGI app directly fires request_finished, whose close_old_connections would
    close the test's connection mid-transaction on PostgreSQL; Django's test client unhooks it
    the same way."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def known(it_page, phone_page, keep_test_connection):
    """A key, and the ids of real objects that generated path ids are steered to."""
    from incidents import services
    from incidents.models import Component, ComponentGroup

    components = list(Component.objects.filter(page=it_page).values_list("pk", flat=True))
    incident = services.open_incident(
        it_page, actor=None, name="Fuzzed", body="Starting point.",
        components={components[0]: "partial_outage"},
    )  # fmt: skip
    maintenance = services.schedule_maintenance(
        it_page, actor=None, name="Planned", body="Later.",
        scheduled_for=incident.created_at.replace(year=incident.created_at.year + 1),
        scheduled_until=incident.created_at.replace(year=incident.created_at.year + 2),
        components=components[1:],
    )  # fmt: skip
    return {
        "key": create_api_key("fuzz")[1],
        "component_id": components,
        "id": list(ComponentGroup.objects.filter(page=it_page).values_list("pk", flat=True)),
        "incident_id": [incident.pk, maintenance.pk],
        "incident_update_id": [incident.updates.get().pk, maintenance.updates.get().pk],
    }


def steer(case, known) -> None:
    """Point most generated path parameters at objects that exist, so requests get past the
    lookups and reach validation and the services; odd values are left as generated."""
    params = case.path_parameters or {}
    if "page_id" in params and not params["page_id"].startswith("x"):
        params["page_id"] = "it"
    for name, ids in known.items():
        value = str(params.get(name, ""))
        if name != "key" and value.isdigit() and len(value) < 6 and ids:
            params[name] = str(ids[int(value) % len(ids)])


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_management_api_survives_its_own_schema(case, known):
    steer(case, known)
    case.call_and_validate(headers={"Authorization": f"OAuth {known['key']}"}, checks=CHECKS)
