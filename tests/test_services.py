"""The service layer: every incident transition, its errors, history, versions and events."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from incidents import services
from incidents.events import domain_event
from incidents.models import Component, ComponentStatusChange, Incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def captured():
    """Domain events sent during the test, JSON round-tripped as a listener would see them."""
    seen = []

    def listen(sender, event, **kwargs):
        seen.append(json.loads(json.dumps(event.as_dict())))

    domain_event.connect(listen, dispatch_uid="test-capture")
    yield seen
    domain_event.disconnect(dispatch_uid="test-capture")


def component(page, name):
    return Component.objects.get(page=page, name=name)


def test_opening_an_incident_sets_components_history_version_and_one_event(
    it_page, alice, captured, django_capture_on_commit_callbacks
):
    internet = component(it_page, "Internet access")
    version = it_page.version
    with django_capture_on_commit_callbacks(execute=True):
        incident = services.open_incident(
            it_page,
            actor=alice,
            name="Internet down in Utrecht",
            body="We are **investigating**.",
            components={internet.pk: "major_outage"},
        )
    internet.refresh_from_db()
    it_page.refresh_from_db()
    assert internet.status == "major_outage"
    assert incident.impact == "critical"  # derived from the worst component status
    assert it_page.version == version + 1
    change = ComponentStatusChange.objects.filter(component=internet).latest("id")
    assert (change.old_status, change.new_status, change.actor, change.incident) == (
        "operational",
        "major_outage",
        alice,
        incident,
    )
    update = incident.updates.get()
    assert update.author == alice and update.status == "investigating"
    assert update.affected_components == [
        {
            "code": internet.pk,
            "name": "Internet access",
            "old_status": "operational",
            "new_status": "major_outage",
        }
    ]
    assert [e["type"] for e in captured] == ["incident.created"]
    assert captured[0]["version"] == it_page.version
    assert captured[0]["data"]["component_ids"] == [internet.pk]


@pytest.mark.parametrize(
    "path",
    [
        ["identified", "monitoring", "resolved"],
        ["monitoring", "investigating", "resolved"],
        ["resolved"],
    ],
)
def test_every_open_status_may_follow_another_and_end_resolved(it_page, alice, path):
    incident = services.open_incident(it_page, actor=alice, name="Slow VPN", body="Looking.")
    for status in path:
        services.post_update(incident, actor=alice, status=status, body=f"Now {status}.")
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.resolved_at is not None
    assert incident.updates.count() == len(path) + 1


def test_a_resolved_incident_cannot_be_investigating_again_without_reopen(it_page, alice):
    incident = services.open_incident(it_page, actor=alice, name="Outage", body="Down.")
    services.resolve_incident(incident, actor=alice)
    with pytest.raises(services.TransitionError, match="Reopen it first"):
        services.post_update(incident, actor=alice, status="investigating", body="Again")
    services.reopen_incident(incident, actor=alice, body="It is back.")
    incident.refresh_from_db()
    assert incident.status == "investigating" and incident.resolved_at is None


def test_reopening_takes_the_components_back(it_page, alice):
    vpn = component(it_page, "VPN")
    incident = services.open_incident(
        it_page, actor=alice, name="VPN", body="Down.", components={vpn.pk: "partial_outage"}
    )
    services.resolve_incident(incident, actor=alice)
    vpn.refresh_from_db()
    assert vpn.status == "operational"
    services.reopen_incident(incident, actor=alice, body="Down again.")
    vpn.refresh_from_db()
    assert vpn.status == "partial_outage"


def test_only_a_resolved_incident_can_be_reopened(it_page, alice):
    incident = services.open_incident(it_page, actor=alice, name="Outage", body="Down.")
    with pytest.raises(services.TransitionError, match="Only a resolved incident"):
        services.reopen_incident(incident, actor=alice, body="?")


def test_resolving_restores_components_unless_another_incident_is_open(it_page, alice):
    internet, vpn = component(it_page, "Internet access"), component(it_page, "VPN")
    first = services.open_incident(
        it_page,
        actor=alice,
        name="Fibre cut",
        body="Down.",
        components={internet.pk: "major_outage", vpn.pk: "major_outage"},
    )
    second = services.open_incident(
        it_page,
        actor=alice,
        name="VPN concentrator",
        body="Slow.",
        components={vpn.pk: "degraded_performance"},
    )
    services.resolve_incident(first, actor=alice, body="Fibre repaired.")
    internet.refresh_from_db()
    vpn.refresh_from_db()
    assert internet.status == "operational"
    assert vpn.status == "degraded_performance"  # the second incident still holds it
    services.resolve_incident(second, actor=alice)
    vpn.refresh_from_db()
    assert vpn.status == "operational"


def test_unknown_components_and_statuses_are_refused_with_a_clear_message(
    it_page, phone_page, alice
):
    other = Component.objects.filter(page=phone_page).first()
    with pytest.raises(services.ServiceError, match=f"No component with id {other.pk}"):
        services.open_incident(
            it_page, actor=alice, name="x", body="y", components={other.pk: "major_outage"}
        )
    vpn = component(it_page, "VPN")
    with pytest.raises(services.ServiceError, match="not a component status") as error:
        services.open_incident(
            it_page, actor=alice, name="x", body="y", components={vpn.pk: "on fire"}
        )
    assert error.value.field == "components"
    assert Incident.objects.count() == 0  # nothing half-written


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"name": "", "body": "x"}, "A title is required"),
        ({"name": "x", "body": "   "}, "A message is required"),
        ({"name": "x" * 201, "body": "x"}, "too long"),
        ({"name": "x", "body": "x", "status": "scheduled"}, "must be one of"),
        ({"name": "x", "body": "x", "impact": "apocalyptic"}, "Impact must be one of"),
    ],
)
def test_bad_input_is_refused_and_leaves_nothing(it_page, alice, fields, message):
    with pytest.raises(services.ServiceError, match=message):
        services.open_incident(it_page, actor=alice, **fields)
    assert not Incident.objects.exists()


def test_a_template_fills_title_message_and_impact(it_page, alice):
    from incidents.models import IncidentTemplate

    template = IncidentTemplate.objects.create(
        page=it_page, name="Mail", title="Email delayed", body="Mail is delayed.", impact="minor"
    )
    incident = services.open_incident(it_page, actor=alice, template=template)
    assert (incident.name, incident.impact) == ("Email delayed", "minor")
    assert incident.updates.get().body == "Mail is delayed."


def test_fixing_a_typo_keeps_the_timeline_and_sends_an_edit_event(
    it_page, alice, captured, django_capture_on_commit_callbacks
):
    incident = services.open_incident(it_page, actor=alice, name="Outage", body="Investigatng.")
    update = incident.updates.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.edit_update(update, actor=alice, body="Investigating.")
    update.refresh_from_db()
    assert update.body == "Investigating." and incident.updates.count() == 1
    assert captured[-1]["type"] == "incident_update.edited"


def test_no_event_leaves_a_rolled_back_transaction(it_page, alice, captured):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.open_incident(it_page, actor=alice, name="x", body="y")
        raise RuntimeError("boom")
    assert captured == [] and not Incident.objects.exists()


def test_bulk_status_writes_history_for_each_changed_component(it_page, alice):
    components = list(Component.objects.filter(page=it_page))
    changed = services.bulk_set_component_status(components, "degraded_performance", actor=alice)
    assert len(changed) == 3
    assert ComponentStatusChange.objects.filter(new_status="degraded_performance").count() == 3
    with pytest.raises(services.ServiceError):
        services.bulk_set_component_status(components, "broken", actor=alice)


def test_deleting_an_open_incident_gives_its_components_back(it_page, alice):
    vpn = component(it_page, "VPN")
    incident = services.open_incident(
        it_page, actor=alice, name="VPN", body="Down.", components={vpn.pk: "major_outage"}
    )
    services.delete_incident(incident, actor=alice)
    vpn.refresh_from_db()
    assert vpn.status == "operational" and not Incident.objects.exists()


def test_maintenance_holds_components_only_while_in_progress_and_restores_them(it_page, alice):
    import datetime as dt

    from django.utils import timezone

    mail = component(it_page, "Email hosting")
    services.set_component_status(mail, "degraded_performance", actor=alice)
    start = timezone.now() + dt.timedelta(hours=1)
    maintenance = services.schedule_maintenance(
        it_page,
        actor=alice,
        name="Mail server upgrade",
        body="Planned.",
        scheduled_for=start,
        scheduled_until=start + dt.timedelta(hours=2),
        components=[mail.pk],
    )
    mail.refresh_from_db()
    assert mail.status == "degraded_performance"
    services.start_maintenance(maintenance, actor=alice)
    mail.refresh_from_db()
    assert mail.status == "under_maintenance"
    services.post_update(maintenance, actor=alice, status="verifying", body="Checking.")
    with pytest.raises(services.TransitionError):
        services.post_update(maintenance, actor=alice, status="resolved", body="x")
    services.complete_maintenance(maintenance, actor=alice)
    mail.refresh_from_db()
    assert mail.status == "degraded_performance"
    with pytest.raises(services.TransitionError, match="completed"):
        services.post_update(maintenance, actor=alice, status="in_progress", body="again")


def test_maintenance_end_must_follow_its_start(it_page, alice):

    from django.utils import timezone

    now = timezone.now()
    with pytest.raises(services.ServiceError, match="after its start"):
        services.schedule_maintenance(
            it_page, actor=alice, name="x", body="y", scheduled_for=now, scheduled_until=now
        )


def test_a_template_with_components_sets_them_to_the_status_of_its_impact(it_page, alice):
    from incidents.models import IncidentTemplate

    internet = component(it_page, "Internet access")
    template = IncidentTemplate.objects.create(
        page=it_page, name="Fibre", title="Internet down", body="Down.", impact="major"
    )
    template.components.add(internet)
    services.open_incident(it_page, actor=alice, template=template)
    internet.refresh_from_db()
    assert internet.status == "partial_outage"


def test_a_failing_listener_neither_undoes_the_write_nor_stops_the_others(
    it_page, alice, captured, django_capture_on_commit_callbacks, caplog
):
    def broken(sender, event, **kwargs):
        raise RuntimeError("mail queue unreachable")

    domain_event.connect(broken, dispatch_uid="test-broken")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            incident = services.open_incident(it_page, actor=alice, name="Outage", body="Down.")
    finally:
        domain_event.disconnect(dispatch_uid="test-broken")
    assert Incident.objects.filter(pk=incident.pk).exists()
    assert [e["type"] for e in captured] == ["incident.created"]
    assert "mail queue unreachable" in caplog.text
