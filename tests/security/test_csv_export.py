"""Finding 6: the subscriber export wrote `=cmd|...` and component names verbatim, so a
spreadsheet ran them as formulas (CSV injection)."""

from __future__ import annotations

import csv
import io

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import Component
from notifications.models import Subscriber

pytestmark = pytest.mark.django_db

FORMULAS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


def test_every_exported_cell_is_inert_in_a_spreadsheet(client, admin_user_, it_page):
    vpn = Component.objects.get(page=it_page, name="VPN")
    services.update_component(vpn, actor=None, name='=HYPERLINK("http://evil.example","x")')
    for n, prefix in enumerate(["=cmd", "+1", "-1", "@a"]):
        subscriber = Subscriber.objects.create(
            page=it_page, email=f"{prefix}{n}@example.com", confirmed_at=timezone.now()
        )
        subscriber.components.add(vpn)
    client.force_login(admin_user_)
    response = client.post(
        "/admin/notifications/subscriber/",
        {
            "action": "export_csv",
            "_selected_action": list(Subscriber.objects.values_list("pk", flat=True)),
        },
    )
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert len(rows) == 5
    cells = [cell for row in rows[1:] for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert "'=HYPERLINK" in cells[2]  # still readable, as text
    assert any(c.startswith("'=cmd") for c in cells)


@pytest.mark.parametrize("value", FORMULAS)
def test_the_neutralizer_quotes_every_formula_prefix(value):
    from statuspage.csv_export import neutralize

    assert neutralize(value) == "'" + value
    assert neutralize("plain@example.com") == "plain@example.com"
