"""Admin for scheduled maintenance: schedule it (times in the page's time zone), move or extend
its window, and start, verify, complete or cancel it. Every write is a services call."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from incidents import services
from incidents.forms import ModelTranslationsMixin, translation_field_names, with_translations
from incidents.models import Component, IncidentStatus, Maintenance
from incidents.services import ServiceError

from .audit import audit_context
from .base import PageScopedAdmin, report_service_error
from .timezones import ZonedSplitDateTime


class PageTimeField(forms.SplitDateTimeField):
    """A date and a time as the engineer typed them: naive wall-clock time of the page's zone
    (the form attaches the zone, not the server's)."""

    widget = ZonedSplitDateTime

    def compress(self, data_list):
        if not data_list:
            return None
        day, time = data_list
        if day in self.empty_values:
            raise ValidationError(self.error_messages["invalid_date"], code="invalid_date")
        if time in self.empty_values:
            raise ValidationError(self.error_messages["invalid_time"], code="invalid_time")
        return dt.datetime.combine(day, time)


def in_zone(naive: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """A wall-clock time of a zone as an aware moment; a time the DST change skips is refused.

    A time that happens twice (the hour the clocks go back) means its first occurrence.
    """
    aware = naive.replace(tzinfo=tz, fold=0)
    try:
        round_trip = aware.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None)
    except OverflowError:  # year 1 or 9999: out of any sane range (the service says which)
        raise ValidationError(
            _("%(time)s is out of range.") % {"time": naive.strftime("%Y-%m-%d %H:%M")}
        ) from None
    if round_trip != naive:
        raise ValidationError(
            _("%(time)s does not exist in %(zone)s: the clocks skip it for daylight saving time.")
            % {"time": naive.strftime("%Y-%m-%d %H:%M"), "zone": tz.key}
        )
    return aware


def in_page_zone(moment: dt.datetime | None, tz: zoneinfo.ZoneInfo) -> dt.datetime | None:
    return moment.astimezone(tz).replace(tzinfo=None) if moment else None


@with_translations(
    name=(gettext_lazy("Title"), False, 200), body=(gettext_lazy("Message"), True, None)
)
class MaintenanceForm(ModelTranslationsMixin, forms.ModelForm):
    user_pages = None  # set per request by MaintenanceAdmin.get_form
    translated = {"name": "name_translations"}
    chosen_page = None  # the page picked before the add form (its components only)

    affected = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Affected components"),
        queryset=Component.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("They go under maintenance while it is in progress."),
    )
    scheduled_for = PageTimeField(
        label=gettext_lazy("Starts"), help_text=gettext_lazy("In the page's time zone.")
    )
    scheduled_until = PageTimeField(
        label=gettext_lazy("Ends"), help_text=gettext_lazy("In the page's time zone.")
    )
    body = forms.CharField(
        label=gettext_lazy("Message"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("Markdown. What subscribers read in the announcement."),
    )
    deliver_notifications = forms.BooleanField(
        label=gettext_lazy("Notify subscribers"), required=False, initial=True
    )

    class Meta:
        model = Maintenance
        fields = [
            "page",
            "name",
            "scheduled_for",
            "scheduled_until",
            "scheduled_auto_in_progress",
            "scheduled_auto_completed",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        components = Component.objects.select_related("page", "group")
        if self.user_pages is not None:
            components = components.filter(page__in=self.user_pages)
        if self.chosen_page is not None and not self.instance.pk:
            components = components.filter(page=self.chosen_page)
            self.fields["page"].initial = self.chosen_page.pk
            self.fields["page"].widget = forms.HiddenInput()
        if self.instance.pk:
            tz = self.instance.page.tz
            self.initial["scheduled_for"] = in_page_zone(self.instance.scheduled_for, tz)
            self.initial["scheduled_until"] = in_page_zone(self.instance.scheduled_until, tz)
            # The window and the switches are what may change once it is scheduled.
            for name in ("affected", "body", "deliver_notifications"):
                self.fields.pop(name)
            for name in translation_field_names("body", None):
                self.fields.pop(name)
            if self.instance.status != IncidentStatus.SCHEDULED:
                self.fields["scheduled_for"].disabled = True
        else:
            affected = cast(forms.ModelMultipleChoiceField, self.fields["affected"])
            affected.queryset = components.order_by("page__name", "group__position", "position")
            if self.chosen_page is None:
                affected.label_from_instance = lambda obj: f"{obj.page.name}: {obj}"  # type: ignore[method-assign]  # Django documents this override

    def clean(self):
        super().clean()
        data = self.cleaned_data
        page = data.get("page") if "page" in self.fields else self.instance.page
        if page is None:
            return data
        for name in ("scheduled_for", "scheduled_until"):
            value = data.get(name)
            if isinstance(value, dt.datetime) and timezone.is_naive(value):
                try:
                    data[name] = in_zone(value, page.tz)
                except ValidationError as error:
                    self.add_error(name, error)
        starts, ends = data.get("scheduled_for"), data.get("scheduled_until")
        if starts and ends and ends <= starts:
            self.add_error("scheduled_until", _("The end must be after the start."))
        strangers = [c for c in data.get("affected", []) if c.page_id != page.pk]
        if strangers:
            self.add_error(
                "affected",
                _("%(names)s belong(s) to another page.")
                % {"names": ", ".join(str(c) for c in strangers)},
            )
        return data

    def has_changed(self):
        return True  # a disabled start field would otherwise hide the edit


@admin.register(Maintenance)
class MaintenanceAdmin(PageScopedAdmin):
    form = MaintenanceForm
    change_form_template = "admin/incidents/maintenance/change_form.html"
    list_display = ["name", "page", "status_label", "window", "automatic"]
    list_filter = ["status", "page"]
    list_select_related = ["page"]
    search_fields = ["name"]
    actions = ["start_selected", "complete_selected", "cancel_selected"]

    def get_fieldsets(self, request, obj=None):
        window = ["scheduled_for", "scheduled_until"]
        switches = ["scheduled_auto_in_progress", "scheduled_auto_completed"]
        names = translation_field_names("name", obj.page if obj else None)
        if obj is None:
            chosen = self.chosen_page(request)
            bodies = translation_field_names("body", None)
            return [
                (
                    chosen.name if chosen else None,
                    {"fields": ["page", "name", *names, "body", *bodies, "affected"]},
                ),
                (_("Window (the page's time zone)"), {"fields": window}),
                (_("Automation and notice"), {"fields": [*switches, "deliver_notifications"]}),
            ]
        return [
            (None, {"fields": ["page", "name", *names, "status_label", "components_list"]}),
            (
                _("Window (the page's time zone)"),
                {
                    "fields": window,
                    "description": _(
                        "A later end of maintenance in progress extends it and tells subscribers."
                    ),
                },
            ),
            (_("Automation"), {"fields": switches}),
            (_("Timeline"), {"fields": ["timeline"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["page", "status_label", "components_list", "timeline"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        chosen = self.chosen_page(request) if obj is None else None
        return type(
            form.__name__,
            (form,),
            {"user_pages": self.writable_pages(request), "chosen_page": chosen},
        )

    def add_view(self, request, form_url="", extra_context=None):
        """Ask for the page first (unless the engineer has one): the form then offers only its
        components and reads times in its zone."""
        pages = list(self.writable_pages(request))
        if self.has_add_permission(request) and len(pages) > 1:
            chosen = self.page_for_request(request)
            if chosen is None or chosen not in pages:
                context = {
                    **self.admin_site.each_context(request),
                    "opts": self.opts,
                    "title": _("Schedule maintenance"),
                    "question": _("Which page is the maintenance on?"),
                    "pages": pages,
                }
                return TemplateResponse(
                    request, "admin/incidents/incident/choose_page.html", context
                )
        return super().add_view(request, form_url, extra_context)

    def chosen_page(self, request):
        """The page a new maintenance is for: the one picked, or the engineer's only page."""
        chosen = self.page_for_request(request)
        writable = self.writable_pages(request)
        if chosen is not None:
            return chosen if writable.filter(pk=chosen.pk).exists() else None
        only = list(writable[:2])
        return only[0] if len(only) == 1 else None

    # Columns ---------------------------------------------------------------------------

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_label(self, obj):
        return obj.get_status_display()

    @admin.display(description=gettext_lazy("window"), ordering="scheduled_for")
    def window(self, obj):
        tz = obj.page.tz
        starts, ends = obj.scheduled_for.astimezone(tz), obj.scheduled_until.astimezone(tz)
        return f"{date_format(starts, 'D j M Y H:i')} – {date_format(ends, 'D j M Y H:i T')}"

    @admin.display(description=gettext_lazy("automatic"))
    def automatic(self, obj):
        parts = []
        if obj.scheduled_auto_in_progress:
            parts.append(_("start"))
        if obj.scheduled_auto_completed:
            parts.append(_("complete"))
        return ", ".join(parts) or "—"

    @admin.display(description=gettext_lazy("affected components"))
    def components_list(self, obj):
        return ", ".join(str(link.component) for link in obj.affected.select_related("component"))

    @admin.display(description=gettext_lazy("updates"))
    def timeline(self, obj):
        from notifications.selectors import deliveries_by_update, notified_in_words

        tz = obj.page.tz
        notified = deliveries_by_update(obj.pk)
        rows = (
            (
                date_format(u.display_at.astimezone(tz), "j M Y H:i T"),
                u.get_status_display(),
                u.author_name,
                notified_in_words(notified.get(u.pk, []))
                if u.deliver_notifications
                else _("not notified"),
                u.body,
            )
            for u in obj.updates.order_by("-display_at", "-id")
        )
        return format_html(
            "<ol class='maintenance-timeline'>{}</ol>",
            format_html_join("", "<li><strong>{} · {}</strong> ({}) · {}<br>{}</li>", rows),
        )

    # Writes: through the services only --------------------------------------------------

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            created = services.schedule_maintenance(
                data["page"],
                actor=request.user,
                name=data["name"],
                body=data["body"],
                scheduled_for=data["scheduled_for"],
                scheduled_until=data["scheduled_until"],
                components=list(data["affected"]),
                auto_start=data["scheduled_auto_in_progress"],
                auto_complete=data["scheduled_auto_completed"],
                deliver_notifications=data["deliver_notifications"],
                name_translations=form.translations("name"),
                body_translations=form.translations("body"),
            )
            obj.pk = obj.id = created.pk
            return
        services.change_maintenance(
            obj,
            actor=request.user,
            name=data["name"],
            scheduled_for=data["scheduled_for"],
            scheduled_until=data["scheduled_until"],
            auto_start=data["scheduled_auto_in_progress"],
            auto_complete=data["scheduled_auto_completed"],
            name_translations=form.translations("name", keep_empty=True),
        )

    def save_related(self, request, form, formsets, change):
        """The components were attached by `schedule_maintenance`."""

    def delete_model(self, request, obj):
        services.delete_incident(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            services.delete_incident(obj, actor=request.user)

    # Start, verify, complete, cancel -----------------------------------------------------

    TRANSITIONS = {
        "start": (gettext_lazy("Start now"), (IncidentStatus.SCHEDULED,)),
        "verify": (gettext_lazy("Work done: verify"), (IncidentStatus.IN_PROGRESS,)),
        "complete": (
            gettext_lazy("Complete"),
            (IncidentStatus.IN_PROGRESS, IncidentStatus.VERIFYING),
        ),
        "cancel": (gettext_lazy("Cancel maintenance"), (IncidentStatus.SCHEDULED,)),
    }

    def get_urls(self):
        return [
            path(
                "<int:object_id>/transition/<slug:transition>/",
                self.admin_site.admin_view(self.transition_view),
                name="incidents_maintenance_transition",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None and self.has_change_permission(request, obj):
            extra_context = {
                **(extra_context or {}),
                "maintenance_transitions": [
                    {
                        "label": label,
                        "url": reverse(
                            "admin:incidents_maintenance_transition", args=[obj.pk, name]
                        ),
                    }
                    for name, (label, allowed) in self.TRANSITIONS.items()
                    if obj.status in allowed
                ],
                **audit_context(obj),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def transition_view(self, request, object_id, transition):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, object_id)
        if obj is None or transition not in self.TRANSITIONS:
            raise PermissionDenied
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        try:
            self._check_allowed(obj, transition)
            self._transition(request, obj, transition)
        except ServiceError as error:
            report_service_error(request, error)
        else:
            obj.refresh_from_db()
            messages.success(
                request,
                _("“%(name)s” is now: %(status)s.")
                % {"name": obj.name, "status": obj.get_status_display()},
            )
        return HttpResponseRedirect(reverse("admin:incidents_maintenance_change", args=[obj.pk]))

    def _check_allowed(self, obj, transition: str) -> None:
        label, allowed = self.TRANSITIONS[transition]
        if obj.status not in allowed:
            raise services.TransitionError(
                _("“%(action)s” is not possible for maintenance that is %(status)s.")
                % {"action": label, "status": obj.get_status_display().lower()}
            )

    def _transition(self, request, obj, transition: str) -> None:
        actor = request.user
        if transition == "start":
            services.start_maintenance(obj, actor=actor)
        elif transition == "verify":
            with timezone.override(obj.page.tz):
                services.post_update(
                    obj,
                    actor=actor,
                    status=IncidentStatus.VERIFYING,
                    body=_("The work is done; we are verifying that everything works."),
                )
        elif transition == "complete":
            services.complete_maintenance(obj, actor=actor)
        elif transition == "cancel":
            services.cancel_maintenance(obj, actor=actor)

    def _bulk(self, request, queryset, transition: str, done_message: str):
        done = 0
        for obj in queryset.select_related("page"):
            if not self.has_change_permission(request, obj):
                continue
            try:
                self._check_allowed(obj, transition)
                self._transition(request, obj, transition)
                done += 1
            except ServiceError as error:
                self.message_user(request, f"{obj.name}: {error.message}", messages.WARNING)
        self.message_user(request, done_message % {"count": done})

    @admin.action(description=gettext_lazy("Start selected maintenance now"))
    def start_selected(self, request, queryset):
        self._bulk(request, queryset, "start", _("%(count)d maintenance(s) started."))

    @admin.action(description=gettext_lazy("Complete selected maintenance"))
    def complete_selected(self, request, queryset):
        self._bulk(request, queryset, "complete", _("%(count)d maintenance(s) completed."))

    @admin.action(description=gettext_lazy("Cancel selected scheduled maintenance"))
    def cancel_selected(self, request, queryset):
        self._bulk(request, queryset, "cancel", _("%(count)d maintenance(s) cancelled."))
