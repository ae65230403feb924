"""Writes to pages, component groups and components, with their status history."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents import events, validators
from incidents.models import (
    Component,
    ComponentGroup,
    ComponentStatus,
    ComponentStatusChange,
    Incident,
    Page,
    PageRole,
    Role,
    Visibility,
)
from incidents.permissions import can_manage_hosts, site_host

from . import audit
from .audit import intent
from .base import PermissionRefused, ServiceError, actor_fields, publish_event
from .uptime import rebuild_page_uptime, roll_up_component

COMPONENT_FIELDS = {
    "name",
    "description",
    "group",
    "position",
    "is_visible",
    "visibility",
    "status",
}


def component_data(component: Component) -> dict[str, Any]:
    return {
        "id": component.pk,
        "public_id": component.public_id,
        "name": component.name,
        "status": component.status,
        "group_id": component.group_id,
        "is_visible": component.is_visible,
        "visibility": component.visibility,
    }


def validate_visibility(visibility: str) -> str:
    if visibility not in Visibility.values:
        raise ServiceError(
            _("“%(value)s” is not a visibility; use one of: %(choices)s.")
            % {"value": visibility, "choices": ", ".join(Visibility.values)},
            code="invalid",
            field="visibility",
        )
    return visibility


def validate_component_status(status: str, *, field: str = "status") -> str:
    if status not in ComponentStatus.values:
        raise ServiceError(
            _("“%(status)s” is not a component status; use one of: %(choices)s.")
            % {"status": status, "choices": ", ".join(ComponentStatus.values)},
            code="invalid_status",
            field=field,
        )
    return status


def record_status_change(
    component: Component,
    new_status: str,
    *,
    actor: Any,
    incident: Incident | None = None,
    at=None,
) -> bool:
    """Set a component's status and append the history row. Returns whether it changed.

    Runs inside the caller's transaction; the caller publishes the event.
    """
    validate_component_status(new_status)
    old_status = component.status
    if old_status == new_status:
        return False
    at = at or timezone.now()
    user, name = actor_fields(actor)
    component.status = new_status
    component.updated_at = at
    Component.objects.filter(pk=component.pk).update(status=new_status, updated_at=at)
    ComponentStatusChange.objects.create(
        component=component,
        old_status=old_status,
        new_status=new_status,
        changed_at=at,
        actor=user,
        actor_name=name,
        incident=incident,
    )
    roll_up_component(component, until=at)  # keep the daily uptime rows current
    return True


def _check_group(page: Page, group: ComponentGroup | None) -> None:
    if group is not None and group.page_id != page.pk:
        raise ServiceError(
            _("The group “%(group)s” belongs to another page.") % {"group": group.name},
            code="unknown_group",
            field="group",
        )


def _check_unique_name(component: Component) -> None:
    clash = Component.objects.filter(
        page_id=component.page_id, group_id=component.group_id, name=component.name
    ).exclude(pk=component.pk)
    if clash.exists():
        raise ServiceError(
            _("A component named “%(name)s” already exists in this group.")
            % {"name": component.name},
            code="duplicate",
            field="name",
        )


@intent("create_component")
@transaction.atomic
def create_component(
    page: Page,
    *,
    actor: Any,
    name: str,
    group: ComponentGroup | None = None,
    description: str = "",
    position: int | None = None,
    status: str = ComponentStatus.OPERATIONAL,
    is_visible: bool = True,
    visibility: str = Visibility.PUBLIC,
) -> Component:
    """Add a component to a page; its first status is the start of its history."""
    name = validators.one_line_text(name, field="name", label=_("A component's name"), limit=120)
    validate_component_status(status)
    validate_visibility(visibility)
    _check_group(page, group)
    _check_component_cap(page)
    if position is None:
        position = page.components.count()
    component = Component(
        page=page,
        group=group,
        name=name,
        description=description,
        position=position,
        status=status,
        is_visible=is_visible,
        visibility=visibility,
    )
    _check_unique_name(component)
    component.save()
    user, actor_name = actor_fields(actor)
    ComponentStatusChange.objects.create(
        component=component,
        old_status="",
        new_status=status,
        changed_at=component.created_at,
        actor=user,
        actor_name=actor_name,
    )
    roll_up_component(component, until=component.created_at)
    publish_event(page, events.COMPONENT_UPDATED, {"component": component_data(component)})
    return component


@intent("update_component")
@transaction.atomic
def update_component(component: Component, *, actor: Any, **changes: Any) -> Component:
    """Change a component's fields; a status change is recorded in its history."""
    unknown = set(changes) - COMPONENT_FIELDS
    if unknown:
        raise ServiceError(
            _("Unknown component field(s): %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    component = Component.objects.select_for_update().get(pk=component.pk)
    was_public = component.is_public
    status = changes.pop("status", None)
    if "visibility" in changes:
        validate_visibility(changes["visibility"])
    if "name" in changes:
        changes["name"] = validators.one_line_text(
            changes["name"], field="name", label=_("A component's name"), limit=120
        )
    if "group" in changes:
        _check_group(component.page, changes["group"])
    for key, value in changes.items():
        setattr(component, key, value)
    _check_unique_name(component)
    component.save()
    if status is not None:
        record_status_change(component, status, actor=actor)
    # `was_public`: a component made hidden or customer-only leaves the public page (the live
    # push says so) though the public may not see it any more.
    publish_event(
        component.page,
        events.COMPONENT_UPDATED,
        {"component": {**component_data(component), "was_public": was_public}},
    )
    return component


@intent("set_component_status")
def set_component_status(component: Component, status: str, *, actor: Any) -> Component:
    """Set one component's status by hand (history row, version bump, event)."""
    return update_component(component, actor=actor, status=status)


@transaction.atomic
def bulk_set_component_status(
    components: Iterable[Component], status: str, *, actor: Any
) -> list[Component]:
    """Set many components (of one or more pages) at once: one event per page."""
    validate_component_status(status)
    changed: dict[int, list[Component]] = {}
    pages: dict[int, Page] = {}
    locked = Component.objects.select_for_update().select_related("page")
    before: dict[int, str] = {}
    for component in locked.filter(pk__in=[c.pk for c in components]).order_by("pk"):
        old_status = component.status
        if record_status_change(component, status, actor=actor):
            changed.setdefault(component.page_id, []).append(component)
            pages[component.page_id] = component.page
            before[component.pk] = old_status
    for page_id, page_components in changed.items():
        # One audit row per page: each page's engineers see what this did to their page.
        audit.record(
            actor,
            action="bulk_set_component_status",
            obj=None,
            page=pages[page_id],
            object_type="component",
            object_id=",".join(c.public_id for c in page_components),
            changes={
                str(c.pk): {"status": {"before": before[c.pk], "after": status}}
                for c in page_components
            },
        )
        publish_event(
            pages[page_id],
            events.COMPONENT_UPDATED,
            {"components": [component_data(c) for c in page_components]},
        )
    return [c for group in changed.values() for c in group]


@intent("delete_component")
@transaction.atomic
def delete_component(component: Component, *, actor: Any) -> None:
    page = component.page
    data = component_data(component)
    component.delete()
    publish_event(page, events.COMPONENT_DELETED, {"component": data})


@intent("save_group")
@transaction.atomic
def save_group(group: ComponentGroup, *, actor: Any) -> ComponentGroup:
    """Create or change a component group."""
    group.name = validators.one_line_text(
        group.name, field="name", label=_("A group's name"), limit=120
    )
    clash = ComponentGroup.objects.filter(page_id=group.page_id, name=group.name).exclude(
        pk=group.pk
    )
    if clash.exists():
        raise ServiceError(
            _("A group named “%(name)s” already exists on this page.") % {"name": group.name},
            code="duplicate",
            field="name",
        )
    group.save()
    publish_event(group.page, events.PAGE_UPDATED, {"group": {"id": group.pk, "name": group.name}})
    return group


@intent("delete_group")
@transaction.atomic
def delete_group(group: ComponentGroup, *, actor: Any) -> None:
    """Delete a group; its components stay on the page, ungrouped."""
    page = group.page
    data = {"id": group.pk, "name": group.name}
    group.delete()
    publish_event(page, events.PAGE_UPDATED, {"group_deleted": data})


def _check_component_cap(page: Page) -> None:
    cap = settings.MAX_COMPONENTS_PER_PAGE
    if Component.objects.filter(page=page).count() >= cap:
        raise ServiceError(
            _(
                "This page already has %(count)d components, the most one page may hold "
                "(MAX_COMPONENTS_PER_PAGE). Split it into several pages, or remove components "
                "nobody follows."
            )
            % {"count": cap},
            code="too_many_components",
            field="name",
        )


def _check_custom_host(page: Page, actor: Any) -> None:
    before = Page.objects.filter(pk=page.pk).values_list("custom_host", flat=True).first() or ""
    if page.custom_host == before:
        return
    if not can_manage_hosts(actor):
        raise PermissionRefused(
            _("Only an administrator who manages hosts may change a page's custom host."),
            field="custom_host",
        )
    if page.custom_host and page.custom_host == site_host():
        raise ServiceError(
            _(
                "%(host)s is this site's own host name (SITE_URL): a page cannot take it over. "
                "Use “default page” to show a page at / instead."
            )
            % {"host": page.custom_host},
            code="invalid",
            field="custom_host",
        )


@intent("save_page")
@transaction.atomic
def save_page(
    page: Page,
    *,
    actor: Any,
    support_hours: Iterable[tuple[str, int, Any, Any]] | None = None,
    roles: dict[Any, str] | None = None,
) -> Page:
    """Create or change a page's settings (name, hosts, branding, support desk), and, when
    given, its weekly opening hours and its engineers' roles (`{user: Role}`, the whole list):
    one intent, one event. Role changes are noted in the audit row; only superusers may
    change roles.

    One-line fields must be one line; only those allowed to manage hosts
    (`permissions.can_manage_hosts`) may change the custom host, and it may never be the main
    site's host (it would take over `/` for everyone).
    """
    for field, label, limit in (
        ("name", _("The page's name"), 120),
        ("headline", _("The headline"), 200),
        ("support_phone", _("The support phone number"), 40),
        ("after_hours_phone", _("The after-hours phone number"), 40),
        ("after_hours_audience", _("Who the after-hours line is for"), 200),
        ("custom_host", _("The custom host name"), 253),
    ):
        setattr(
            page,
            field,
            validators.one_line_text(
                getattr(page, field),
                field=field,
                label=label,
                limit=limit,
                required=field == "name",
            ),
        )
    page.custom_host = page.custom_host.lower().rstrip(".")
    _check_custom_host(page, actor)
    if page.custom_host and Page.objects.filter(custom_host=page.custom_host).exclude(pk=page.pk):
        raise ServiceError(
            _("Another page already uses the host %(host)s.") % {"host": page.custom_host},
            code="duplicate",
            field="custom_host",
        )
    if page.is_default:
        Page.objects.filter(is_default=True).exclude(pk=page.pk).update(is_default=False)
    old_zone = Page.objects.filter(pk=page.pk).values_list("time_zone", flat=True).first()
    if page._state.adding:
        page.save()
    else:
        # Never write `version` from an object loaded earlier: updates posted meanwhile moved it.
        page.save(
            update_fields=[
                f.name
                for f in Page._meta.concrete_fields
                if not f.primary_key and f.name != "version"
            ]
        )
    if old_zone and old_zone != page.time_zone:
        rebuild_page_uptime(page)  # its days are other days now
    if roles is not None:
        _replace_roles(page, roles, actor=actor)
    if support_hours is not None:
        replace_support_hours(page, support_hours, actor=actor)
    publish_event(page, events.PAGE_UPDATED, {"page": {"id": page.pk, "slug": page.slug}})
    return page


def _replace_roles(page: Page, roles: dict[Any, str], *, actor: Any) -> None:
    """Make the page's roles exactly `roles`; note each change as {user: {before, after}}."""
    user = audit.as_actor(actor).user
    if user is not None and not user.is_superuser:
        raise PermissionRefused(_("Only a superuser may change who has which role on a page."))
    for role in roles.values():
        if role not in Role.values:
            raise ServiceError(_("“%(role)s” is not a role.") % {"role": role}, field="roles")
    before = {r.user: r.role for r in PageRole.objects.filter(page=page).select_related("user")}
    changes = {}
    for person in set(before) | set(roles):
        old, new = before.get(person), roles.get(person)
        if old == new:
            continue
        changes[person.get_username()] = {"before": old, "after": new}
        if new is None:
            PageRole.objects.filter(page=page, user=person).delete()
        else:
            PageRole.objects.update_or_create(page=page, user=person, defaults={"role": new})
    if changes:
        audit.note("roles", changes)


@intent("touch_page")
@transaction.atomic
def touch_page(page: Page, *, actor: Any) -> Page:
    """Record that something hanging off the page (opening hours, templates) changed."""
    publish_event(page, events.PAGE_UPDATED, {"page": {"id": page.pk, "slug": page.slug}})
    return page


@intent("replace_support_hours")
@transaction.atomic
def replace_support_hours(
    page: Page, intervals: Iterable[tuple[str, int, Any, Any]], *, actor: Any
) -> Page:
    """Set a page's weekly opening hours: (line, weekday, opens, closes) tuples."""
    from incidents.models import SupportHours

    rows = []
    for line, weekday, opens, closes in intervals:
        if opens == closes:
            raise ServiceError(
                _("Opening and closing time are the same on %(day)s.")
                % {"day": SupportHours.Weekday(weekday).label},
                field="support_hours",
            )
        rows.append(SupportHours(page=page, line=line, weekday=weekday, opens=opens, closes=closes))
    SupportHours.objects.filter(page=page).delete()
    SupportHours.objects.bulk_create(rows)
    publish_event(page, events.PAGE_UPDATED, {"page": {"id": page.pk, "slug": page.slug}})
    return page
