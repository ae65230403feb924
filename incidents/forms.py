"""Forms of the engineers' admin: open an incident, post an update, resolve, reopen, fix a typo.

They only validate input; the writes are `incidents.services` calls made by the admin views.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from django import forms
from django.conf import settings
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


class TranslationFieldsMixin:
    """Optional fields for a text in other languages, `<field>_<language>` beside `<field>`:
    an engineer writes the update (title, name) in the page's language and, if they like, in
    the other one. `translations(field)` gives the `{language: text}` the services take (they
    check it as the field itself, incidents.translations)."""

    fields: dict[str, forms.Field]
    cleaned_data: dict

    def add_translation_fields(
        self,
        field: str,
        *,
        page: Page | None,
        initial: dict[str, str] | None = None,
        textarea: bool = False,
        max_length: int | None = None,
    ) -> None:
        """Add one optional field per language the page is not written in (every language
        when the page is not known yet: the add form of a component), right after `field`."""
        initial = initial or {}
        label = self.fields[field].label
        added = {}
        for code, name in settings.LANGUAGES:
            if page is not None and code == page.default_language:
                continue
            added[f"{field}_{code}"] = _translation_field(
                label, code, name, textarea=textarea, max_length=max_length
            )
            added[f"{field}_{code}"].initial = initial.get(code, "")
        ordered = {}
        for key, value in self.fields.items():
            ordered[key] = value
            if key == field:
                ordered.update(added)
        self.fields = ordered if field in self.fields else {**self.fields, **added}

    @property
    def translated_fields(self) -> dict[str, list]:
        """`{field: [bound translation fields]}`, for templates that lay fields out by hand."""
        found: dict[str, list] = {}
        for name in self.fields:
            base, _sep, code = name.rpartition("_")
            if base and code in dict(settings.LANGUAGES) and base in self.fields:
                found.setdefault(base, []).append(self[name])  # type: ignore[index]
        return found

    def translation_field_names(self, field: str) -> list[str]:
        names = (f"{field}_{code}" for code, _name in settings.LANGUAGES)
        return [name for name in names if name in self.fields]

    def translations(self, field: str, *, keep_empty: bool = False) -> dict[str, str]:
        """`{language: text}` of the translation fields of `field`; with `keep_empty` the
        empty ones too (a change form: a cleared field removes its translation)."""
        prefix = f"{field}_"
        found = {
            name[len(prefix) :]: (self.cleaned_data.get(name) or "").strip()
            for name in self.translation_field_names(field)
        }
        return found if keep_empty else {k: v for k, v in found.items() if v}

    def form_field(self, service_field: str | None) -> str | None:
        """The form field a service error names ("name_translations.nl" is "name_nl")."""
        name = (service_field or "").replace("_translations.", "_")
        return name if name in self.fields else None

    def check_page_language(self, field: str, page: Page | None) -> None:
        """Refuse a translation into the page's own language (a form that did not know the
        page when it was made offers every language)."""
        if page is None:
            return
        name = f"{field}_{page.default_language}"
        if name in self.fields and (self.cleaned_data.get(name) or "").strip():
            self.add_error(  # type: ignore[attr-defined]
                name,
                _("This page is written in this language: put the text in the field above."),
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


class OpenIncidentForm(TranslationFieldsMixin, ComponentStatusFieldsMixin, forms.Form):
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
        self.add_translation_fields("name", page=page, max_length=200)
        self.add_translation_fields("body", page=page, textarea=True)
        current: dict[int, str] = {}
        if template is not None:
            # Started from a template (the board's links): its text, impact and components at
            # the status its impact stands for, all still editable.
            from .services.rules import STATUS_FOR_IMPACT

            held = STATUS_FOR_IMPACT.get(template.impact, ComponentStatus.PARTIAL_OUTAGE)
            current = {c.pk: held for c in template.components.all()}
            self.initial.update(template=template.pk, name=template.title, body=template.body)
            for code, text in template.title_translations.items():
                self.initial[f"name_{code}"] = text
            for code, text in template.body_translations.items():
                self.initial[f"body_{code}"] = text
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


class PostUpdateForm(TranslationFieldsMixin, ComponentStatusFieldsMixin, forms.Form):
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
        self.add_translation_fields("body", page=incident.page, textarea=True)
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


class IncidentDetailsForm(TranslationFieldsMixin, forms.ModelForm):
    class Meta:
        model = Incident
        fields = ["name", "impact", "phone_message"]
        widgets = {
            "phone_message": forms.Textarea(attrs={"rows": 2}),
            "name": forms.TextInput(attrs={"class": "vTextField"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        incident = self.instance
        self.add_translation_fields(
            "name",
            page=incident.page if incident.page_id else None,
            initial=incident.name_translations,
            max_length=200,
        )


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


class EditUpdateForm(TranslationFieldsMixin, forms.Form):
    update_id = forms.IntegerField(widget=forms.HiddenInput)
    body = forms.CharField(label=_("Corrected message"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, page: Page | None = None, initial_translations=None, **kwargs):
        super().__init__(*args, **kwargs)
        if page is not None:
            self.add_translation_fields(
                "body", page=page, textarea=True, initial=initial_translations
            )


def _translation_field(label, code: str, name, *, textarea: bool, max_length: int | None):
    widget = (
        forms.Textarea(attrs={"rows": 3, "lang": code})
        if textarea
        else forms.TextInput(attrs={"class": "vTextField", "lang": code})
    )
    return forms.CharField(
        label=_("%(label)s in %(language)s") % {"label": label, "language": name},
        required=False,
        max_length=max_length,
        widget=widget,
        help_text=_(
            "Optional. Visitors and subscribers reading %(language)s see this; "
            "without it they see the text above."
        )
        % {"language": name},
    )


class ModelTranslationsMixin(TranslationFieldsMixin):
    """For the admin's model forms (components, groups, templates, maintenance): the
    `<field>_<language>` fields, declared by `with_translations`, are read from and written to
    the model's `<field>_translations`. A translation into the page's own language is refused
    (the add form does not know the page yet, so it offers every language)."""

    translated: dict[str, str] = {}  # form field -> model attribute holding its translations
    instance: Any

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field, attribute in self.translated.items():
            stored = getattr(self.instance, attribute, None) or {}
            for code, _name in settings.LANGUAGES:
                if f"{field}_{code}" in self.fields:
                    self.initial.setdefault(  # type: ignore[attr-defined]
                        f"{field}_{code}", stored.get(code, "")
                    )

    def clean(self):
        data = super().clean()  # type: ignore[misc]
        page = self.cleaned_data.get("page") or (
            self.instance.page if getattr(self.instance, "page_id", None) else None
        )
        for field, attribute in self.translated.items():
            self.check_page_language(field, page)
            setattr(self.instance, attribute, self.translations(field))
        return data


F = TypeVar("F", bound=type)


def with_translations(**fields: tuple[Any, bool, int | None]) -> Callable[[F], F]:
    """A class decorator: the form with `<field>_<language>` fields for every language,
    declared (so admin fieldsets may name them): `name=(label, textarea, max_length)`."""

    def decorate(form_class: F) -> F:
        declared = {
            f"{field}_{code}": _translation_field(
                label, code, name, textarea=textarea, max_length=limit
            )
            for field, (label, textarea, limit) in fields.items()
            for code, name in settings.LANGUAGES
        }
        return cast(F, type(form_class.__name__, (form_class,), declared))

    return decorate


def translation_field_names(field: str, page: Page | None) -> list[str]:
    """The `<field>_<language>` names an admin form shows for a page (all before it is known)."""
    return [
        f"{field}_{code}"
        for code, _name in settings.LANGUAGES
        if page is None or code != page.default_language
    ]
