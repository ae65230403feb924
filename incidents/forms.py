"""Forms of the engineers' admin: open an incident, post an update, resolve, reopen, fix a typo.

They only validate input; the writes are `incidents.services` calls made by the admin views.
"""

from __future__ import annotations

from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import (
    INCIDENT_OPEN_STATUSES,
    INCIDENT_STATUSES,
    Component,
    ComponentStatus,
    Impact,
    Incident,
    IncidentStatus,
    IncidentTemplate,
    Page,
)

NOT_AFFECTED = ""


class ComponentStatusFieldsMixin(forms.Form):
    """One select per component of the page: not affected, or the status it gets."""

    def add_component_fields(self, page: Page, current: dict[int, str] | None = None):
        current = current or {}
        self.component_rows = []
        components = Component.objects.filter(page=page).select_related("group")
        ordered = components.order_by("group__position", "group_id", "position", "id")
        # Components this incident already affects come first: they are what an update is about.
        for component in sorted(ordered, key=lambda c: c.pk not in current):
            name = f"component_{component.pk}"
            self.fields[name] = forms.ChoiceField(
                label=str(component),
                choices=[(NOT_AFFECTED, _("— not affected —")), *ComponentStatus.choices],
                required=False,
                initial=current.get(component.pk, NOT_AFFECTED),
            )
            self.component_rows.append((component, name))

    def component_statuses(self) -> dict[int, str]:
        return {
            component.pk: self.cleaned_data[name]
            for component, name in self.component_rows
            if self.cleaned_data.get(name)
        }

    def component_fields(self):
        """Bound fields with their component, for the template's table."""
        return [(component, self[name]) for component, name in self.component_rows]


class OpenIncidentForm(ComponentStatusFieldsMixin, forms.Form):
    template = forms.ModelChoiceField(
        queryset=IncidentTemplate.objects.none(),
        required=False,
        label=_("Start from template"),
        help_text=_("Fills an empty title, message and impact."),
    )
    name = forms.CharField(
        label=_("Title"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"class": "vTextField"}),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[(s.value, s.label) for s in INCIDENT_STATUSES],
        initial="investigating",
    )
    impact = forms.ChoiceField(
        label=_("Impact"),
        required=False,
        choices=[
            ("", _("From the component statuses")),
            *[(v, label) for v, label in Impact.choices if v != Impact.MAINTENANCE],
        ],
    )
    body = forms.CharField(
        label=_("Message"),
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        help_text=_("Markdown. What is wrong, who is affected, what we do, when we update next."),
    )
    deliver_notifications = forms.BooleanField(
        label=_("Notify subscribers"), required=False, initial=True
    )

    def __init__(self, *args, page: Page, **kwargs):
        super().__init__(*args, **kwargs)
        self.page = page
        cast(
            forms.ModelChoiceField, self.fields["template"]
        ).queryset = IncidentTemplate.objects.filter(page=page)
        self.add_component_fields(page)

    def clean(self):
        super().clean()
        data = self.cleaned_data
        template = data.get("template")
        if not data.get("name") and not template:
            self.add_error("name", _("Give the incident a title, or start from a template."))
        if not (data.get("body") or "").strip() and not template:
            self.add_error("body", _("Write a first message, or start from a template."))
        return data


class PostUpdateForm(ComponentStatusFieldsMixin, forms.Form):
    preview = ""  # the message rendered, when the engineer asked for a preview
    status = forms.ChoiceField(label=_("New status"))
    body = forms.CharField(
        label=_("Message"), widget=forms.Textarea(attrs={"rows": 4}), help_text=_("Markdown.")
    )
    deliver_notifications = forms.BooleanField(
        label=_("Notify subscribers"),
        required=False,
        initial=True,
        help_text=_("Untick for a small correction nobody needs an email about."),
    )

    def __init__(self, *args, incident: Incident, **kwargs):
        super().__init__(*args, **kwargs)
        if incident.is_maintenance:
            from .services.rules import MAINTENANCE_TRANSITIONS

            allowed = {incident.status, *MAINTENANCE_TRANSITIONS.get(incident.status, ())}
        else:
            allowed = set(INCIDENT_STATUSES)
        choices = [(value, label) for value, label in IncidentStatus.choices if value in allowed]
        cast(forms.ChoiceField, self.fields["status"]).choices = choices
        self.fields["status"].initial = incident.status
        current = {link.component_id: link.status for link in incident.affected.all()}
        self.add_component_fields(incident.page, current)


class ResolveForm(forms.Form):
    body = forms.CharField(
        label=_("Closing message"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Leave empty for “This incident has been resolved.”"),
    )
    deliver_notifications = forms.BooleanField(
        label=_("Notify subscribers"), required=False, initial=True
    )


class ReopenForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), choices=[(s.value, s.label) for s in INCIDENT_OPEN_STATUSES]
    )
    body = forms.CharField(label=_("Why it is reopened"), widget=forms.Textarea(attrs={"rows": 2}))
    deliver_notifications = forms.BooleanField(
        label=_("Notify subscribers"), required=False, initial=True
    )


class IncidentDetailsForm(forms.ModelForm):
    class Meta:
        model = Incident
        fields = ["name", "impact", "phone_message"]
        widgets = {
            "phone_message": forms.Textarea(attrs={"rows": 2}),
            "name": forms.TextInput(attrs={"class": "vTextField"}),
        }


class PostmortemForm(forms.Form):
    """The postmortem draft; the buttons say what happens to it (save, preview, publish)."""

    preview = ""  # the draft rendered, when the engineer asked for a preview

    body = forms.CharField(
        label=_("Postmortem draft"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("Markdown. Only engineers see the draft until it is published."),
    )
    notify_subscribers = forms.BooleanField(
        label=_("Notify subscribers when publishing"), required=False, initial=False
    )


class EditUpdateForm(forms.Form):
    update_id = forms.IntegerField(widget=forms.HiddenInput)
    body = forms.CharField(label=_("Corrected message"), widget=forms.Textarea(attrs={"rows": 3}))
