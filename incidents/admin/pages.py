"""Admin for pages, their opening hours, component groups and components."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from incidents import services
from incidents.forms import ModelTranslationsMixin, with_translations
from incidents.models import (
    Component,
    ComponentGroup,
    ComponentStatus,
    Page,
    PageRole,
    Role,
    SupportHours,
)
from incidents.permissions import can_manage_hosts, has_role, pages_for

from .base import PageScopedAdmin


class SupportHoursInline(admin.TabularInline):
    model = SupportHours
    extra = 0
    fields = ["line", "weekday", "opens", "closes"]


class PageRoleInline(admin.TabularInline):
    """Who has which role on the page. Superusers change roles; others see them."""

    model = PageRole
    extra = 0
    fields = ["user", "role"]
    verbose_name = _("engineer's role")
    verbose_name_plural = _("Engineers and their roles")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            from django.contrib.auth import get_user_model

            kwargs["queryset"] = get_user_model().objects.filter(is_staff=True, is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_view_permission(self, request, obj=None):
        return obj is None or has_role(request.user, obj, Role.VIEWER)

    def has_add_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Page)
class PageAdmin(PageScopedAdmin):
    page_path = ""
    write_role = Role.PAGE_MANAGER
    list_display = ["name", "slug", "custom_host", "is_default", "time_zone", "default_language"]
    search_fields = ["name", "slug", "custom_host"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [SupportHoursInline, PageRoleInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "headline", "is_default", "custom_host"]}),
        (_("Language and time"), {"fields": ["default_language", "time_zone"]}),
        (_("Branding"), {"fields": ["logo_url", "accent_colour", "embed_frame_ancestors"]}),
        (
            _("Support desk"),
            {
                "fields": [
                    "support_email",
                    "support_phone",
                    "after_hours_phone",
                    "after_hours_audience",
                    "support_text",
                ],
                "description": _("Opening hours of the desk and the after-hours line are below."),
            },
        ),
        (
            _("Problem reports"),
            {
                "fields": [
                    "oncall_email",
                    "report_alert_count",
                    "report_alert_window_minutes",
                    "report_alert_min_companies",
                    "handout_links",
                ],
                "description": _(
                    "Engineers are alerted when this many reports about one component arrive "
                    "within the window from at least this many companies."
                ),
            },
        ),
        (
            _("Maintenance and uptime"),
            {"fields": ["maintenance_reminder_hours", "uptime_excludes_maintenance"]},
        ),
    ]

    @admin.display(description=_("outage handout"))
    def handout_links(self, obj):
        if not obj.pk:
            return "—"
        return format_html(
            '<a href="/p/{0}/handout/">HTML</a> · <a href="/p/{0}/handout.pdf">PDF</a>', obj.slug
        )

    def view_on_site(self, obj):
        return f"/p/{obj.slug}/"

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def get_readonly_fields(self, request, obj=None):
        readonly = ["handout_links"]
        if not request.user.is_superuser:
            readonly += ["slug", "is_default"]
        if not can_manage_hosts(request.user):
            readonly += ["custom_host"]
        return readonly

    def get_prepopulated_fields(self, request, obj=None):
        # A read-only slug has no input to fill: prepopulating it raised KeyError('slug').
        if "slug" in self.get_readonly_fields(request, obj):
            return {}
        return super().get_prepopulated_fields(request, obj)

    def save_model(self, request, obj, form, change):
        """Saved with its opening hours and roles in `save_related`: one service call."""

    def save_related(self, request, form, formsets, change):
        intervals = None
        roles = None
        for formset in formsets:
            if formset.model is SupportHours:
                intervals = [
                    (
                        f.cleaned_data["line"],
                        f.cleaned_data["weekday"],
                        f.cleaned_data["opens"],
                        f.cleaned_data["closes"],
                    )
                    for f in formset.forms
                    if f.cleaned_data and not f.cleaned_data.get("DELETE")
                ]
                # What the admin's change message reads; the rows are written by the service.
                formset.new_objects, formset.changed_objects = [], []
                formset.deleted_objects = []
            elif formset.model is PageRole and request.user.is_superuser:
                # The roles as they are, with the rows the form changed, added or deleted.
                by_pk = {
                    r.user_id: (r.user, r.role) for r in form.instance.roles.select_related("user")
                }
                for f in formset.forms:
                    if f.initial.get("user") is not None and f.has_changed():
                        by_pk.pop(f.initial["user"], None)  # deleted, or given to another
                    if f.cleaned_data and not f.cleaned_data.get("DELETE"):
                        person = f.cleaned_data["user"]
                        by_pk[person.pk] = (person, f.cleaned_data["role"])
                roles = dict(by_pk.values())
                formset.new_objects, formset.changed_objects = [], []
                formset.deleted_objects = []
        services.save_page(form.instance, actor=request.user, support_hours=intervals, roles=roles)


@with_translations(name=(_("Name"), False, 120))
class ComponentGroupForm(ModelTranslationsMixin, forms.ModelForm):
    translated = {"name": "name_translations"}

    class Meta:
        model = ComponentGroup
        fields = ["page", "name", "description", "position"]


def _without_other_page_languages(fields: list, obj) -> list:
    """Leave out the translation field of the page's own language once the page is known."""
    if obj is None:
        return fields
    own = {f"name_{obj.page.default_language}"}
    return [f for f in fields if f not in own]


@admin.register(ComponentGroup)
class ComponentGroupAdmin(PageScopedAdmin):
    form = ComponentGroupForm
    write_role = Role.PAGE_MANAGER
    list_display = ["name", "page", "position"]
    list_filter = ["page"]
    list_editable = ["position"]
    search_fields = ["name"]

    def get_fields(self, request, obj=None):
        return _without_other_page_languages(list(super().get_fields(request, obj)), obj)

    def save_model(self, request, obj, form, change):
        services.save_group(obj, actor=request.user)

    def delete_model(self, request, obj):
        services.delete_group(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for group in queryset:
                services.delete_group(group, actor=request.user)


@with_translations(name=(_("Name"), False, 120))
class ComponentForm(ModelTranslationsMixin, forms.ModelForm):
    translated = {"name": "name_translations"}

    class Meta:
        model = Component
        fields = [
            "page",
            "group",
            "name",
            "description",
            "position",
            "status",
            "is_visible",
            "visibility",
        ]

    def clean(self):
        super().clean()
        data = self.cleaned_data
        group, page = data.get("group"), data.get("page")
        page = page or (self.instance.page if self.instance.page_id else None)
        if group and page and group.page_id != page.pk:
            self.add_error("group", _("This group belongs to another page."))
        name = (data.get("name") or "").strip()
        clash = Component.objects.filter(page=page, group=group, name=name)
        if page and name and clash.exclude(pk=self.instance.pk).exists():
            self.add_error("name", _("A component with this name already exists in this group."))
        return data


def _status_action(status: ComponentStatus):
    def action(modeladmin, request, queryset):
        changed = services.bulk_set_component_status(list(queryset), status, actor=request.user)
        modeladmin.message_user(
            request,
            ngettext(
                "%(count)d component set to “%(status)s”.",
                "%(count)d components set to “%(status)s”.",
                len(changed),
            )
            % {"count": len(changed), "status": status.label},
            messages.SUCCESS,
        )

    action.__name__ = f"set_{status.value}"
    return admin.action(description=_("Set status: %(status)s") % {"status": status.label})(action)


@admin.register(Component)
class ComponentAdmin(PageScopedAdmin):
    form = ComponentForm
    list_display = [
        "name",
        "group",
        "page",
        "status_badge",
        "status",
        "is_visible",
        "visibility",
        "position",
    ]
    list_display_links = ["name"]
    list_editable = ["status", "position"]
    list_filter = ["page", "group", "status", "is_visible", "visibility"]
    search_fields = ["name", "description"]
    list_select_related = ["group", "page"]
    actions = [_status_action(status) for status in ComponentStatus]

    def get_fields(self, request, obj=None):
        return _without_other_page_languages(list(super().get_fields(request, obj)), obj)

    @admin.display(description=_("now"), ordering="status")
    def status_badge(self, obj):
        symbol = {
            "operational": "✔",
            "degraded_performance": "◐",
            "partial_outage": "▲",
            "major_outage": "✖",
            "under_maintenance": "🛠",
        }[obj.status]
        return f"{symbol} {obj.get_status_display()}"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "group" and not request.user.is_superuser:
            kwargs["queryset"] = ComponentGroup.objects.filter(
                page__in=self.writable_pages(request)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def writable_pages(self, request):
        return pages_for(request.user, Role.PAGE_MANAGER)  # the add form's choices

    # One click on the status board: a POST with CSRF, a responder's on the component's page,
    # one `set_component_status` call (one event, one audit row).
    def get_urls(self):
        return [
            path(
                "<int:object_id>/set-status/",
                self.admin_site.admin_view(self.set_status_view),
                name="incidents_component_set_status",
            ),
            *super().get_urls(),
        ]

    def set_status_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        component = self.get_object(request, str(object_id))
        if component is None:  # missing, or on a page the user has no role on
            raise Http404("No such component.")
        self.check_page(request, component.page, Role.RESPONDER)
        status = request.POST.get("status", "")
        try:
            component = services.set_component_status(component, status, actor=request.user)
        except services.ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("“%(name)s” is now “%(status)s”.")
                % {"name": component.name, "status": component.get_status_display()},
            )
        target = request.POST.get("next") or ""
        if not url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            target = reverse("admin:index")
        return HttpResponseRedirect(target)

    # Responders set components' status; adding, removing and reshaping them is a page
    # manager's.
    def has_add_permission(self, request, *args):
        return self._may(request, None, Role.PAGE_MANAGER)

    def has_delete_permission(self, request, obj=None):
        return self._may(request, obj, Role.PAGE_MANAGER)

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in form.changed_data if f in form.cleaned_data}
        names = form.translation_field_names("name")
        if any(data.pop(name, None) is not None for name in names):
            data["name_translations"] = form.translations("name", keep_empty=True)
        if change and not has_role(request.user, obj.page, Role.PAGE_MANAGER):
            kept = {k: v for k, v in data.items() if k == "status"}
            if kept != data:
                messages.warning(
                    request,
                    _("Only the status of “%(name)s” was saved: responders change status only.")
                    % {"name": obj.name},
                )
            data = kept
        if not change:
            obj.pk = None
            created = services.create_component(
                obj.page,
                actor=request.user,
                name=obj.name,
                group=obj.group,
                description=obj.description,
                position=obj.position,
                status=obj.status,
                is_visible=obj.is_visible,
                name_translations=obj.name_translations,
                visibility=obj.visibility,
            )
            obj.pk = created.pk
            return
        data.pop("page", None)
        # The object was already modified by the form; reload it so the service sees the change.
        services.update_component(Component.objects.get(pk=obj.pk), actor=request.user, **data)

    def delete_model(self, request, obj):
        services.delete_component(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for component in queryset:
                services.delete_component(component, actor=request.user)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not has_role(request.user, obj.page, Role.PAGE_MANAGER):
            return ["page", "group", "name", "description", "position", "is_visible", "visibility"]
        return ["page"] if obj else []
