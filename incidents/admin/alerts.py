"""Monitoring in the admin: mapping rules (label matchers → component, statuses, hold-down,
draft incidents), the alerts automation has seen, and drafts to publish with one click."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from incidents import services
from incidents.models import (
    AlertDraft,
    AlertRule,
    AlertState,
    Component,
    IncidentTemplate,
    Role,
)
from incidents.services import ServiceError

from .base import PageScopedAdmin, ReadOnlyAdminMixin


@admin.register(AlertRule)
class AlertRuleAdmin(PageScopedAdmin):
    write_role = Role.PAGE_MANAGER
    list_display = ["name", "page", "position", "component", "incident_action", "enabled"]
    list_filter = ["page", "enabled"]
    fields = [
        "page",
        "name",
        "position",
        "enabled",
        "matchers",
        "component",
        "severity_statuses",
        "hold_down_seconds",
        "incident_action",
        "template",
    ]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "component":
            kwargs["queryset"] = Component.objects.filter(
                page__in=self.writable_pages(request)
            ).select_related("page")
        if db_field.name == "template":
            kwargs["queryset"] = IncidentTemplate.objects.filter(
                page__in=self.writable_pages(request)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        self.check_page(request, obj.page)
        services.save_alert_rule(obj, actor=request.user)


@admin.register(AlertState)
class AlertStateAdmin(ReadOnlyAdminMixin, PageScopedAdmin):
    """What automation saw and did per alert: to find out why a component changed (or not)."""

    list_display = [
        "alertname",
        "page",
        "component",
        "state",
        "status",
        "held_by",
        "source",
        "last_seen_at",
    ]
    list_filter = ["page", "state", "source"]
    search_fields = ["alertname", "fingerprint"]
    list_select_related = ["page", "component"]


@admin.register(AlertDraft)
class AlertDraftAdmin(ReadOnlyAdminMixin, PageScopedAdmin):
    list_display = ["template", "page", "component", "status", "created_at", "published_at"]
    list_filter = ["page"]
    list_select_related = ["page", "template", "component"]
    actions = ["publish", "dismiss"]

    @admin.action(description=gettext_lazy("Publish the selected draft incidents"))
    def publish(self, request, queryset):
        published = 0
        for draft in queryset.select_related("page"):
            self.check_page(request, draft.page)
            try:
                services.publish_alert_draft(draft, actor=request.user)
                published += 1
            except ServiceError as error:
                self.message_user(request, error.message, messages.ERROR)
        if published:
            self.message_user(request, _("Published %(count)d incidents.") % {"count": published})

    @admin.action(description=gettext_lazy("Dismiss the selected draft incidents"))
    def dismiss(self, request, queryset):
        for draft in queryset.select_related("page"):
            self.check_page(request, draft.page)
            services.dismiss_alert_draft(draft, actor=request.user)
