"""The audit trail in the admin: a filterable, read-only list limited to the engineer's pages,
and the entries of one incident or maintenance on its own admin page."""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from incidents.models import AuditEntry

from .base import PageScopedAdmin, ReadOnlyAdminMixin

# How many entries an incident's page shows (the full list links to the filtered changelist).
SHOWN_ON_OBJECT = 50


def audit_context(obj) -> dict:
    """Template context for `admin/incidents/_audit.html`: the object's newest entries."""
    object_type = obj._meta.concrete_model._meta.model_name
    object_id = str(getattr(obj, "public_id", None) or obj.pk)
    entries = AuditEntry.objects.filter(object_type=object_type, object_id=object_id)
    return {
        "audit_entries": list(entries.order_by("-created_at", "-id")[:SHOWN_ON_OBJECT]),
        "audit_object_type": object_type,
        "audit_object_id": object_id,
    }


AUDIT_FIELDS: tuple[str, ...] = (
    "created_at",
    "page",
    "actor_type",
    "actor_name",
    "actor_user",
    "actor_api_key",
    "channel",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "changes_json",
)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, PageScopedAdmin):
    """Who changed what, through which door: append-only, never edited here.

    Engineers see their pages' entries; superusers also see entries without a page (API keys).
    """

    list_display = ["created_at", "actor_name", "actor_type", "channel", "action", "object_link"]
    list_filter = ["page", "channel", "actor_type", "action", "object_type"]
    search_fields = ["actor_name", "object_repr", "object_id", "action"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]
    list_select_related = ["page"]
    fields = AUDIT_FIELDS
    readonly_fields = AUDIT_FIELDS

    def has_view_permission(self, request, obj=None):
        # Reading the trail is reading the admin: every role may, for its pages. Entries
        # without a page (sign-ins, API keys for every page) are for superusers.
        if obj is not None and obj.page_id is None:
            return request.user.is_superuser
        return super().has_view_permission(request, obj)

    def lookup_allowed(self, lookup, value, request=None):
        # The incident page links here filtered by object.
        return lookup in {"object_type", "object_id"} or super().lookup_allowed(
            lookup, value, request
        )

    @admin.display(description=_("object"))
    def object_link(self, entry: AuditEntry) -> str:
        return format_html("{} #{} {}", entry.object_type, entry.object_id, entry.object_repr)

    @admin.display(description=_("changes"))
    def changes_json(self, entry: AuditEntry) -> str:
        return format_html(
            "<pre style='white-space:pre-wrap'>{}</pre>",
            json.dumps(entry.changes, indent=2, ensure_ascii=False, sort_keys=True),
        )
