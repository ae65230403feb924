"""Admin for customers' problem reports and the early warnings they raise.

Engineers see the reports of the pages they manage, link a report to an incident, and open one
incident from a group of reports in one step. Unacknowledged early warnings show as a banner on
the admin index. Every change goes through incidents.services.reports.
"""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Case, When
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from incidents.models import (
    ComponentStatus,
    Incident,
    IncidentStatus,
    Indicator,
    ProblemReport,
    ReportAlert,
)
from incidents.services import ServiceError
from incidents.services import reports as report_services

from .base import PageScopedAdmin

# The admin index shows the early warnings of the user's pages ({% report_alert_banner %}).
admin.site.index_template = "admin/incidents/index_with_alerts.html"


def _label(choices, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


def incident_choice_label(incident: Incident) -> str:
    state = _("open") if not incident.is_resolved else _("resolved")
    started = date_format(timezone.localtime(incident.created_at), "j M H:i T")
    return f"{incident.name} — {state}: {incident.get_status_display()}, {started}"


class OpenIncidentForm(forms.Form):
    name = forms.CharField(label=_("Title"), max_length=200, required=False)
    body = forms.CharField(
        label=_("First update"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text=_("Leave empty for a standard sentence in the page's language."),
    )
    component_status = forms.ChoiceField(
        label=_("Status of the reported components"),
        choices=[c for c in ComponentStatus.choices if c[0] != ComponentStatus.UNDER_MAINTENANCE],
        initial=ComponentStatus.PARTIAL_OUTAGE,
    )


class ReportChangeForm(forms.ModelForm):
    class Meta:
        model = ProblemReport
        fields = ["incident"]


@admin.register(ProblemReport)
class ProblemReportAdmin(PageScopedAdmin):
    form = ReportChangeForm
    change_list_template = "admin/incidents/problemreport_change_list.html"
    list_display = [
        "created_at",
        "page",
        "component_names",
        "company",
        "contact_name",
        "scope",
        "has_power",
        "has_internet",
        "incident",
    ]
    list_filter = ["page", "components", "scope", ("incident", admin.EmptyFieldListFilter)]
    search_fields = ["company", "contact_name", "email", "description"]
    date_hierarchy = "created_at"
    actions = ["open_incident_action", "link_to_incident_action"]
    readonly_fields = [
        "page",
        "created_at",
        "component_names",
        "scope",
        "has_power",
        "has_internet",
        "since",
        "description",
        "contact_name",
        "company",
        "email",
        "phone",
        "language",
        "shown_in_words",
        "support_emailed_at",
    ]
    fieldsets = [
        (None, {"fields": ["page", "created_at", "component_names", "incident"]}),
        (
            _("Answers"),
            {"fields": ["scope", "has_power", "has_internet", "since", "description"]},
        ),
        (_("Contact"), {"fields": ["contact_name", "company", "email", "phone", "language"]}),
        (_("Context"), {"fields": ["shown_in_words", "support_emailed_at"]}),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("page", "incident")
            .prefetch_related("components")
        )

    def has_add_permission(self, request):
        return False  # reports come from customers

    @admin.display(description=_("components"))
    def component_names(self, report):
        return ", ".join(c.name for c in report.components.all()) or "—"

    @admin.display(description=_("the status page showed"))
    def shown_in_words(self, report):
        """What the reporter saw, as the support mail says it: the page's state in words, the
        open items with their status, and the reported components' status then."""
        shown = report.status_shown or {}
        if not shown:
            return "—"
        names = {c.pk: c.name for c in report.components.all()}
        lines = [
            format_html(
                "<strong>{}</strong>: {}",
                _("In short"),
                _label(Indicator, shown.get("indicator", "none")),
            )
        ]
        for item in shown.get("incidents", []):
            lines.append(
                format_html(
                    "{}: {} ({})",
                    _("Maintenance") if item.get("kind") == "maintenance" else _("Incident"),
                    item.get("name", ""),
                    _label(IncidentStatus, item.get("status", "")).lower(),
                )
            )
        if not shown.get("incidents"):
            lines.append(format_html("{}", _("Nothing listed for these services.")))
        for pk, status in (shown.get("components") or {}).items():
            lines.append(
                format_html(
                    "{}: {}",
                    names.get(int(pk), f"#{pk}"),
                    _label(ComponentStatus, status),
                )
            )
        return format_html_join("", "<div>{}</div>", ((line,) for line in lines))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "incident":
            kwargs["queryset"] = Incident.objects.filter(
                page__in=self.writable_pages(request), kind=Incident.Kind.INCIDENT
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if obj is not None and "incident" in form.base_fields:
            field = cast(forms.ModelChoiceField, form.base_fields["incident"])
            # Open incidents first (the one the report is about is almost always open), then
            # the resolved ones, newest first; each says its state and when it started.
            field.queryset = Incident.objects.filter(
                page=obj.page, kind=Incident.Kind.INCIDENT
            ).order_by(
                Case(When(status=IncidentStatus.RESOLVED, then=1), default=0),
                "-created_at",
            )
            field.label_from_instance = incident_choice_label  # type: ignore[assignment]  # Django documents this override
        return form

    def save_model(self, request, obj, form, change):
        try:
            report_services.link_report_to_incident(
                obj, form.cleaned_data.get("incident"), actor=request.user
            )
        except ServiceError as error:
            self.message_user(request, error.message, messages.ERROR)

    def save_related(self, request, form, formsets, change):
        pass  # components are the customer's answer: never changed here

    @admin.action(description=_("Open an incident from the selected reports"))
    def open_incident_action(self, request, queryset):
        reports = list(queryset)
        if len({r.page_id for r in reports}) > 1:
            self.message_user(
                request,
                _("The selected reports belong to different pages; select reports of one page."),
                messages.ERROR,
            )
            return None
        if "apply" in request.POST:
            form = OpenIncidentForm(request.POST)
            if form.is_valid():
                try:
                    incident = report_services.open_incident_from_reports(
                        reports,
                        actor=request.user,
                        name=form.cleaned_data["name"],
                        body=form.cleaned_data["body"],
                        component_status=form.cleaned_data["component_status"],
                    )
                except ServiceError as error:
                    self.message_user(request, error.message, messages.ERROR)
                    return None
                self.message_user(
                    request,
                    ngettext(
                        "Opened “%(name)s” and linked %(count)d report to it.",
                        "Opened “%(name)s” and linked %(count)d reports to it.",
                        len(reports),
                    )
                    % {"name": incident.name, "count": len(reports)},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:incidents_incident_change", args=[incident.pk])
                    if admin.site.is_registered(Incident)
                    else reverse("admin:incidents_problemreport_changelist")
                )
        else:
            form = OpenIncidentForm()
        return TemplateResponse(
            request,
            "admin/incidents/open_incident_from_reports.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Open an incident from reports"),
                "form": form,
                "reports": reports,
                "action": "open_incident_action",
                "opts": self.model._meta,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(description=_("Link the selected reports to an open incident"))
    def link_to_incident_action(self, request, queryset):
        reports = list(queryset)
        pages = {r.page_id for r in reports}
        if len(pages) != 1:
            self.message_user(
                request,
                _("The selected reports belong to different pages; select reports of one page."),
                messages.ERROR,
            )
            return None
        choices = Incident.objects.filter(
            page_id=next(iter(pages)),
            kind=Incident.Kind.INCIDENT,
            status__in=[
                IncidentStatus.INVESTIGATING,
                IncidentStatus.IDENTIFIED,
                IncidentStatus.MONITORING,
            ],
        )
        if "apply" in request.POST:
            incident = choices.filter(pk=request.POST.get("incident")).first()
            if incident is None:
                self.message_user(request, _("Pick one of the open incidents."), messages.ERROR)
            else:
                for report in reports:
                    report_services.link_report_to_incident(report, incident, actor=request.user)
                self.message_user(
                    request,
                    ngettext(
                        "Linked %(count)d report to “%(name)s”.",
                        "Linked %(count)d reports to “%(name)s”.",
                        len(reports),
                    )
                    % {"name": incident.name, "count": len(reports)},
                    messages.SUCCESS,
                )
                return None
        return TemplateResponse(
            request,
            "admin/incidents/link_reports.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Link reports to an incident"),
                "incidents": choices,
                "reports": reports,
                "action": "link_to_incident_action",
                "opts": self.model._meta,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )


@admin.register(ReportAlert)
class ReportAlertAdmin(PageScopedAdmin):
    list_display = [
        "created_at",
        "page",
        "component_names",
        "report_count",
        "company_count",
        "last_report_at",
        "acknowledged_at",
    ]
    list_filter = ["page", ("acknowledged_at", admin.EmptyFieldListFilter)]
    actions = ["acknowledge"]
    readonly_fields = [f.name for f in ReportAlert._meta.fields] + ["component_names"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("page").prefetch_related("components")

    @admin.display(description=_("components"))
    def component_names(self, obj):
        return obj.component_names

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Acknowledge the selected alerts"))
    def acknowledge(self, request, queryset):
        for alert in queryset:
            report_services.acknowledge_alert(alert, actor=request.user)
        self.message_user(request, _("Acknowledged."), messages.SUCCESS)
