"""What every admin of the status-page apps shares: engineers see only the pages they manage,
and a refused write shows the service's message instead of a server error."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import get_fields_from_path
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.http import HttpResponseRedirect

from incidents.models import Page
from incidents.permissions import can_manage, pages_for
from incidents.services import ServiceError


class PageScopedAdmin(admin.ModelAdmin):
    """Limit rows, choices and permissions to the pages the user manages."""

    page_path = "page"  # lookup from the model to its Page

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        if self.page_path == "":
            return queryset.filter(pk__in=pages_for(request.user))
        return queryset.filter(**{f"{self.page_path}__in": pages_for(request.user)})

    def get_list_filter(self, request):
        """Filters on a relation list only the objects in the user's rows (their pages,
        their components): the sidebar must not name another page's components."""
        filters = super().get_list_filter(request)
        if request.user.is_superuser:
            return filters
        scoped = []
        for entry in filters:
            if isinstance(entry, str):
                try:
                    field = get_fields_from_path(self.model, entry)[-1]
                except FieldDoesNotExist:
                    field = None
                if field is not None and field.is_relation:
                    entry = (entry, admin.RelatedOnlyFieldListFilter)
            scoped.append(entry)
        return scoped

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Page:
            kwargs["queryset"] = pages_for(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def page_of(self, obj) -> Page | None:
        if obj is None:
            return None
        if self.page_path == "":
            return obj
        for part in self.page_path.split("__"):
            obj = getattr(obj, part)
        return obj

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or can_manage(request.user, self.page_of(obj)))

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or can_manage(request.user, self.page_of(obj)))

    def has_view_permission(self, request, obj=None):
        allowed = super().has_view_permission(request, obj)
        return allowed and (obj is None or can_manage(request.user, self.page_of(obj)))

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceError as error:
            report_service_error(request, error)
            return HttpResponseRedirect(request.get_full_path())

    def check_page(self, request, page: Page | None) -> None:
        if not can_manage(request.user, page):
            raise PermissionDenied("You do not manage this page.")


class ReadOnlyAdminMixin:
    """For records the services write (history, the outbox): to look at, never to edit."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def report_service_error(request, error: ServiceError) -> None:
    messages.error(request, error.message)
