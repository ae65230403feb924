"""One intent, one event: the probes of issue 10 as regression tests.

Each request (an API write, an admin save) is one service call and one transaction: one version
bump per page, one domain event, at most one email per subscriber; a stale object never moves a
page's version back; every rule (impact, statuses) is the same whichever door a write comes in.
"""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes, policy

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from incidents import services
from incidents.models import Component, Incident, IncidentTemplate, Page
from incidents.services import ServiceError

from .api_helpers import make_api
from .test_email_subscriptions import subscriber

pytestmark = pytest.mark.django_db


def comp(page, name) -> Component:
    return Component.objects.get(page=page, name=name)


def version(page) -> int:
    return Page.objects.values_list("version", flat=True).get(pk=page.pk)


def notices_to(address: str) -> list:
    """Notification mails (not confirmations) sent to one address."""
    found = []
    for message in mail.outbox:
        parsed = message_from_bytes(message.message().as_bytes(), policy=policy.default)
        if "In-Reply-To" in parsed and address in message.to:
            found.append(parsed)
    return found


@pytest.fixture
def api(it_page, phone_page):
    return make_api("deploy-bot")[0]


@pytest.fixture
def root_client(client, admin_user_):
    client.force_login(admin_user_)
    return client


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


# --- The API -----------------------------------------------------------------------------


def test_maintenance_created_verifying_through_the_api_is_one_event_one_bump_one_email(
    api, it_page, captured_events
):
    subscriber(it_page, "ann@example.com")
    subscriber(it_page, "ben@example.com", components=[comp(it_page, "VPN")])
    before = version(it_page)
    start = timezone.now() - dt.timedelta(minutes=30)
    with captured_events() as got:
        response = api.post(
            "pages/it/incidents",
            {
                "incident": {
                    "name": "VPN upgrade",
                    "status": "verifying",
                    "scheduled_for": start.isoformat(),
                    "scheduled_until": (start + dt.timedelta(hours=2)).isoformat(),
                    "component_ids": [comp(it_page, "VPN").public_id],
                }
            },
        )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "verifying"
    assert len(got) == 1, got.types()
    assert got[0]["type"] == "maintenance.scheduled"
    assert got[0]["data"]["incident"]["status"] == "verifying"
    assert got[0]["data"]["steps"] == [
        "maintenance.scheduled",
        "maintenance.started",
        "maintenance.updated",
    ]
    assert version(it_page) == before + 1 == got[0]["version"]
    assert len(notices_to("ann@example.com")) == 1
    assert len(notices_to("ben@example.com")) == 1
    assert comp(it_page, "VPN").status == "under_maintenance"


def test_every_api_write_is_one_event(api, it_page, captured_events):
    internet = comp(it_page, "Internet access")
    with captured_events() as got:
        created = api.post(
            "pages/it/incidents",
            {"incident": {"name": "Down", "components": {internet.public_id: "major_outage"}}},
        ).json()
    assert got.types() == ["incident.created"]
    path = f"pages/it/incidents/{created['id']}"
    # A rename, a new impact and an update in one PATCH: one event, one bump.
    before = version(it_page)
    with captured_events() as got:
        response = api.patch(
            path,
            {
                "incident": {
                    "name": "Internet down",
                    "impact_override": "major",
                    "status": "identified",
                }
            },
        )
    assert response.status_code == 200, response.content
    assert got.types() == ["incident.updated"] and version(it_page) == before + 1
    with captured_events() as got:
        api.patch(path, {"incident": {"status": "resolved"}})
    assert got.types() == ["incident.resolved"]
    with captured_events() as got:
        api.patch(f"pages/it/components/{internet.pk}", {"component": {"status": "partial_outage"}})
    assert got.types() == ["component.updated"]


def test_reopening_through_the_api_applies_the_component_statuses(api, it_page):
    internet, vpn = comp(it_page, "Internet access"), comp(it_page, "VPN")
    created = api.post(
        "pages/it/incidents",
        {"incident": {"name": "Down", "components": {internet.public_id: "degraded_performance"}}},
    ).json()
    path = f"pages/it/incidents/{created['id']}"
    api.patch(path, {"incident": {"status": "resolved"}})
    response = api.patch(
        path,
        {
            "incident": {
                "status": "identified",
                "components": {internet.public_id: "major_outage", vpn.public_id: "partial_outage"},
            }
        },
    )
    assert response.status_code == 200, response.content
    assert comp(it_page, "Internet access").status == "major_outage"
    assert comp(it_page, "VPN").status == "partial_outage"
    assert Incident.objects.get(public_id=created["id"]).updates.first().body == (
        "The issue has been identified and a fix is being implemented."
    )


# --- The admin ---------------------------------------------------------------------------


def _maintenance(page, *, starts_in=dt.timedelta(hours=-1)):
    start = timezone.now().replace(second=0, microsecond=0) + starts_in
    return services.schedule_maintenance(
        page,
        actor=None,
        name="Core switch firmware",
        body="Firmware upgrade.",
        scheduled_for=start,
        scheduled_until=start + dt.timedelta(hours=3),
        components=[comp(page, "VPN").pk],
    )


def test_saving_maintenance_in_the_admin_is_one_event(
    alice_client, it_page, captured_events, django_capture_on_commit_callbacks
):
    subscriber(it_page, "ann@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        maintenance = _maintenance(it_page)
        services.start_maintenance(maintenance, actor=None)
    mail.outbox.clear()
    maintenance.refresh_from_db()
    until = timezone.localtime(maintenance.scheduled_until + dt.timedelta(hours=2), it_page.tz)
    start = timezone.localtime(maintenance.scheduled_for, it_page.tz)
    before = version(it_page)
    with captured_events() as got:
        response = alice_client.post(
            reverse("admin:incidents_maintenance_change", args=[maintenance.pk]),
            {
                "_save": "Save",
                "page": it_page.pk,
                "name": "Core switch firmware, part 2",  # renamed
                "body": "ignored on change",
                "affected": [comp(it_page, "VPN").pk],
                "scheduled_for_0": start.date().isoformat(),
                "scheduled_for_1": start.time().isoformat("seconds"),
                "scheduled_until_0": until.date().isoformat(),  # extended
                "scheduled_until_1": until.time().isoformat("seconds"),
                "scheduled_auto_in_progress": "on",
                # automatic completion switched off
                "deliver_notifications": "on",
            },
        )
    assert response.status_code == 302, response.content.decode()[:3000]
    maintenance.refresh_from_db()
    assert maintenance.name == "Core switch firmware, part 2"
    assert maintenance.scheduled_until == until
    assert maintenance.scheduled_auto_completed is False
    assert len(got) == 1, got.types()
    assert version(it_page) == before + 1
    assert len(notices_to("ann@example.com")) == 1  # the extension, said once


def test_an_it_template_refuses_a_telephony_component_in_the_admin(
    root_client, it_page, phone_page
):
    inbound = comp(phone_page, "Inbound calls")
    response = root_client.post(
        reverse("admin:incidents_incidenttemplate_add"),
        {
            "_save": "Save",
            "page": it_page.pk,
            "name": "Phones down",
            "title": "Phones down",
            "body": "We are looking into it.",
            "impact": "major",
            "update_status": "investigating",
            "components": [inbound.pk],
        },
    )
    assert not IncidentTemplate.objects.filter(components=inbound).exists()
    assert response.status_code in (200, 302)
    followed = root_client.get(response["Location"]) if response.status_code == 302 else response
    assert "No component with id" in followed.content.decode()


# --- Rules that were copied and drifted ------------------------------------------------------


@pytest.mark.parametrize("door", ["open", "post_update", "change", "template"])
def test_impact_maintenance_is_refused_for_an_incident_whichever_door(door, it_page):
    incident = services.open_incident(it_page, actor=None, name="Down", body="Looking.")
    with pytest.raises(ServiceError) as refused:
        if door == "open":
            services.open_incident(
                it_page, actor=None, name="Down", body="Looking.", impact="maintenance"
            )
        elif door == "post_update":
            services.post_update(incident, actor=None, body="More.", impact="maintenance")
        elif door == "change":
            services.change_incident(incident, actor=None, impact="maintenance")
        else:
            template = IncidentTemplate(
                page=it_page, name="t", title="t", body="t", impact="maintenance"
            )
            services.save_incident_template(template, actor=None)
    assert refused.value.field == "impact"
    assert "none, minor, major, critical" in refused.value.message


def test_opening_from_a_template_uses_its_status(it_page):
    template = services.save_incident_template(
        IncidentTemplate(
            page=it_page,
            name="Fibre cut",
            title="Fibre cut",
            body="A fibre was cut; the repair crew is on its way.",
            impact="major",
            update_status="identified",
        ),
        actor=None,
        components=[comp(it_page, "Internet access").pk],
    )
    incident = services.open_incident(it_page, actor=None, template=template)
    assert incident.status == "identified" and incident.identified_at is not None
    assert incident.updates.get().status == "identified"
    assert comp(it_page, "Internet access").status == "partial_outage"


# --- The version never moves back -------------------------------------------------------------


@pytest.mark.parametrize("save", ["page", "group", "template"])
def test_saving_a_stale_object_never_moves_the_version_back(save, it_page):
    stale_page = Page.objects.get(pk=it_page.pk)
    group = services.save_group(
        type(it_page.groups.first())(page=stale_page, name="Hosting"), actor=None
    )
    template = services.save_incident_template(
        IncidentTemplate(page=stale_page, name="t", title="t", body="t"), actor=None
    )
    stale_page = Page.objects.get(pk=it_page.pk)
    for _ in range(3):
        services.open_incident(it_page, actor=None, name="Down", body="Looking.")
    newest = version(it_page)
    if save == "page":
        stale_page.name = "IT"
        services.save_page(stale_page, actor=None)
    elif save == "group":
        group.page = stale_page
        group.name = "Hosting and mail"
        services.save_group(group, actor=None)
    else:
        template.page = stale_page
        template.title = "Down"
        services.save_incident_template(template, actor=None)
    assert version(it_page) == newest + 1


# --- One event around every admin save ---------------------------------------------------------


def form_data(response) -> dict:
    """What a browser would send back from an admin change form, unchanged."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        forms += [formset.management_form, *formset.forms]
    for form in forms:
        for bound in form:
            value = bound.value()
            if value is None or value is False:
                continue
            if value is True:
                value = "on"
            data[bound.html_name] = value
        for name, widget_value in _multi_widget_values(form).items():
            data.update(widget_value)
            data.pop(name, None)
    return data


def _multi_widget_values(form) -> dict:
    """Split date/time widgets into their `_0`/`_1` inputs."""
    out = {}
    for bound in form:
        widget = bound.field.widget
        if hasattr(widget, "widgets") and not isinstance(bound.value(), list):
            values = widget.decompress(bound.value())
            out[bound.html_name] = {
                f"{bound.html_name}_{i}": "" if v is None else v for i, v in enumerate(values)
            }
    return out


@pytest.mark.parametrize(
    ("model", "obj", "change"),
    [
        ("page", lambda page: page, {"name": "IT"}),
        ("componentgroup", lambda page: page.groups.first(), {"name": "Networks"}),
        (
            "component",
            lambda page: comp(page, "VPN"),
            {"status": "major_outage", "description": "Remote access."},
        ),
    ],
)
def test_every_admin_save_is_one_event_and_one_audit_row(
    model, obj, change, root_client, it_page, captured_events
):
    from incidents.models import AuditEntry

    target = obj(it_page)
    url = reverse(f"admin:incidents_{model}_change", args=[target.pk])
    data = {**form_data(root_client.get(url)), **change, "_save": "Save"}
    before, mark = version(it_page), AuditEntry.objects.count()
    with captured_events() as got:
        response = root_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert len(got) == 1, got.types()
    assert version(it_page) == before + 1
    assert AuditEntry.objects.count() == mark + 1


@pytest.mark.parametrize("action", ["update", "resolve", "reopen"])
def test_every_incident_admin_action_is_one_event(action, alice_client, it_page, captured_events):
    incident = services.open_incident(
        it_page,
        actor=None,
        name="Down",
        body="Looking.",
        components={comp(it_page, "VPN").pk: "major_outage"},
    )
    if action == "reopen":
        services.resolve_incident(incident, actor=None)
    fields = {
        "update": {"status": "identified", "body": "Found it.", "deliver_notifications": "on"},
        "resolve": {"body": "", "deliver_notifications": "on"},
        "reopen": {"status": "investigating", "body": "Back.", "deliver_notifications": "on"},
    }[action]
    with captured_events() as got:
        response = alice_client.post(
            reverse("admin:incidents_incident_change", args=[incident.pk]),
            {"action": action, **fields},
        )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert len(got) == 1, got.types()


@pytest.mark.parametrize("transition", ["start", "cancel"])
def test_maintenance_buttons_are_one_event(transition, alice_client, it_page, captured_events):
    maintenance = _maintenance(it_page, starts_in=dt.timedelta(hours=2))
    with captured_events() as got:
        alice_client.post(
            reverse("admin:incidents_maintenance_transition", args=[maintenance.pk, transition])
        )
    assert len(got) == 1, got.types()


def test_the_page_object_advertises_only_what_exists(api):
    page = api.get("pages/it").json()
    assert page["allow_page_subscribers"] is True and page["allow_email_subscribers"] is True
    assert page["allow_rss_atom_feeds"] is True
    assert page["allow_incident_subscribers"] is False
    assert page["allow_sms_subscribers"] is False
    # Webhook subscribers exist (the public form and the subscribers API take them).
    assert page["allow_webhook_subscribers"] is True


def test_one_rule_for_a_pages_public_address(it_page, settings):
    settings.SITE_URL = "https://status.example.com"
    assert it_page.public_url() == "https://status.example.com/p/it/"
    assert it_page.public_url("incidents/3/") == "https://status.example.com/p/it/incidents/3/"
    it_page.custom_host = "status.it.example.com"
    assert it_page.public_url("history/") == "https://status.it.example.com/history/"
    from notifications.emails import page_url

    assert page_url(it_page, "unsubscribe/t/") == "https://status.it.example.com/unsubscribe/t/"
