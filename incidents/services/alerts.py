"""Monitoring in: alerts from Alertmanager or Grafana change components by themselves.

One webhook request is one intent (`receive_alerts`): one transaction, one event per page.
Automation never overwrites a person: a firing alert leaves alone a component an engineer set
(or an open incident holds), and a resolved alert puts back only what automation itself set,
and only if nobody changed the component since. Repeated notifications of one alert
(same fingerprint) change nothing; a resolved alert waits its rule's hold-down before the
component goes back, so a flapping alert does not flap the page.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents import events
from incidents.models import (
    CLOSED_STATUSES,
    COMPONENT_SEVERITY,
    AlertDraft,
    AlertRule,
    AlertState,
    Component,
    ComponentStatus,
    ComponentStatusChange,
    IncidentComponent,
    IncidentStatus,
    Page,
    status_for_severity,
)

from .audit import record
from .base import ServiceError, System, publish_event
from .components import component_data, record_status_change, validate_component_status
from .incidents import open_incident, resolve_incident

SOURCES = ("alertmanager", "grafana")
State = AlertState.State


@dataclass(frozen=True)
class Alert:
    """One alert as the monitoring tool reported it, in either tool's payload."""

    fingerprint: str
    firing: bool
    labels: dict[str, str]
    summary: str = ""

    @staticmethod
    def fingerprint_of(labels: dict[str, str]) -> str:
        text = json.dumps(labels, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass
class AlertReport:
    """What one webhook request did, per alert: returned to the monitoring tool as JSON."""

    changed: list[dict[str, Any]] = field(default_factory=list)
    unchanged: list[dict[str, Any]] = field(default_factory=list)
    ignored: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"changed": self.changed, "unchanged": self.unchanged, "ignored": self.ignored}


def integration_actor(source: str, key_name: str = "") -> System:
    """How automation appears in history and audit: the integration, and the key it used."""
    name = f"integration:{source}"
    return System(f"{name} ({key_name})" if key_name else name, kind="integration")


def _is_automation(change: ComponentStatusChange | None) -> bool:
    return (
        change is not None
        and change.actor_id is None
        and change.actor_name.startswith("integration:")
    )


def _latest_change(component: Component) -> ComponentStatusChange | None:
    return (
        ComponentStatusChange.objects.filter(component=component)
        .order_by("-changed_at", "-id")
        .first()
    )


def _rule_for(rules: list[AlertRule], labels: dict[str, str]) -> AlertRule | None:
    for rule in rules:
        matchers = rule.matchers or {}
        if all(str(labels.get(k, "")) == str(v) for k, v in matchers.items()):
            return rule
    return None


def _component_for(
    components: list[Component], rule: AlertRule | None, labels: dict
) -> Component | None:
    if rule is not None and rule.component_id:
        return next((c for c in components if c.pk == rule.component_id), None)
    wanted = str(labels.get("component", "")).strip()
    if not wanted:
        return None
    for component in components:
        # The label may carry the id the API shows (whatever its form) or the exact name.
        public_id = str(getattr(component, "public_id", None) or component.pk)
        if wanted in (public_id, component.name):
            return component
    return None


def _open_incident_holding(component: Component) -> IncidentComponent | None:
    return (
        IncidentComponent.objects.filter(component=component)
        .exclude(incident__status__in=(*CLOSED_STATUSES, IncidentStatus.SCHEDULED))
        .select_related("incident")
        .first()
    )


@transaction.atomic
def receive_alerts(page: Page, alerts: list[Alert], *, source: str, actor: System) -> AlertReport:
    """Apply a batch of firing/resolved alerts to the page's components.

    Validates each alert's component; emits at most one `component.updated` event for the page.
    """
    if source not in SOURCES:
        raise ServiceError(_("Unknown alert source."), code="invalid", field="source")
    now = timezone.now()
    report = AlertReport()
    rules = list(AlertRule.objects.filter(page=page, enabled=True).select_related("template"))
    components = list(Component.objects.select_for_update().filter(page=page).order_by("pk"))
    changed: dict[int, Component] = {}
    for alert in alerts:
        entry = {"fingerprint": alert.fingerprint, "alertname": alert.labels.get("alertname", "")}
        rule = _rule_for(rules, alert.labels)
        component = _component_for(components, rule, alert.labels)
        if component is None:
            entry["reason"] = _("No component matches this alert (label “component” or a rule).")
            report.ignored.append(entry)
            continue
        entry["component"] = component.name
        status = status_for_severity(
            alert.labels.get("severity", ""), rule.severity_statuses if rule else None
        )
        try:
            validate_component_status(status, field="severity_statuses")
        except ServiceError as exc:
            entry["reason"] = exc.message
            report.ignored.append(entry)
            continue
        state = (
            AlertState.objects.select_for_update()
            .filter(page=page, fingerprint=alert.fingerprint)
            .first()
        )
        if alert.firing:
            did = _fire(page, state, alert, rule, component, status, source, actor, now)
        else:
            did = _resolve(state, rule, now, actor)
        entry.update(did)
        if did.get("changed"):
            changed[component.pk] = component
            report.changed.append(entry)
        else:
            report.unchanged.append(entry)
    if changed:
        publish_event(
            page,
            events.COMPONENT_UPDATED,
            {"components": [component_data(c) for c in changed.values()]},
        )
        # The audit trail shows the integration as the actor, with what each alert did.
        record(actor, action="receive_alerts", obj=None, page=page, changes=report.as_dict())
    return report


def _fire(page, state, alert, rule, component, status, source, actor, now) -> dict[str, Any]:
    if state is not None and state.state == State.FIRING and state.component_id == component.pk:
        AlertState.objects.filter(pk=state.pk).update(last_seen_at=now)
        return {"changed": False, "note": "duplicate"}
    if state is not None and state.state == State.RESOLVING and state.component_id == component.pk:
        # Fired again within the hold-down: it never stopped, as far as the page is concerned.
        AlertState.objects.filter(pk=state.pk).update(
            state=State.FIRING, last_seen_at=now, resolved_at=None, restore_after=None
        )
        return {"changed": False, "note": "fired again within the hold-down"}
    fields = {
        "source": source,
        "rule": rule,
        "component": component,
        "alertname": alert.labels.get("alertname", "")[:200],
        "labels": alert.labels,
        "summary": alert.summary,
        "state": State.FIRING,
        "status": status,
        "status_before": "",
        "applied_change": None,
        "held_by": "",
        "incident": None,
        "started_at": now,
        "last_seen_at": now,
        "resolved_at": None,
        "restore_after": None,
    }
    if state is None:
        state = AlertState(page=page, fingerprint=alert.fingerprint, **fields)
    else:
        for key, value in fields.items():
            setattr(state, key, value)
    action = rule.incident_action if rule is not None and rule.template_id else "none"
    if action == AlertRule.IncidentAction.PUBLISH:
        state.status_before = component.status
        state.save()
        incident = open_incident(
            page, actor=actor, template=rule.template, components={component.pk: status}
        )
        latest = _latest_change(component)
        AlertState.objects.filter(pk=state.pk).update(
            incident=incident, applied_change=latest if _is_automation(latest) else None
        )
        component.refresh_from_db(fields=["status", "updated_at"])
        return {"changed": True, "status": status, "incident": incident.pk}
    held = _held_by(component, status)
    if held:
        state.held_by = held[:200]
        state.save()
        _maybe_draft(state, rule, component, status)
        return {"changed": False, "note": held}
    latest = _latest_change(component)
    ours = (
        AlertState.objects.filter(
            applied_change=latest, state__in=[State.FIRING, State.RESOLVING]
        ).first()
        if latest is not None
        else None
    )
    state.status_before = ours.status_before if ours is not None else component.status
    changed = record_status_change(component, status, actor=actor)
    state.applied_change = _latest_change(component) if changed else latest
    state.save()
    if ours is not None and changed:
        # The component's automation history moves on to the newest row.
        AlertState.objects.filter(
            component=component, applied_change=latest, state__in=[State.FIRING, State.RESOLVING]
        ).update(applied_change=state.applied_change)
    _maybe_draft(state, rule, component, status)
    return {"changed": changed, "status": status}


def _held_by(component: Component, status: str) -> str:
    """Why automation must leave this component alone ("" when it may set `status`)."""
    link = _open_incident_holding(component)
    if link is not None:
        return f"held by the open incident “{link.incident.name}”"
    if component.status == ComponentStatus.OPERATIONAL:
        return ""
    latest = _latest_change(component)
    if _is_automation(latest):
        if COMPONENT_SEVERITY[status] <= COMPONENT_SEVERITY[component.status]:
            return "already at this status or worse by another alert"
        return ""
    who = latest.actor_name if latest is not None else "a person"
    return f"set to {component.status} by {who}"


def _maybe_draft(state: AlertState, rule, component: Component, status: str) -> None:
    if (
        rule is None
        or rule.incident_action != AlertRule.IncidentAction.DRAFT
        or not rule.template_id
    ):
        return
    if AlertDraft.objects.filter(
        alert=state, published_at__isnull=True, dismissed_at__isnull=True
    ).exists():
        return
    AlertDraft.objects.create(
        page=state.page, alert=state, template=rule.template, component=component, status=status
    )


def _resolve(state, rule, now, actor) -> dict[str, Any]:
    if state is None or state.state == State.RESOLVED:
        return {"changed": False, "note": "not firing"}
    if state.state == State.RESOLVING:
        return {"changed": False, "note": "duplicate"}
    hold_down = rule.hold_down_seconds if rule is not None else 0
    if state.rule_id is not None and state.rule is not None:
        hold_down = state.rule.hold_down_seconds
    state.state = State.RESOLVING
    state.resolved_at = now
    state.restore_after = now + dt.timedelta(seconds=hold_down)
    state.save(update_fields=["state", "resolved_at", "restore_after"])
    if hold_down > 0:
        return {"changed": False, "note": f"restores after {hold_down}s unless it fires again"}
    return {"changed": _restore(state, actor=actor)}


def _restore(state: AlertState, *, actor) -> bool:
    """Put the component back after a resolved alert; returns whether its status changed."""
    AlertState.objects.filter(pk=state.pk).update(state=State.RESOLVED, restore_after=None)
    state.state = State.RESOLVED
    if state.incident_id is not None:
        return _resolve_own_incident(state, actor=actor)
    if state.component_id is None or state.applied_change_id is None:
        return False
    component = Component.objects.select_for_update().get(pk=state.component_id)
    latest = _latest_change(component)
    if latest is None or latest.pk != state.applied_change_id:
        AlertState.objects.filter(pk=state.pk).update(held_by="changed by a person since")
        return False  # somebody changed it since: theirs to undo
    others = list(
        AlertState.objects.filter(
            component=component, applied_change=latest, state__in=[State.FIRING, State.RESOLVING]
        ).exclude(pk=state.pk)
    )
    if others:
        target = max((o.status for o in others), key=lambda s: COMPONENT_SEVERITY[s])
    else:
        target = state.status_before or ComponentStatus.OPERATIONAL
    changed = record_status_change(component, target, actor=actor)
    if changed and others:
        AlertState.objects.filter(pk__in=[o.pk for o in others]).update(
            applied_change=_latest_change(component)
        )
    return changed


def _resolve_own_incident(state: AlertState, *, actor) -> bool:
    """An incident automation published is resolved by automation only while nobody posted
    to it since."""
    incident = state.incident
    if incident is None or incident.is_resolved:
        return False
    authors = set(incident.updates.values_list("author_name", flat=True))
    if any(not (name or "").startswith("integration:") for name in authors):
        return False
    resolve_incident(incident, actor=actor)
    return True


def restore_resolved_alerts(now: dt.datetime | None = None) -> int:
    """The clock's part: restore components whose resolved alerts' hold-down ran out.

    One transaction and event per page. Returns how many alerts were restored.
    """
    now = now or timezone.now()
    due = (
        AlertState.objects.filter(state=State.RESOLVING, restore_after__lte=now)
        .values_list("page_id", flat=True)
        .distinct()
        .order_by()
    )
    count = 0
    for page in Page.objects.filter(pk__in=list(due)):
        count += _restore_page(page, now)
    return count


@transaction.atomic
def _restore_page(page: Page, now: dt.datetime) -> int:
    states = list(
        AlertState.objects.select_for_update(of=("self",))
        .filter(page=page, state=State.RESOLVING, restore_after__lte=now)
        .select_related("component", "incident")
        .order_by("pk")
    )
    changed = {}
    for state in states:
        actor = integration_actor(state.source)
        if _restore(state, actor=actor) and state.component_id:
            changed[state.component_id] = Component.objects.get(pk=state.component_id)
    if changed:
        publish_event(
            page,
            events.COMPONENT_UPDATED,
            {"components": [component_data(c) for c in changed.values()]},
        )
    return len(states)


@transaction.atomic
def publish_alert_draft(draft: AlertDraft, *, actor: Any):
    """An engineer publishes the incident automation prepared (one click): opens it from the
    template with the alert's component at the alert's status."""
    draft = (
        AlertDraft.objects.select_for_update().select_related("template", "page").get(pk=draft.pk)
    )
    if draft.published_at is not None or draft.dismissed_at is not None:
        raise ServiceError(_("This draft was already published or dismissed."), code="conflict")
    components = {draft.component_id: draft.status} if draft.component_id else None
    incident = open_incident(
        draft.page, actor=actor, template=draft.template, components=components
    )
    AlertDraft.objects.filter(pk=draft.pk).update(published_at=timezone.now(), incident=incident)
    return incident


@transaction.atomic
def dismiss_alert_draft(draft: AlertDraft, *, actor: Any) -> AlertDraft:
    AlertDraft.objects.filter(
        pk=draft.pk, published_at__isnull=True, dismissed_at__isnull=True
    ).update(dismissed_at=timezone.now())
    draft.refresh_from_db()
    return draft


@transaction.atomic
def save_alert_rule(rule: AlertRule, *, actor: Any) -> AlertRule:
    """Create or change a mapping rule: matchers are label → text, statuses are component
    statuses, the component and template belong to the rule's page."""
    rule.name = (rule.name or "").strip()
    if not rule.name:
        raise ServiceError(_("A rule needs a name."), code="required", field="name")
    if not isinstance(rule.matchers, dict) or not all(
        isinstance(k, str) and isinstance(v, str | int | float) for k, v in rule.matchers.items()
    ):
        raise ServiceError(
            _('Write label matchers as a JSON object of texts, like {"alertname": "VPNDown"}.'),
            field="matchers",
        )
    rule.matchers = {k: str(v) for k, v in rule.matchers.items()}
    if not isinstance(rule.severity_statuses, dict):
        raise ServiceError(
            _('Write statuses per severity as a JSON object, like {"critical": "major_outage"}.'),
            field="severity_statuses",
        )
    rule.severity_statuses = {
        str(k).lower(): validate_component_status(str(v), field="severity_statuses")
        for k, v in rule.severity_statuses.items()
    }
    if rule.component is not None and rule.component.page_id != rule.page_id:
        raise ServiceError(
            _("That component belongs to another page."),
            code="unknown_component",
            field="component",
        )
    if rule.template is not None and rule.template.page_id != rule.page_id:
        raise ServiceError(
            _("That template belongs to another page."),
            code="unknown_template",
            field="template",
        )
    if rule.incident_action != AlertRule.IncidentAction.NONE and not rule.template_id:
        raise ServiceError(
            _("Choose the incident template the draft or incident is made from."),
            code="required",
            field="template",
        )
    rule.save()
    return rule
