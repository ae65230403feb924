"""Writes to incidents: open, post an update, resolve, reopen, fix a typo, delete."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents import events, validators
from incidents.models import (
    CLOSED_STATUSES,
    COMPONENT_SEVERITY,
    Component,
    ComponentStatus,
    Incident,
    IncidentComponent,
    IncidentStatus,
    IncidentTemplate,
    IncidentUpdate,
    Page,
)
from incidents.translations import clean_translations, other_languages

from . import audit
from .audit import intent
from .base import ServiceError, TransitionError, actor_fields, publish_event
from .components import record_status_change, validate_component_status
from .rules import (
    ACTIVE_MAINTENANCE_STATUSES,
    MAINTENANCE_TRANSITIONS,
    STATUS_FOR_IMPACT,
    default_body,
    impact_for,
    validate_impact,
    validate_new_incident_status,
    validate_reopen_status,
    validate_transition,
)

__all__ = ["MAINTENANCE_TRANSITIONS", "impact_for"]  # re-exported for older imports

MAX_TITLE = 200
MAX_BODY = 20_000

# Components by model, id or id as text (mappings are invariant in their key: one per kind).
ComponentStatuses = Mapping[Component, str] | Mapping[int, str] | Mapping[str, str]


def incident_data(incident: Incident, update: IncidentUpdate | None = None) -> dict[str, Any]:
    """What an event says about an incident: enough for listeners to load the rest."""
    return {
        "incident": {
            "id": incident.pk,
            "public_id": incident.public_id,
            "kind": incident.kind,
            "name": incident.name,
            "status": incident.status,
            "impact": incident.impact,
        },
        "update": None
        if update is None
        else {
            "id": update.pk,
            "public_id": update.public_id,
            "status": update.status,
            "deliver_notifications": update.deliver_notifications,
            "affected_components": update.affected_components,
        },
        "component_ids": sorted(incident.affected.values_list("component_id", flat=True)),
    }


def _clean_text(value: str | None, *, field: str, label: str, limit: int) -> str:
    value = (value or "").strip()
    if not value:
        raise ServiceError(
            _("%(label)s is required.") % {"label": label}, code="required", field=field
        )
    return validators.within_limit(value, field=field, label=label, limit=limit)


def _titles(page: Page, value: Any) -> dict[str, str]:
    """An incident's title in other languages, checked as the title is (one line)."""
    return clean_translations(
        value,
        page_language=page.default_language,
        field="name",
        label=_("A title"),
        limit=MAX_TITLE,
        one_line=True,
    )


def _messages(
    page: Page, value: Any, *, defaulted: bool, status: str, cancelled: bool = False
) -> dict[str, str]:
    """An update's message in other languages. When the message itself is the status's
    default text, each language without a translation gets that default text in it."""
    cleaned = clean_translations(
        value,
        page_language=page.default_language,
        field="body",
        label=_("A message"),
        limit=MAX_BODY,
        one_line=False,
    )
    if defaulted:
        for language, _name in other_languages(page.default_language):
            cleaned.setdefault(language, default_body(language, status, cancelled=cancelled))
    return cleaned


def resolve_components(page: Page, components: ComponentStatuses | None) -> dict[Component, str]:
    """Turn {component or id: status} into components of this page, or say which is wrong."""
    if not components:
        return {}
    ids = {}
    for key, status in components.items():
        validate_component_status(status, field="components")
        try:
            ids[int(key.pk if isinstance(key, Component) else key)] = status
        except (TypeError, ValueError):
            raise ServiceError(
                _("“%(id)s” is not a component id.") % {"id": key},
                code="unknown_component",
                field="components",
            ) from None
    found = components_of_page(page.pk, ids, field="components", lock=True)
    return {found[pk]: status for pk, status in ids.items()}


def components_of_page(
    page_id: int, ids, *, field: str, lock: bool = False
) -> dict[int, Component]:
    """The page's components with these ids, by id; or an error naming the ids it lacks."""
    query = Component.objects.filter(page_id=page_id, pk__in=ids)
    found = {c.pk: c for c in (query.select_for_update() if lock else query)}
    missing = sorted(set(ids) - set(found))
    if missing:
        raise ServiceError(
            _("No component with id %(ids)s on this page.")
            % {"ids": ", ".join(str(i) for i in missing)},
            code="unknown_component",
            field=field,
        )
    return found


def _open_incidents_affecting(component: Component, *, excluding: Incident):
    return (
        IncidentComponent.objects.filter(component=component)
        .exclude(incident=excluding)
        .exclude(incident__status__in=(*CLOSED_STATUSES, IncidentStatus.SCHEDULED))
        .select_related("incident")
    )


def release_components(incident: Incident, *, actor: Any, at=None) -> list[dict[str, Any]]:
    """Give back the components an incident held, now that it is over; report what changed
    (the closing update lists the components that went back).

    A component another open incident (or active maintenance) still affects takes the worst
    status those give it. Otherwise an incident returns it to operational, and maintenance to the
    status it had before the maintenance started.
    """
    released = []
    for link in incident.affected.select_related("component"):
        component = Component.objects.select_for_update().get(pk=link.component_id)
        others = list(_open_incidents_affecting(component, excluding=incident))
        if others:
            target = max((o.status for o in others), key=lambda s: COMPONENT_SEVERITY[s])
        elif incident.is_maintenance:
            target = link.status_before
        else:
            target = ComponentStatus.OPERATIONAL
        old_status = component.status
        if record_status_change(component, target, actor=actor, incident=incident, at=at):
            released.append(
                {
                    "code": component.pk,
                    "name": component.name,
                    "old_status": old_status,
                    "new_status": target,
                }
            )
    return released


def apply_component_statuses(
    incident: Incident, statuses: dict[Component, str], *, actor: Any, at=None
) -> list[dict[str, Any]]:
    """Attach components to an incident with the status it gives them; report what changed."""
    affected = []
    for component, status in sorted(statuses.items(), key=lambda item: item[0].pk):
        link, created = IncidentComponent.objects.get_or_create(
            incident=incident,
            component=component,
            defaults={"status": status, "status_before": component.status},
        )
        if not created and link.status != status:
            link.status = status
            link.save(update_fields=["status"])
        old_status = component.status
        if not incident.is_resolved:
            record_status_change(component, status, actor=actor, incident=incident, at=at)
        affected.append(
            {
                "code": component.pk,
                "name": component.name,
                "old_status": old_status,
                "new_status": status,
            }
        )
    return affected


def _stamp_status_times(incident: Incident, status: str, at) -> None:
    if status == IncidentStatus.IDENTIFIED and not incident.identified_at:
        incident.identified_at = at
    elif status == IncidentStatus.MONITORING and not incident.monitoring_at:
        incident.monitoring_at = at
    elif status in CLOSED_STATUSES:
        incident.resolved_at = at


def _append_update(
    incident: Incident,
    *,
    actor: Any,
    status: str,
    body: str,
    affected: list[dict[str, Any]],
    deliver_notifications: bool,
    at,
    body_translations: dict[str, str] | None = None,
) -> IncidentUpdate:
    user, name = actor_fields(actor)
    note: dict[str, Any] = {"status": status, "body": body, "affected_components": affected}
    if body_translations:
        note["body_translations"] = body_translations
    audit.note("update", note)
    return IncidentUpdate.objects.create(
        incident=incident,
        status=status,
        body=body,
        body_translations=body_translations or {},
        affected_components=affected,
        deliver_notifications=deliver_notifications,
        author=user,
        author_name=name,
        created_at=at,
        updated_at=at,
        display_at=at,
    )


@intent("open_incident")
@transaction.atomic
def open_incident(
    page: Page,
    *,
    actor: Any,
    name: str = "",
    body: str = "",
    status: str | None = None,
    impact: str | None = None,
    components: ComponentStatuses | None = None,
    deliver_notifications: bool = True,
    template: IncidentTemplate | None = None,
    name_translations: Mapping[str, str] | None = None,
    body_translations: Mapping[str, str] | None = None,
) -> Incident:
    """Open an incident with its first update and set the affected components' status.

    A template fills a missing title, message, status and impact (and its components, at the
    status its impact stands for; its translations with the title and message it gave).
    Without a message the status's default text is posted (in every language). Translations
    are checked as the texts they translate (`incidents.translations`). Emits
    `incident.created`.
    """
    if template is not None:
        if template.page_id != page.pk:
            raise ServiceError(
                _("That template belongs to another page."),
                code="unknown_template",
                field="template",
            )
        if not name:
            name = template.title
            name_translations = name_translations or template.title_translations
        if not body:
            body = template.body
            body_translations = body_translations or template.body_translations
        status = status or template.update_status
        impact = impact or template.impact
        if not components:
            # The template's components, at the status its impact stands for.
            held = STATUS_FOR_IMPACT.get(impact)
            components = {c.pk: held for c in template.components.all()} if held else None
    status = validate_new_incident_status(status or IncidentStatus.INVESTIGATING)
    name = validators.one_line_text(name, field="name", label=_("A title"), limit=MAX_TITLE)
    titles = _titles(page, name_translations)
    messages = _messages(page, body_translations, defaulted=not body, status=status)
    body = _clean_text(
        body or default_body(page.default_language, status),
        field="body",
        label=_("A message"),
        limit=MAX_BODY,
    )
    statuses = resolve_components(page, components)
    if impact is None:
        impact = impact_for(list(statuses.values()))
    validate_impact(impact)
    now = timezone.now()
    incident = Incident.objects.create(
        page=page,
        kind=Incident.Kind.INCIDENT,
        name=name,
        name_translations=titles,
        status=status,
        impact=impact,
        created_at=now,
        updated_at=now,
        started_at=now,
    )
    _stamp_status_times(incident, status, now)
    incident.save()
    affected = apply_component_statuses(incident, statuses, actor=actor, at=now)
    update = _append_update(
        incident,
        actor=actor,
        status=status,
        body=body,
        affected=affected,
        deliver_notifications=deliver_notifications,
        at=now,
        body_translations=messages,
    )
    publish_event(page, events.INCIDENT_CREATED, incident_data(incident, update))
    return incident


@intent("post_update")
@transaction.atomic
def post_update(
    incident: Incident,
    *,
    actor: Any,
    status: str | None = None,
    body: str = "",
    components: ComponentStatuses | None = None,
    deliver_notifications: bool = True,
    impact: str | None = None,
    body_translations: Mapping[str, str] | None = None,
) -> IncidentUpdate:
    """Append an update: new status and message (optionally translated), and optionally new
    component statuses.

    Validates the lifecycle step (a resolved incident needs `reopen_incident` first). Resolving
    gives the components back (see `release_components`). Emits `incident.updated` or
    `incident.resolved` (`maintenance.*` for maintenance).
    """
    incident = Incident.objects.select_for_update().select_related("page").get(pk=incident.pk)
    status = status or incident.status
    validate_transition(incident, status)
    body = _clean_text(body, field="body", label=_("A message"), limit=MAX_BODY)
    messages = _messages(incident.page, body_translations, defaulted=False, status=status)
    statuses = resolve_components(incident.page, components)
    if impact is not None:
        incident.impact = validate_impact(impact, maintenance=incident.is_maintenance)
    now = timezone.now()
    previous = incident.status
    incident.status = status
    incident.updated_at = now
    _stamp_status_times(incident, status, now)
    holds_components = not incident.is_resolved and (
        not incident.is_maintenance or status in ACTIVE_MAINTENANCE_STATUSES
    )
    if incident.is_maintenance and previous == IncidentStatus.SCHEDULED and holds_components:
        # Maintenance gives back what its components had when it started, not when announced.
        for link in incident.affected.select_related("component"):
            link.status_before = link.component.status
            link.save(update_fields=["status_before"])
    if holds_components:
        affected = apply_component_statuses(incident, statuses, actor=actor, at=now)
    else:
        # Record which components this update is about without changing them.
        affected = _note_components(incident, statuses)
    if incident.is_resolved and previous not in CLOSED_STATUSES:
        released = {c["code"]: c for c in release_components(incident, actor=actor, at=now)}
        affected = [released.pop(c["code"], c) for c in affected] + list(released.values())
    incident.save()
    update = _append_update(
        incident,
        actor=actor,
        status=status,
        body=body,
        affected=affected,
        deliver_notifications=deliver_notifications,
        at=now,
        body_translations=messages,
    )
    publish_event(incident.page, _update_event(incident, previous), incident_data(incident, update))
    return update


def _note_components(incident: Incident, statuses: dict[Component, str]) -> list[dict[str, Any]]:
    affected = []
    for component, status in sorted(statuses.items(), key=lambda item: item[0].pk):
        IncidentComponent.objects.update_or_create(
            incident=incident,
            component=component,
            defaults={"status": status},
            create_defaults={"status": status, "status_before": component.status},
        )
        affected.append(
            {
                "code": component.pk,
                "name": component.name,
                "old_status": component.status,
                "new_status": component.status,
            }
        )
    return affected


def _update_event(incident: Incident, previous: str) -> str:
    if incident.is_maintenance:
        if incident.status == IncidentStatus.COMPLETED:
            return events.MAINTENANCE_COMPLETED
        if incident.status == IncidentStatus.IN_PROGRESS and previous == IncidentStatus.SCHEDULED:
            return events.MAINTENANCE_STARTED
        return events.MAINTENANCE_UPDATED
    if incident.status == IncidentStatus.RESOLVED:
        return events.INCIDENT_RESOLVED
    return events.INCIDENT_UPDATED


@intent("resolve_incident")
def resolve_incident(
    incident: Incident,
    *,
    actor: Any,
    body: str = "",
    deliver_notifications: bool = True,
    body_translations: Mapping[str, str] | None = None,
) -> IncidentUpdate:
    """Post the resolving update (a default message in every language if none is given)."""
    if not body:
        body = default_body(incident.page.default_language, IncidentStatus.RESOLVED)
        body_translations = _messages(
            incident.page, body_translations, defaulted=True, status=IncidentStatus.RESOLVED
        )
    return post_update(
        incident,
        actor=actor,
        status=IncidentStatus.RESOLVED,
        body=body,
        deliver_notifications=deliver_notifications,
        body_translations=body_translations,
    )


@intent("reopen_incident")
@transaction.atomic
def reopen_incident(
    incident: Incident,
    *,
    actor: Any,
    body: str = "",
    status: str = IncidentStatus.INVESTIGATING,
    components: ComponentStatuses | None = None,
    deliver_notifications: bool = True,
    body_translations: Mapping[str, str] | None = None,
) -> IncidentUpdate:
    """Explicitly reopen a resolved incident: it takes its components back, at the statuses
    given in `components` (others at the status the incident last gave them). Without a message
    the status's default text is posted. Emits `incident.reopened`."""
    incident = Incident.objects.select_for_update().select_related("page").get(pk=incident.pk)
    if incident.is_maintenance or incident.status != IncidentStatus.RESOLVED:
        raise TransitionError(_("Only a resolved incident can be reopened."))
    validate_reopen_status(status)
    messages = _messages(incident.page, body_translations, defaulted=not body, status=status)
    body = _clean_text(
        body or default_body(incident.page.default_language, status),
        field="body",
        label=_("A message"),
        limit=MAX_BODY,
    )
    statuses = resolve_components(incident.page, components)
    now = timezone.now()
    incident.status = status
    incident.resolved_at = None
    incident.updated_at = now
    incident.save(update_fields=["status", "resolved_at", "updated_at"])
    held = {link.component_id: link.status for link in incident.affected.all()}
    held.update({component.pk: status for component, status in statuses.items()})
    targets = {
        component: held[component.pk]
        for component in Component.objects.select_for_update().filter(pk__in=held)
    }
    affected = apply_component_statuses(incident, targets, actor=actor, at=now)
    update = _append_update(
        incident,
        actor=actor,
        status=status,
        body=body,
        affected=affected,
        deliver_notifications=deliver_notifications,
        at=now,
        body_translations=messages,
    )
    publish_event(incident.page, events.INCIDENT_REOPENED, incident_data(incident, update))
    return update


@intent("edit_update")
@transaction.atomic
def edit_update(
    update: IncidentUpdate,
    *,
    actor: Any,
    body: str | None = None,
    body_translations: Mapping[str, str] | None = None,
) -> IncidentUpdate:
    """Fix the text of a posted update (a typo), or its translations (given ones replace the
    stored ones; an empty text removes one). Subscribers are not notified again."""
    update = (
        IncidentUpdate.objects.select_for_update()
        .select_related("incident__page")
        .get(pk=update.pk)
    )
    fields = ["updated_at"]
    if body is not None or body_translations is None:
        update.body = _clean_text(body, field="body", label=_("A message"), limit=MAX_BODY)
        fields.append("body")
    if body_translations is not None:
        update.body_translations = _messages(
            update.incident.page, body_translations, defaulted=False, status=update.status
        )
        fields.append("body_translations")
    update.updated_at = timezone.now()
    update.save(update_fields=fields)
    incident = update.incident
    publish_event(
        incident.page,
        events.INCIDENT_UPDATE_EDITED,
        {"incident": {"id": incident.pk}, "update": {"id": update.pk}},
    )
    return update


@intent("change_incident")
@transaction.atomic
def change_incident(
    incident: Incident,
    *,
    actor: Any,
    name: str | None = None,
    impact: str | None = None,
    phone_message: str | None = None,
    name_translations: Mapping[str, str] | None = None,
) -> Incident:
    """Edit an incident's details without posting an update (no notification). Given
    `name_translations` replace the stored ones.

    The postmortem has its own workflow (`incidents.services.postmortems`)."""
    incident = Incident.objects.select_for_update().select_related("page").get(pk=incident.pk)
    if name is not None:
        incident.name = validators.one_line_text(
            name, field="name", label=_("A title"), limit=MAX_TITLE
        )
    if name_translations is not None:
        incident.name_translations = _titles(incident.page, name_translations)
    if impact is not None:
        incident.impact = validate_impact(impact, maintenance=incident.is_maintenance)
    if phone_message is not None:
        incident.phone_message = phone_message.strip()
    incident.updated_at = timezone.now()
    incident.save()
    publish_event(incident.page, events.INCIDENT_CHANGED, incident_data(incident))
    return incident


@intent("delete_incident")
@transaction.atomic
def delete_incident(incident: Incident, *, actor: Any) -> None:
    """Delete an incident (a mistake, a test); an open one gives its components back first."""
    incident = Incident.objects.select_for_update().select_related("page").get(pk=incident.pk)
    if not incident.is_resolved and (
        not incident.is_maintenance or incident.status in ACTIVE_MAINTENANCE_STATUSES
    ):
        release_components(incident, actor=actor)
    page = incident.page
    data = {"incident": {"id": incident.pk, "kind": incident.kind, "name": incident.name}}
    incident.delete()
    publish_event(page, events.INCIDENT_DELETED, data)
