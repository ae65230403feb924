"""Finding 4: maintenance with a 9999-12-31 or 0001-01-01 window was accepted (201), then the
page, permalink, feeds and live.json answered 500 (OverflowError in localtime)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import Incident
from incidents.services import ServiceError
from tests.api_helpers import make_api

pytestmark = pytest.mark.django_db

FAR_FUTURE = dt.datetime(9999, 12, 31, 23, 0, tzinfo=dt.UTC)
FAR_PAST = dt.datetime(1, 1, 1, 0, 30, tzinfo=dt.UTC)
PUBLIC = ["", "incidents/{id}/", "history/", "history.atom", "history.rss", "live.json",
          "api/v2/summary.json", "api/v2/scheduled-maintenances/upcoming.json", "phone.txt",
          "handout/"]  # fmt: skip


WINDOWS = [
    (FAR_FUTURE - dt.timedelta(hours=1), FAR_FUTURE),
    (FAR_PAST, FAR_PAST + dt.timedelta(hours=1)),
]


@pytest.mark.parametrize(("starts", "ends"), WINDOWS)
def test_the_api_refuses_maintenance_outside_the_sane_range(it_page, starts, ends):
    api, _ = make_api()
    response = api.post(
        "pages/it/incidents",
        {
            "incident": {
                "name": "Forever",
                "status": "scheduled",
                "body": "x",
                "scheduled_for": starts.isoformat(),
                "scheduled_until": ends.isoformat(),
            }
        },
    )
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "out_of_range"
    assert not Incident.objects.exists()


def test_rescheduling_too_far_ahead_is_refused_and_a_year_back_to_five_ahead_is_fine(it_page):
    now = timezone.now()
    maintenance = services.schedule_maintenance(
        it_page,
        actor=None,
        name="Upgrade",
        body="x",
        scheduled_for=now + dt.timedelta(days=4 * 365),
        scheduled_until=now + dt.timedelta(days=4 * 365, hours=2),
    )
    with pytest.raises(ServiceError) as refused:
        services.reschedule_maintenance(
            maintenance, actor=None, scheduled_until=now + dt.timedelta(days=6 * 365)
        )
    assert refused.value.field == "scheduled_until" and refused.value.code == "out_of_range"


@pytest.mark.parametrize(
    ("starts", "ends"),
    [
        (("9999-12-31", "22:00"), ("9999-12-31", "23:00")),
        (("0001-01-01", "00:30"), ("0001-01-01", "02:00")),
    ],
)
def test_the_admin_form_shows_the_range_error_instead_of_a_500(
    client, alice, it_page, starts, ends
):
    from tests.test_maintenance import schedule_in_admin

    client.force_login(alice)
    response = schedule_in_admin(client, it_page, starts=starts, ends=ends)
    if response.status_code == 302:  # refused by the service: the message is on the form
        response = client.get(response["Location"])
    assert response.status_code == 200
    assert "range" in response.content.decode()
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    ("starts", "ends", "zone"),
    [(*WINDOWS[0], "Europe/Amsterdam"), (*WINDOWS[1], "America/New_York")],
)
def test_stored_extreme_dates_never_take_public_pages_down(client, it_page, starts, ends, zone):
    """A row saved before the range check: every public rendering still answers, in a zone
    east (past year 9999) or west (before year 1) of UTC."""
    it_page.time_zone = zone
    services.save_page(it_page, actor=None)
    now = timezone.now()
    maintenance = services.schedule_maintenance(
        it_page,
        actor=None,
        name="Stored long ago",
        body="x",
        scheduled_for=now + dt.timedelta(days=1),
        scheduled_until=now + dt.timedelta(days=1, hours=1),
    )
    Incident.objects.filter(pk=maintenance.pk).update(
        scheduled_for=starts, scheduled_until=ends, started_at=starts
    )
    services.touch_page(it_page, actor=None)  # a new version: no cached rendering
    for path in PUBLIC:
        response = client.get(f"/p/it/{path.format(id=maintenance.pk)}")
        assert response.status_code == 200, (path, response.status_code)
