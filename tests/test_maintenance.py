"""Scheduled maintenance: every transition by hand and by the clock, reminders, the public page."""

from __future__ import annotations

import datetime as dt
import json
import threading
import zoneinfo

import pytest
from django.db import connection
from django.urls import reverse

from incidents import services
from incidents.events import domain_event
from incidents.models import Component, Incident, MaintenanceReminder

pytestmark = pytest.mark.django_db

AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")
START = dt.datetime(2026, 12, 1, 22, 0, tzinfo=AMS)
END = dt.datetime(2026, 12, 2, 1, 0, tzinfo=AMS)


@pytest.fixture
def captured():
    """Domain events, JSON round-tripped as a listener would see them."""
    seen = []

    def listen(sender, event, **kwargs):
        seen.append(json.loads(json.dumps(event.as_dict())))

    domain_event.connect(listen, dispatch_uid="test-maintenance-capture")
    yield seen
    domain_event.disconnect(dispatch_uid="test-maintenance-capture")


@pytest.fixture
def at(time_machine, django_capture_on_commit_callbacks):
    """Freeze the clock at a moment and run a step there, committing its events."""

    class Step:
        def __call__(self, moment: dt.datetime, action=None):
            time_machine.move_to(moment, tick=False)
            if action is None:
                return None
            with django_capture_on_commit_callbacks(execute=True):
                return action()

        def tick(self, moment: dt.datetime):
            return self(moment, lambda: services.run_maintenance_clock())

    return Step()


def component(page, name):
    return Component.objects.get(page=page, name=name)


def types(events):
    """Event types in order, reminders left out (they have their own tests)."""
    return [e["type"] for e in events if e["type"] != "maintenance.reminder"]


def schedule(page, actor, *, starts=START, ends=END, **kwargs):
    kwargs.setdefault("components", [component(page, "VPN")])
    return services.schedule_maintenance(
        page,
        actor=actor,
        name="VPN concentrator upgrade",
        body="We upgrade the VPN concentrators.",
        scheduled_for=starts,
        scheduled_until=ends,
        **kwargs,
    )


def test_the_clock_starts_and_completes_maintenance_on_the_minute_and_only_once(
    it_page, alice, at, captured
):
    vpn = component(it_page, "VPN")
    services.set_component_status(vpn, "degraded_performance", actor=alice)
    maintenance = at(START - dt.timedelta(days=3), lambda: schedule(it_page, alice))
    assert types(captured) == ["maintenance.scheduled"]
    vpn.refresh_from_db()
    assert vpn.status == "degraded_performance"  # nothing changes until it starts

    run = at.tick(START - dt.timedelta(seconds=1))
    assert run.started == [] and types(captured) == ["maintenance.scheduled"]

    run = at.tick(START)
    assert run.started == [maintenance.pk]
    maintenance.refresh_from_db()
    vpn.refresh_from_db()
    assert maintenance.status == "in_progress" and vpn.status == "under_maintenance"
    update = maintenance.updates.order_by("-id").first()
    assert update.author_name == "maintenance clock" and update.status == "in_progress"
    assert at.tick(START + dt.timedelta(seconds=30)).started == []  # the next tick: nothing
    assert types(captured) == ["maintenance.scheduled", "maintenance.started"]

    run = at.tick(END)
    assert run.completed == [maintenance.pk]
    maintenance.refresh_from_db()
    vpn.refresh_from_db()
    assert maintenance.status == "completed" and maintenance.resolved_at == END
    assert vpn.status == "degraded_performance"  # what it had when the maintenance started
    assert at.tick(END + dt.timedelta(minutes=1)).completed == []
    assert types(captured) == [
        "maintenance.scheduled",
        "maintenance.started",
        "maintenance.completed",
    ]
    assert captured[-1]["data"]["incident"]["status"] == "completed"


def test_the_beat_task_runs_the_clock(it_page, alice, at, captured):
    from incidents.tasks import run_maintenance_clock

    maintenance = at(START - dt.timedelta(hours=2), lambda: schedule(it_page, alice))
    result = at(START + dt.timedelta(seconds=5), lambda: run_maintenance_clock.delay().get())
    assert result["started"] == [maintenance.pk]
    assert types(captured)[-1] == "maintenance.started"


def test_the_beat_schedule_runs_the_clock_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["maintenance-clock"]
    assert entry["task"] == "incidents.run_maintenance_clock"
    from django.utils import timezone

    schedule = entry["schedule"]
    assert schedule.remaining_estimate(timezone.now()) <= dt.timedelta(seconds=60)
    assert schedule.minute == set(range(60)) and schedule.hour == set(range(24))


def test_maintenance_without_automation_waits_for_an_engineer(it_page, alice, at, captured):
    maintenance = at(
        START - dt.timedelta(days=1),
        lambda: schedule(it_page, alice, auto_start=False, auto_complete=False),
    )
    assert at.tick(START + dt.timedelta(minutes=5)).started == []
    at(
        START + dt.timedelta(minutes=6),
        lambda: services.start_maintenance(maintenance, actor=alice),
    )
    assert at.tick(END + dt.timedelta(minutes=5)).completed == []
    maintenance.refresh_from_db()
    assert maintenance.status == "in_progress"
    at(
        END + dt.timedelta(minutes=9),
        lambda: services.complete_maintenance(maintenance, actor=alice),
    )
    maintenance.refresh_from_db()
    assert maintenance.status == "completed"
    assert [(u.status, u.author_name) for u in maintenance.updates.order_by("id")] == [
        ("scheduled", "alice"),
        ("in_progress", "alice"),
        ("completed", "alice"),
    ]
    assert types(captured) == [
        "maintenance.scheduled",
        "maintenance.started",
        "maintenance.completed",
    ]


def test_starting_early_is_recorded_and_the_clock_leaves_it_alone(it_page, alice, at, captured):
    maintenance = at(START - dt.timedelta(days=1), lambda: schedule(it_page, alice))
    early = START - dt.timedelta(hours=1)
    at(early, lambda: services.start_maintenance(maintenance, actor=alice, body="Starting early."))
    vpn = component(it_page, "VPN")
    assert vpn.status == "under_maintenance"
    assert at.tick(START).started == []
    assert maintenance.updates.filter(status="in_progress").count() == 1
    first = maintenance.updates.get(status="in_progress")
    assert (first.author_name, first.body, first.created_at) == ("alice", "Starting early.", early)


def test_verifying_then_the_clock_completes_at_the_end(it_page, alice, at, captured):
    maintenance = at(START - dt.timedelta(days=1), lambda: schedule(it_page, alice))
    at.tick(START)
    at(
        END - dt.timedelta(minutes=10),
        lambda: services.post_update(
            maintenance, actor=alice, status="verifying", body="Checking tunnels."
        ),
    )
    assert component(it_page, "VPN").status == "under_maintenance"
    assert at.tick(END).completed == [maintenance.pk]
    assert component(it_page, "VPN").status == "operational"
    assert types(captured) == [
        "maintenance.scheduled",
        "maintenance.started",
        "maintenance.updated",
        "maintenance.completed",
    ]


def test_extending_moves_the_automatic_end_and_tells_subscribers(it_page, alice, at, captured):
    maintenance = at(START - dt.timedelta(days=1), lambda: schedule(it_page, alice))
    at.tick(START)
    later = END + dt.timedelta(hours=2)
    update = at(
        END - dt.timedelta(minutes=15),
        lambda: services.extend_maintenance(maintenance, actor=alice, until=later),
    )
    assert update.status == "in_progress" and update.author_name == "alice"
    # In the page's time zone (END is 01:00 CET, extended by two hours).
    assert update.body.endswith("extended until Wednesday 2 December 2026 03:00 CET.")
    assert at.tick(END).completed == []
    assert at.tick(later).completed == [maintenance.pk]
    assert types(captured) == [
        "maintenance.scheduled",
        "maintenance.started",
        "maintenance.updated",  # the new end and its update: one intent, one event
        "maintenance.completed",
    ]
    with pytest.raises(services.ServiceError):
        services.extend_maintenance(maintenance, actor=alice, until=later + dt.timedelta(hours=1))


def test_an_extension_must_end_later(it_page, alice, at):
    maintenance = at(START - dt.timedelta(days=1), lambda: schedule(it_page, alice))
    with pytest.raises(services.ServiceError) as error:
        services.extend_maintenance(maintenance, actor=alice, until=END - dt.timedelta(hours=1))
    assert error.value.field == "scheduled_until"


def test_cancelling_completes_without_touching_components(it_page, alice, at, captured):
    maintenance = at(START - dt.timedelta(days=1), lambda: schedule(it_page, alice))
    update = at(
        START - dt.timedelta(hours=5),
        lambda: services.cancel_maintenance(maintenance, actor=alice),
    )
    assert update.status == "completed" and "cancelled" in update.body
    assert component(it_page, "VPN").status == "operational"
    assert at.tick(START).started == []
    assert types(captured) == ["maintenance.scheduled", "maintenance.completed"]


def test_maintenance_that_has_started_cannot_be_cancelled(it_page, alice, at):
    maintenance = at(START - dt.timedelta(days=1), lambda: schedule(it_page, alice))
    at.tick(START)
    with pytest.raises(services.TransitionError):
        services.cancel_maintenance(maintenance, actor=alice)


def test_an_incident_open_at_the_end_keeps_its_component_status(it_page, alice, at):
    maintenance = at(START - dt.timedelta(days=1), lambda: schedule(it_page, alice))
    at.tick(START)
    vpn = component(it_page, "VPN")
    at(
        START + dt.timedelta(hours=1),
        lambda: services.open_incident(
            it_page,
            actor=alice,
            name="VPN broken after upgrade",
            body="Looking.",
            components={vpn.pk: "major_outage"},
        ),
    )
    at.tick(END)
    maintenance.refresh_from_db()
    assert maintenance.status == "completed"
    assert component(it_page, "VPN").status == "major_outage"


def test_a_missed_window_is_started_and_completed_by_the_next_tick(it_page, alice, at, captured):
    maintenance = at(START - dt.timedelta(days=1), lambda: schedule(it_page, alice))
    run = at.tick(END + dt.timedelta(hours=1))  # the clock was down for the whole window
    assert (run.started, run.completed) == ([maintenance.pk], [maintenance.pk])
    assert component(it_page, "VPN").status == "operational"
    assert types(captured)[-2:] == ["maintenance.started", "maintenance.completed"]


def reminders(captured):
    return [
        (e["data"]["incident"]["id"], e["data"]["reminder_hours"])
        for e in captured
        if e["type"] == "maintenance.reminder"
    ]


def test_reminders_go_out_24_and_1_hours_before_once_each(it_page, alice, at, captured):
    assert it_page.reminder_hours == [24, 1]
    maintenance = at(START - dt.timedelta(days=3), lambda: schedule(it_page, alice))
    assert at.tick(START - dt.timedelta(hours=24, minutes=1)).reminded == []
    assert at.tick(START - dt.timedelta(hours=24)).reminded == [(maintenance.pk, 24)]
    assert at.tick(START - dt.timedelta(hours=23, minutes=59)).reminded == []
    assert at.tick(START - dt.timedelta(hours=1)).reminded == [(maintenance.pk, 1)]
    assert at.tick(START - dt.timedelta(minutes=30)).reminded == []
    at.tick(START)
    assert reminders(captured) == [(maintenance.pk, 24), (maintenance.pk, 1)]
    event = next(e for e in captured if e["type"] == "maintenance.reminder")
    assert event["data"]["incident"]["kind"] == "maintenance"
    assert event["data"]["component_ids"] == [component(it_page, "VPN").pk]
    assert [e["type"] for e in captured] == [
        "maintenance.scheduled",
        "maintenance.reminder",
        "maintenance.reminder",
        "maintenance.started",
    ]


def test_a_reminder_due_before_the_announcement_is_not_sent(it_page, alice, at, captured):
    maintenance = at(START - dt.timedelta(hours=3), lambda: schedule(it_page, alice))
    at.tick(START - dt.timedelta(hours=2))
    at.tick(START - dt.timedelta(hours=1))
    assert reminders(captured) == [(maintenance.pk, 1)]


def test_after_a_clock_outage_only_the_closest_reminder_is_sent(it_page, alice, at, captured):
    maintenance = at(START - dt.timedelta(days=3), lambda: schedule(it_page, alice))
    assert at.tick(START - dt.timedelta(minutes=20)).reminded == [(maintenance.pk, 1)]
    assert reminders(captured) == [(maintenance.pk, 1)]
    skipped = MaintenanceReminder.objects.get(incident=maintenance, hours=24)
    assert skipped.sent is False


def test_moving_the_maintenance_arms_its_reminders_again(it_page, alice, at, captured):
    maintenance = at(START - dt.timedelta(days=3), lambda: schedule(it_page, alice))
    at.tick(START - dt.timedelta(hours=1))  # the 1 h reminder (24 h skipped: it was down)
    at(
        START - dt.timedelta(minutes=50),
        lambda: services.reschedule_maintenance(
            maintenance,
            actor=alice,
            scheduled_for=START + dt.timedelta(days=2),
            scheduled_until=END + dt.timedelta(days=2),
        ),
    )
    at.tick(START + dt.timedelta(days=1))
    at.tick(START + dt.timedelta(days=2) - dt.timedelta(hours=1))
    assert reminders(captured) == [(maintenance.pk, 1), (maintenance.pk, 24), (maintenance.pk, 1)]


def test_a_page_without_reminders_sends_none(it_page, alice, at, captured):
    it_page.maintenance_reminder_hours = ""
    services.save_page(it_page, actor=alice)
    at(START - dt.timedelta(days=3), lambda: schedule(it_page, alice))
    for hours in (24, 1):
        at.tick(START - dt.timedelta(hours=hours))
    assert reminders(captured) == []


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_ticks_start_the_maintenance_once(it_page, alice, time_machine):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are what make overlapping ticks safe; SQLite runs one writer")
    seen = []
    domain_event.connect(
        lambda sender, event, **kw: seen.append(event.type), weak=False, dispatch_uid="overlap"
    )
    try:
        time_machine.move_to(START - dt.timedelta(days=2), tick=False)
        maintenance = schedule(it_page, alice)
        time_machine.move_to(START - dt.timedelta(hours=1), tick=False)
        barrier = threading.Barrier(4)
        runs = []

        def tick():
            from django.db import connections

            barrier.wait()
            try:
                runs.append(services.run_maintenance_clock(START + dt.timedelta(minutes=1)))
                runs.append(services.run_maintenance_clock(START - dt.timedelta(hours=1)))
            finally:
                connections.close_all()

        threads = [threading.Thread(target=tick) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        domain_event.disconnect(dispatch_uid="overlap")
    maintenance.refresh_from_db()
    assert maintenance.status == "in_progress"
    assert maintenance.updates.filter(status="in_progress").count() == 1
    assert sum(len(r.started) for r in runs) == 1
    assert seen.count("maintenance.started") == 1


def test_the_public_page_shows_in_progress_and_scheduled_maintenance_apart(
    client, it_page, alice, at
):
    running = at(START - dt.timedelta(days=1), lambda: schedule(it_page, alice))
    upcoming = at(
        START - dt.timedelta(days=1),
        lambda: schedule(
            it_page,
            alice,
            starts=START + dt.timedelta(days=7),
            ends=END + dt.timedelta(days=7),
            components=[component(it_page, "Email hosting")],
        ),
    )
    at.tick(START + dt.timedelta(minutes=1))
    html = client.get("/p/it/").content.decode()
    in_progress = html.index('id="maintenance-active-title"')
    scheduled = html.index('id="maintenance-upcoming-title"')
    assert in_progress < html.index(f'id="incident-{running.public_id}"') < scheduled
    assert scheduled < html.index(f'id="incident-{upcoming.public_id}"')
    # The window in the page's time zone (Amsterdam, CET): 22:00 to 01:00.
    assert "Tuesday 8 December 22:00" in html and "Wednesday 9 December 01:00 CET" in html
    assert Incident.objects.filter(kind="maintenance").count() == 2


# --- The admin -----------------------------------------------------------------------------


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def admin_post(client, url, **fields):
    return client.post(url, {"_save": "Save", **fields})


def schedule_in_admin(client, page, *, starts, ends, **extra):
    return admin_post(
        client,
        reverse("admin:incidents_maintenance_add"),
        page=page.pk,
        name="Core switch firmware",
        body="Firmware upgrade.",
        affected=[component(page, "VPN").pk],
        scheduled_for_0=starts[0],
        scheduled_for_1=starts[1],
        scheduled_until_0=ends[0],
        scheduled_until_1=ends[1],
        scheduled_auto_in_progress="on",
        scheduled_auto_completed="on",
        deliver_notifications="on",
        **extra,
    )


def test_scheduling_in_the_admin_reads_times_in_the_page_zone_across_dst(
    alice_client, it_page, alice, captured, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = schedule_in_admin(
            alice_client, it_page, starts=("2026-10-25", "01:30"), ends=("2026-10-25", "03:30")
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    maintenance = Incident.objects.get(kind="maintenance")
    # 01:30 CEST is 23:30 UTC the day before; 03:30 CET is 02:30 UTC: four real hours.
    assert maintenance.scheduled_for == dt.datetime(2026, 10, 24, 23, 30, tzinfo=dt.UTC)
    assert maintenance.scheduled_until == dt.datetime(2026, 10, 25, 2, 30, tzinfo=dt.UTC)
    assert maintenance.status == "scheduled" and maintenance.updates.get().author == alice
    assert list(maintenance.affected.values_list("component__name", flat=True)) == ["VPN"]
    assert types(captured) == ["maintenance.scheduled"]
    page = alice_client.get(reverse("admin:incidents_maintenance_change", args=[maintenance.pk]))
    html = page.content.decode()
    assert 'value="01:30:00"' in html and 'value="03:30:00"' in html  # shown as entered
    listing = alice_client.get(reverse("admin:incidents_maintenance_changelist")).content.decode()
    assert "Sun 25 Oct 2026 01:30 – Sun 25 Oct 2026 03:30 CET" in listing


def test_a_time_the_clocks_skip_is_refused(alice_client, it_page):
    response = schedule_in_admin(
        alice_client, it_page, starts=("2026-03-29", "02:30"), ends=("2026-03-29", "05:00")
    )
    assert response.status_code == 200
    assert "does not exist in Europe/Amsterdam" in response.content.decode()
    assert not Incident.objects.filter(kind="maintenance").exists()


def test_engineers_schedule_only_on_their_pages(client, it_page, phone_page, alice, bob):
    client.force_login(bob)
    response = schedule_in_admin(
        client, it_page, starts=("2026-12-01", "22:00"), ends=("2026-12-02", "01:00")
    )
    assert response.status_code == 200
    assert not Incident.objects.filter(kind="maintenance").exists()
    maintenance = schedule(it_page, alice)
    change = client.get(reverse("admin:incidents_maintenance_change", args=[maintenance.pk]))
    assert change.status_code == 302  # not found among bob's: back to the admin index
    start = reverse("admin:incidents_maintenance_transition", args=[maintenance.pk, "start"])
    assert client.post(start).status_code == 403
    listing = client.get(reverse("admin:incidents_maintenance_changelist")).content.decode()
    assert "VPN concentrator upgrade" not in listing


def test_start_and_complete_buttons_go_through_the_services(
    alice_client, it_page, alice, captured, django_capture_on_commit_callbacks
):
    maintenance = schedule(it_page, alice)
    change_url = reverse("admin:incidents_maintenance_change", args=[maintenance.pk])
    html = alice_client.get(change_url).content.decode()
    assert "Start now" in html and "Cancel maintenance" in html
    assert "/transition/complete/" not in html
    start = reverse("admin:incidents_maintenance_transition", args=[maintenance.pk, "start"])
    assert alice_client.get(start).status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        assert alice_client.post(start)["Location"] == change_url
    assert component(it_page, "VPN").status == "under_maintenance"
    again = alice_client.post(start, follow=True).content.decode()
    assert "not possible for maintenance that is in progress" in again
    verify = reverse("admin:incidents_maintenance_transition", args=[maintenance.pk, "verify"])
    complete = reverse("admin:incidents_maintenance_transition", args=[maintenance.pk, "complete"])
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(verify)
        alice_client.post(complete)
    maintenance.refresh_from_db()
    assert maintenance.status == "completed"
    assert [u.status for u in maintenance.updates.order_by("id")] == [
        "scheduled",
        "in_progress",
        "verifying",
        "completed",
    ]
    assert all(u.author == alice for u in maintenance.updates.exclude(status="scheduled"))
    assert types(captured) == [
        "maintenance.started",
        "maintenance.updated",
        "maintenance.completed",
    ]


def test_a_later_end_in_the_admin_extends_maintenance_in_progress(alice_client, it_page, alice, at):
    maintenance = at(START - dt.timedelta(days=1), lambda: schedule(it_page, alice))
    at.tick(START)
    response = admin_post(
        alice_client,
        reverse("admin:incidents_maintenance_change", args=[maintenance.pk]),
        name="VPN concentrator upgrade",
        scheduled_until_0="2026-12-02",
        scheduled_until_1="02:30",
        scheduled_auto_in_progress="on",
        scheduled_auto_completed="on",
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    maintenance.refresh_from_db()
    assert maintenance.scheduled_until == dt.datetime(2026, 12, 2, 1, 30, tzinfo=dt.UTC)
    assert maintenance.scheduled_for == START  # a started window keeps its start
    latest = maintenance.updates.order_by("-id").first()
    assert latest.author == alice and "extended until" in latest.body


def test_moving_scheduled_maintenance_in_the_admin_and_switching_automation(
    alice_client, it_page, alice
):
    maintenance = schedule(it_page, alice)
    response = admin_post(
        alice_client,
        reverse("admin:incidents_maintenance_change", args=[maintenance.pk]),
        name="Concentrator upgrade",
        scheduled_for_0="2026-12-08",
        scheduled_for_1="22:00",
        scheduled_until_0="2026-12-09",
        scheduled_until_1="01:00",
        scheduled_auto_completed="on",
    )
    assert response.status_code == 302
    maintenance.refresh_from_db()
    assert maintenance.name == "Concentrator upgrade"
    assert maintenance.scheduled_for == START + dt.timedelta(days=7)
    assert (maintenance.scheduled_auto_in_progress, maintenance.scheduled_auto_completed) == (
        False,
        True,
    )


def test_cancelling_selected_maintenance_from_the_list(alice_client, it_page, alice, at):
    first = schedule(it_page, alice)
    second = schedule(it_page, alice, starts=START - dt.timedelta(days=1))
    at(START - dt.timedelta(days=1), lambda: services.start_maintenance(second, actor=alice))
    response = alice_client.post(
        reverse("admin:incidents_maintenance_changelist"),
        {"action": "cancel_selected", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )
    html = response.content.decode()
    assert "1 maintenance(s) cancelled." in html
    assert "not possible for maintenance that is in progress" in html
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("completed", "in_progress")


def test_the_clock_command_ticks_once_without_celery(it_page, alice, at, captured):
    from django.core.management import call_command

    maintenance = at(START - dt.timedelta(days=1), lambda: schedule(it_page, alice))
    at(START + dt.timedelta(seconds=1), lambda: call_command("run_maintenance_clock", "--once"))
    maintenance.refresh_from_db()
    assert maintenance.status == "in_progress"
    assert types(captured)[-1] == "maintenance.started"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_embedded_clock_process_starts_due_maintenance(it_page, alice):
    """`make run` starts `run_maintenance_clock` next to the server: a real process here."""
    import os
    import select
    import subprocess
    import sys
    import time
    from pathlib import Path

    db = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.skip("the test database must be reachable from another process")
    maintenance = schedule(
        it_page,
        alice,
        starts=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1),
        ends=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "x" * 40, "DEBUG": "0"}
    env["ALLOWED_HOSTS"] = "127.0.0.1"
    root = Path(__file__).resolve().parent.parent
    clock = subprocess.Popen(
        [sys.executable, "-u", "manage.py", "run_maintenance_clock"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            maintenance.refresh_from_db()
            if maintenance.status == "in_progress":
                break
            time.sleep(0.2)
        assert maintenance.status == "in_progress"
        assert maintenance.updates.filter(author_name="maintenance clock").count() == 1
        # The clock prints its line just after the commit the loop above saw: read until it comes
        # (terminating right away could lose it on a loaded machine).
        output = ""
        while time.monotonic() < deadline + 10 and "started=" not in output:
            ready, _, _ = select.select([clock.stdout], [], [], 0.5)
            if ready:
                output += os.read(clock.stdout.fileno(), 4096).decode()
        assert clock.poll() is None  # still ticking, once a minute
    finally:
        clock.terminate()
        clock.communicate(timeout=10)
    assert f"started=[{maintenance.pk}]" in output


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_runs_the_beat_task_through_redis(it_page, alice):
    """What beat sends every minute, sent through a real broker to a real worker process."""
    import os
    import subprocess
    import sys
    import time
    import uuid
    from pathlib import Path

    import redis
    from celery import Celery

    db = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.skip("the worker must reach the test database")
    broker = os.environ.get("REDIS_URL_FOR_TESTS", "redis://127.0.0.1:6379/6")
    queue = f"maint-test-{uuid.uuid4().hex[:8]}"
    now = dt.datetime.now(dt.UTC)
    maintenance = schedule(
        it_page, alice, starts=now - dt.timedelta(minutes=2), ends=now - dt.timedelta(minutes=1)
    )
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "SECRET_KEY": "x" * 40,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "statuspage",
            "worker",
            "-Q",
            queue,
            "-P",
            "solo",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "warning",
        ],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    client = redis.Redis.from_url(broker)
    existed = set(client.keys("_kombu.*"))
    sender = Celery(broker=broker)
    try:
        sender.send_task("incidents.run_maintenance_clock", queue=queue)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            maintenance.refresh_from_db()
            if maintenance.status == "completed":
                break
            time.sleep(0.25)
        # The window passed while nobody ran the clock: one tick starts and completes it.
        assert maintenance.status == "completed"
        assert [u.author_name for u in maintenance.updates.order_by("id")] == [
            "alice",
            "maintenance clock",
            "maintenance clock",
        ]
    finally:
        worker.terminate()
        output = worker.communicate(timeout=20)[0].decode()
        sender.close()
        for key in {*client.scan_iter(f"*{queue}*"), *(set(client.keys("_kombu.*")) - existed)}:
            client.delete(key)
        client.close()
    assert "Traceback" not in output, output
