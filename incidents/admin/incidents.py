"""Admin for incidents: open one (from a template), then post updates, resolve or reopen it on
its own page with the timeline in view. Templates and the status history live here too."""

from __future__ import annotations

from django import forms as django_forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.forms import BaseForm
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from incidents import services
from incidents.forms import (
    EditUpdateForm,
    IncidentDetailsForm,
    ModelTranslationsMixin,
    OpenIncidentForm,
    PostmortemForm,
    PostUpdateForm,
    ReopenForm,
    ResolveForm,
    with_translations,
)
from incidents.markdown import render_markdown
from incidents.models import (
    ComponentStatus,
    ComponentStatusChange,
    Incident,
    IncidentTemplate,
    Role,
)
from incidents.services.rules import STATUS_FOR_IMPACT

from .audit import audit_context
from .base import PageScopedAdmin, ReadOnlyAdminMixin
from .timezones import activate_page_zone


class OpenIncidentFilter(admin.SimpleListFilter):
    title = gettext_lazy("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", gettext_lazy("Open")), ("resolved", gettext_lazy("Resolved"))]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.exclude(status="resolved")
        if self.value() == "resolved":
            return queryset.filter(status="resolved")
        return queryset


@admin.register(Incident)
class IncidentAdmin(PageScopedAdmin):
    list_display = ["name", "page", "status_label", "impact", "created_at", "resolved_at"]
    list_filter = [OpenIncidentFilter, "page", "status", "impact"]
    search_fields = ["name", "updates__body"]
    list_select_related = ["page"]
    date_hierarchy = "created_at"
    actions = ["resolve_selected"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(kind=Incident.Kind.INCIDENT).distinct()

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_label(self, obj):
        return obj.get_status_display()

    @admin.action(description=gettext_lazy("Resolve selected incidents"))
    def resolve_selected(self, request, queryset):
        done = 0
        for incident in queryset.exclude(status="resolved"):
            services.resolve_incident(incident, actor=request.user)
            done += 1
        self.message_user(request, _("%(count)d incident(s) resolved.") % {"count": done})

    # Opening an incident -------------------------------------------------------------

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied(
                _(
                    "Opening an incident needs the role “responder” on a page, "
                    "which you do not have."
                )
            )
        pages = list(self.writable_pages(request))
        page = None
        page_id = request.GET.get("page") or request.POST.get("page")
        if page_id:
            page = next((p for p in pages if str(p.pk) == str(page_id)), None)
        elif len(pages) == 1:
            page = pages[0]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Open an incident"),
            "pages": pages,
            "page": page,
        }
        if page is None:
            return TemplateResponse(request, "admin/incidents/incident/choose_page.html", context)
        activate_page_zone(page)
        template = None
        template_id = request.GET.get("template")
        if template_id and template_id.isdigit():
            template = IncidentTemplate.objects.filter(page=page, pk=template_id).first()
        form = OpenIncidentForm(request.POST or None, page=page, template=template)
        preview = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            if "preview" in request.POST:
                preview = render_markdown(data["body"])
            else:
                try:
                    incident = services.open_incident(
                        page,
                        actor=request.user,
                        name=data["name"],
                        body=data["body"],
                        status=data["status"],
                        impact=data["impact"] or None,
                        components=form.component_statuses(),
                        deliver_notifications=data["deliver_notifications"],
                        template=data["template"],
                        name_translations=form.translations("name"),
                        body_translations=form.translations("body"),
                    )
                except services.ServiceError as error:
                    form.add_error(form.form_field(error.field), error.message)
                else:
                    messages.success(
                        request, _("Incident opened: “%(name)s”.") % {"name": incident.name}
                    )
                    return HttpResponseRedirect(
                        reverse("admin:incidents_incident_change", args=[incident.pk])
                    )
        context.update(
            form=form,
            preview=preview,
            templates=[
                {
                    "id": t.pk,
                    "title": t.title,
                    "body": t.body,
                    "impact": t.impact,
                    "title_translations": t.title_translations,
                    "body_translations": t.body_translations,
                    "components": [c.pk for c in t.components.all()],
                    "component_status": STATUS_FOR_IMPACT.get(
                        t.impact, ComponentStatus.PARTIAL_OUTAGE
                    ),
                }
                for t in IncidentTemplate.objects.filter(page=page).prefetch_related("components")
            ],
        )
        return TemplateResponse(request, "admin/incidents/incident/open.html", context)

    # The incident's own page: timeline and actions ------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # get_object answers None for "abc" as for a missing or another page's incident.
        incident = self.get_object(request, object_id)
        if incident is None:
            raise Http404("No such incident.")
        activate_page_zone(incident.page)  # its times as its page shows them
        if not self.has_change_permission(request, incident):
            return super().change_view(request, object_id, form_url, extra_context)
        forms: dict[str, BaseForm | None] = {
            "update_form": PostUpdateForm(incident=incident),
            "resolve_form": ResolveForm(),
            "reopen_form": ReopenForm(),
            "details_form": IncidentDetailsForm(instance=incident),
            "postmortem_form": PostmortemForm(initial={"body": incident.postmortem}),
            "edit_form": None,
        }
        if request.method == "POST":
            response = self._handle_action(request, incident, forms)
            if response is not None:
                return response
        updates = list(incident.updates.select_related("author"))
        edit_id = request.GET.get("edit")
        # Read-only, imported here: `incidents` does not depend on `notifications`.
        from notifications.selectors import deliveries_by_update, notified_in_words

        notified = deliveries_by_update(incident.pk)
        for update in updates:
            update.html = render_markdown(update.body)
            update.notified_text = notified_in_words(notified.get(update.pk, []))
            if str(update.pk) == edit_id and forms["edit_form"] is None:
                forms["edit_form"] = EditUpdateForm(
                    initial={"update_id": update.pk, "body": update.body},
                    page=incident.page,
                    initial_translations=update.body_translations,
                )
                update.editing = True
        context = {
            **self.admin_site.each_context(request),
            **forms,
            "opts": self.opts,
            "title": incident.name,
            "incident": incident,
            "original": incident,
            "updates": updates,
            "affected": incident.affected.select_related("component"),
            "public_url": f"/p/{incident.page.slug}/incidents/{incident.pk}/",
            "has_delete_permission": self.has_delete_permission(request, incident),
            "postmortem_history": services.postmortem_history(incident, limit=20),
            **audit_context(incident),
        }
        return TemplateResponse(request, "admin/incidents/incident/manage.html", context)

    def _handle_action(self, request, incident, forms):
        action = request.POST.get("action")
        here = reverse("admin:incidents_incident_change", args=[incident.pk])
        try:
            if action == "update":
                update_form = forms["update_form"] = PostUpdateForm(request.POST, incident=incident)
                if update_form.is_valid():
                    if "preview" in request.POST:
                        update_form.preview = render_markdown(update_form.cleaned_data["body"])
                        return None
                    services.post_update(
                        incident,
                        actor=request.user,
                        status=update_form.cleaned_data["status"],
                        body=update_form.cleaned_data["body"],
                        components=update_form.component_statuses(),
                        deliver_notifications=update_form.cleaned_data["deliver_notifications"],
                        body_translations=update_form.translations("body"),
                    )
                    messages.success(request, _("Update posted."))
                    return HttpResponseRedirect(here)
            elif action == "resolve":
                resolve_form = forms["resolve_form"] = ResolveForm(request.POST)
                if resolve_form.is_valid():
                    services.resolve_incident(
                        incident,
                        actor=request.user,
                        body=resolve_form.cleaned_data["body"],
                        deliver_notifications=resolve_form.cleaned_data["deliver_notifications"],
                    )
                    messages.success(request, _("Incident resolved."))
                    return HttpResponseRedirect(here)
            elif action == "reopen":
                reopen_form = forms["reopen_form"] = ReopenForm(request.POST)
                if reopen_form.is_valid():
                    services.reopen_incident(
                        incident,
                        actor=request.user,
                        status=reopen_form.cleaned_data["status"],
                        body=reopen_form.cleaned_data["body"],
                        deliver_notifications=reopen_form.cleaned_data["deliver_notifications"],
                    )
                    messages.success(request, _("Incident reopened."))
                    return HttpResponseRedirect(here)
            elif action == "details":
                details_form = forms["details_form"] = IncidentDetailsForm(
                    request.POST, instance=incident
                )
                if details_form.is_valid():
                    services.change_incident(
                        Incident.objects.get(pk=incident.pk),
                        actor=request.user,
                        name=details_form.cleaned_data["name"],
                        impact=details_form.cleaned_data["impact"],
                        phone_message=details_form.cleaned_data["phone_message"],
                        name_translations=details_form.translations("name", keep_empty=True),
                    )
                    messages.success(request, _("Details saved (no notification sent)."))
                    return HttpResponseRedirect(here)
            elif action == "postmortem":
                return self._postmortem_action(request, incident, forms, here)
            elif action == "postmortem_revert":
                services.revert_postmortem(incident, actor=request.user)
                messages.success(request, _("Postmortem taken back to draft."))
                return HttpResponseRedirect(here)
            elif action == "edit":
                edit_form = forms["edit_form"] = EditUpdateForm(request.POST, page=incident.page)
                if edit_form.is_valid():
                    update = get_object_or_404(
                        incident.updates, pk=edit_form.cleaned_data["update_id"]
                    )
                    services.edit_update(
                        update,
                        actor=request.user,
                        body=edit_form.cleaned_data["body"],
                        body_translations=edit_form.translations("body", keep_empty=True),
                    )
                    messages.success(request, _("Update corrected (no notification sent)."))
                    return HttpResponseRedirect(here)
            else:
                messages.error(request, _("Unknown action."))
                return HttpResponseRedirect(here)
        except services.ServiceError as error:
            messages.error(request, error.message)
        incident.refresh_from_db()
        return None

    def _postmortem_action(self, request, incident, forms, here):
        """Save the draft; then preview it, or publish it (one service call per intent)."""
        form = forms["postmortem_form"] = PostmortemForm(request.POST)
        if not form.is_valid():
            return None
        body = form.cleaned_data["body"]
        if "preview" in request.POST:
            form.preview = render_markdown(body)
            return None
        if "publish" in request.POST:
            services.publish_postmortem(
                incident,
                actor=request.user,
                body=body,
                notify_subscribers=form.cleaned_data["notify_subscribers"],
            )
            messages.success(request, _("Postmortem published."))
        else:
            services.save_postmortem_draft(incident, actor=request.user, body=body)
            messages.success(request, _("Postmortem draft saved (not public)."))
        return HttpResponseRedirect(here)

    def delete_model(self, request, obj):
        services.delete_incident(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for incident in queryset:
            services.delete_incident(incident, actor=request.user)


@with_translations(
    title=(gettext_lazy("Incident title"), False, 200), body=(gettext_lazy("Message"), True, None)
)
class IncidentTemplateForm(ModelTranslationsMixin, django_forms.ModelForm):
    translated = {"title": "title_translations", "body": "body_translations"}

    class Meta:
        model = IncidentTemplate
        fields = ["page", "name", "title", "body", "impact", "update_status", "components"]


@admin.register(IncidentTemplate)
class IncidentTemplateAdmin(PageScopedAdmin):
    form = IncidentTemplateForm
    write_role = Role.PAGE_MANAGER
    list_display = ["name", "page", "title", "impact"]
    list_filter = ["page"]
    search_fields = ["name", "title", "body"]
    filter_horizontal = ["components"]

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if obj is None:
            return fields
        own = {f"title_{obj.page.default_language}", f"body_{obj.page.default_language}"}
        return [f for f in fields if f not in own]

    def save_model(self, request, obj, form, change):
        # The service checks that the components belong to the template's page.
        components = [c.pk for c in form.cleaned_data.get("components") or ()]
        services.save_incident_template(obj, actor=request.user, components=components)

    def save_related(self, request, form, formsets, change):
        """The components were set by `save_incident_template`."""

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "components" and not request.user.is_superuser:
            from incidents.models import Component

            kwargs["queryset"] = Component.objects.filter(page__in=self.writable_pages(request))
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(ComponentStatusChange)
class ComponentStatusChangeAdmin(ReadOnlyAdminMixin, PageScopedAdmin):
    """The status history, read-only: it is written by the services, never by hand."""

    page_path = "component__page"
    list_display = ["changed_at", "component", "transition", "actor_name", "incident_link"]
    list_filter = ["component__page", "new_status"]
    list_select_related = ["component", "component__group", "incident"]
    date_hierarchy = "changed_at"
    # Newest first: "what changed just now?" is the question at 3 a.m.
    ordering = ["-changed_at", "-id"]

    @admin.display(description=gettext_lazy("change"))
    def transition(self, obj):
        labels = dict(ComponentStatus.choices)
        old = labels.get(obj.old_status, obj.old_status) if obj.old_status else "—"
        return f"{old} → {labels.get(obj.new_status, obj.new_status)}"

    @admin.display(description=gettext_lazy("incident"))
    def incident_link(self, obj):
        if obj.incident_id is None:
            return "—"
        url = reverse("admin:incidents_incident_change", args=[obj.incident_id])
        return format_html('<a href="{}">{}</a>', url, obj.incident.name)
