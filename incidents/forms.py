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


class ComponentStatusFieldsMixin(forms.Form):
    """A checkbox per component of the page (affected or not) and, on the same row, the status
    it gets: one click to include a component, its status already set to a sensible one."""

    def add_component_fields(
        self,
        page: Page,
        current: dict[int, str] | None = None,
        default_status: str = ComponentStatus.PARTIAL_OUTAGE,
    ):
        current = current or {}
        components = Component.objects.filter(page=page).select_related("group")
        ordered = components.order_by("group__position", "group_id", "position", "id")
        # Components this incident already affects come first: they are what an update is about.
        self.component_list = sorted(ordered, key=lambda c: c.pk not in current)
        self.fields["components"] = forms.TypedMultipleChoiceField(
            label=_("Affected components"),
            coerce=int,
            choices=[(c.pk, str(c)) for c in self.component_list],
            required=False,
            initial=list(current),
            widget=forms.CheckboxSelectMultiple,
        )
        for component in self.component_list:
            self.fields[f"status_{component.pk}"] = forms.ChoiceField(
                label=_("Status of %(component)s") % {"component": component},
                choices=ComponentStatus.choices,
                required=False,
                initial=current.get(component.pk, default_status),
            )

    def component_statuses(self) -> dict[int, str]:
        """{component id: status} of the ticked components."""
        return {
            pk: self.cleaned_data.get(f"status_{pk}") or ComponentStatus.PARTIAL_OUTAGE
            for pk in self.cleaned_data.get("components") or ()
        }

    def component_rows(self):
        """(component, ticked, bound status field) per row, for the template's table."""
        ticked = {str(v) for v in self["components"].value() or ()}
        return [
            (component, str(component.pk) in ticked, self[f"status_{component.pk}"])
            for component in self.component_list
        ]


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
        # The first thing to type: no click needed to get there.
        widget=forms.TextInput(attrs={"class": "vTextField", "autofocus": True}),
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

    def __init__(self, *args, page: Page, template: IncidentTemplate | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.page = page
        cast(
            forms.ModelChoiceField, self.fields["template"]
        ).queryset = IncidentTemplate.objects.filter(page=page)
        current: dict[int, str] = {}
        if template is not None:
            # Started from a template (the board's links): its text, impact and components at
            # the status its impact stands for, all still editable.
            from .services.rules import STATUS_FOR_IMPACT

            held = STATUS_FOR_IMPACT.get(template.impact, ComponentStatus.PARTIAL_OUTAGE)
            current = {c.pk: held for c in template.components.all()}
            self.initial.update(template=template.pk, name=template.title, body=template.body)
            if template.impact in STATUS_FOR_IMPACT:
                self.initial["impact"] = template.impact
        self.add_component_fields(page, current)

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
