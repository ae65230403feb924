"""What every admin of the status-page apps shares: engineers see only the pages they have a
role on and change only what their role allows there (`write_role`), and a refused write shows a
message instead of a server error."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import get_fields_from_path, unquote
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db import models
from django.http import HttpResponseRedirect
from django.utils.translation import gettext as _

from incidents.models import Page, Role
from incidents.permissions import has_role, pages_for
from incidents.services import ServiceError

from .timezones import ZonedSplitDateTime, activate_page_zone


class ServiceErrorsAsMessages:
    """A save the services refuse (ServiceError) shows its message over the form again
    instead of a 500: every write in the admin goes through a service."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(  # type: ignore[misc]
                request, object_id, form_url, extra_context
            )
        except ServiceError as error:
            report_service_error(request, error)
            return HttpResponseRedirect(request.get_full_path())


class PageScopedAdmin(ServiceErrorsAsMessages, admin.ModelAdmin):
    """Limit rows, choices and permissions to the pages the user has a role on.

    Any role reads (a viewer sees the admin); adding, changing, deleting and the list's actions
    need `write_role` on the object's page. Superusers may everything. A staff user's rights come
    from their roles alone, not from Django's model permissions.
    """

    page_path = "page"  # lookup from the model to its Page
    write_role: str = Role.RESPONDER
    # Date and time inputs say which zone they read (the page's, see timezones.py).
    formfield_overrides = {models.DateTimeField: {"widget": ZonedSplitDateTime}}

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
            kwargs["queryset"] = self.writable_pages(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def writable_pages(self, request):
        """The pages whose objects this user may add or change here (FK choices)."""
        return pages_for(request.user, self.write_role)

    def page_of(self, obj) -> Page | None:
        if obj is None:
            return None
        if self.page_path == "":
            return obj
        for part in self.page_path.split("__"):
            obj = getattr(obj, part)
        return obj

    def _may(self, request, obj, role: str) -> bool:
        if request.user.is_superuser:
            return True
        if obj is None:
            return role_on_some_page(request, role)
        return has_role(request.user, self.page_of(obj), role)

    def has_module_permission(self, request):
        return self._may(request, None, Role.VIEWER)

    def has_add_permission(self, request, *args):
        return self._may(request, None, self.write_role)

    def has_change_permission(self, request, obj=None):
        return self._may(request, obj, self.write_role)

    def has_delete_permission(self, request, obj=None):
        return self._may(request, obj, self.write_role)

    def has_view_permission(self, request, obj=None):
        return self._may(request, obj, Role.VIEWER)

    def get_actions(self, request):
        """A viewer gets no actions; others get them where their role allows the write."""
        if not self._may(request, None, self.write_role):
            return {}
        return super().get_actions(request)

    def response_action(self, request, queryset):
        """Refuse an action on selected rows of a page where the user may not write (a viewer
        there), with a message naming the page, before the action runs."""
        if not request.user.is_superuser:
            selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
            rows = queryset.filter(pk__in=selected) if selected else queryset.none()
            if request.POST.get("select_across") == "1":
                rows = queryset
            for obj in rows:
                page = self.page_of(obj)
                if not has_role(request.user, page, self.write_role):
                    messages.error(request, refusal(page, self.write_role))
                    return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        activate_page_zone(self.page_for_request(request, object_id))
        return super().changeform_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        """A list filtered on one page shows that page's times."""
        lookup = f"{self.page_path}__id__exact" if self.page_path else "id__exact"
        page_id = request.GET.get(lookup)
        if page_id and page_id.isdigit():
            activate_page_zone(pages_for(request.user).filter(pk=page_id).first())
        return super().changelist_view(request, extra_context)

    def page_for_request(self, request, object_id=None) -> Page | None:
        """The page a form is about: its object's, or the one chosen for a new object."""
        if object_id is not None:
            obj = self.get_object(request, unquote(object_id))
            return self.page_of(obj) if obj is not None else None
        page_id = request.GET.get("page") or request.POST.get("page")
        if page_id and str(page_id).isdigit():
            return pages_for(request.user).filter(pk=page_id).first()
        return None

    def check_page(self, request, page: Page | None, role: str | None = None) -> None:
        if not has_role(request.user, page, role or self.write_role):
            raise PermissionDenied(refusal(page, role or self.write_role))


class ReadOnlyAdminMixin:
    """For records the services write (history, the outbox): to look at, never to edit."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PageManagersOnlyMixin:
    """For records a page manager looks after across pages (API keys, customers): superusers
    and anyone managing some page may see and change them; the admin's queryset narrows
    them to that person's pages."""

    def _is_page_manager(self, request) -> bool:
        return request.user.is_superuser or role_on_some_page(request, Role.PAGE_MANAGER)

    def has_module_permission(self, request):
        return self._is_page_manager(request)

    def has_view_permission(self, request, obj=None):
        return self._is_page_manager(request)

    def has_add_permission(self, request):
        return self._is_page_manager(request)

    def has_change_permission(self, request, obj=None):
        return self._is_page_manager(request)

    def has_delete_permission(self, request, obj=None):
        return self._is_page_manager(request)


def role_on_some_page(request, role: str) -> bool:
    """Whether the user holds `role` on any page: asked for every model of the index's list,
    so answered once per role and request."""
    known = request.__dict__.setdefault("_role_on_some_page", {})
    if role not in known:
        known[role] = pages_for(request.user, role).exists()
    return known[role]


def report_service_error(request, error: ServiceError) -> None:
    messages.error(request, error.message)


def refusal(page: Page | None, role: str) -> str:
    """The message a refused write shows: which role it needs on which page."""
    return _("This needs the role “%(role)s” on the page “%(page)s”, which you do not have.") % {
        "role": Role(role).label,
        "page": page.name if page is not None else "—",
    }
