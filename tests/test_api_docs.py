"""The API docs: both APIs in the OpenAPI schema (the public v2 documents too), and Redoc and
Swagger UI served with nothing from another site (no CDN, no Google Fonts)."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db

V2 = [
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
]


def test_the_schema_documents_the_public_v2_api_as_the_pages_answer_it(client, it_page):
    document = client.get("/api/v1/schema/", headers={"Accept": "application/json"}).json()
    schemas = document["components"]["schemas"]
    for path in V2:
        operation = document["paths"][f"/p/{{page_id}}/api/v2/{path}"]["get"]
        assert operation["security"] == [] and "Public API (v2)" in operation["tags"]
        shape = operation["responses"]["200"]["content"]["application/json"]["schema"]
        answer = client.get(f"/p/it/api/v2/{path}").json()
        # Every key the page answers is documented, and every documented key is there.
        assert set(answer) == set(shape["properties"]) == set(shape["required"])
    summary = client.get("/p/it/api/v2/summary.json").json()
    for key, schema in (("page", "PublicPage"), ("status", "PublicStatus")):
        assert (
            set(schemas[schema]["required"])
            <= set(summary[key])
            <= set(schemas[schema]["properties"])
        )
    for component in summary["components"]:
        assert set(component) <= set(schemas["PublicComponent"]["properties"])


def test_the_schema_documents_the_v2_api_on_a_pages_own_host(client, it_page, settings):
    it_page.custom_host = "status.example.net"
    it_page.save(update_fields=["custom_host"])
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "status.example.net"]
    document = client.get("/api/v1/schema/", headers={"Accept": "application/json"}).json()
    ids = set()
    for path in V2:
        item = document["paths"][f"/api/v2/{path}"]
        operation = item["get"]
        ids.add(operation["operationId"])
        assert operation["parameters"] == []  # the host names the page
        assert operation["servers"][0]["url"] == "{scheme}://{host}"
        by_slug = document["paths"][f"/p/{{page_id}}/api/v2/{path}"]["get"]
        assert operation["responses"] == by_slug["responses"]
        shape = operation["responses"]["200"]["content"]["application/json"]["schema"]
        answer = client.get(f"/api/v2/{path}", headers={"Host": "status.example.net"})
        assert answer.status_code == 200, path
        assert set(answer.json()) == set(shape["properties"])
    assert len(ids) == len(V2)  # operation ids stay unique


@pytest.mark.parametrize("path", ["/api/v1/redoc/", "/api/v1/docs/"])
def test_the_docs_pages_load_nothing_from_another_site(client, path):
    page = client.get(path).content.decode()
    assert "googleapis" not in page and "gstatic" not in page
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith("/") for s in sources), sources
