"""Forms of the public subscription pages; choices come from the page snapshot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from incidents.snapshot_types import PageSnapshot

from .models import LANGUAGES


def component_choices(snapshot: PageSnapshot) -> list[tuple[str, str]]:
    """Visible components in page order, grouped ones as "Group › Component"."""
    groups = snapshot.groups_by_id()
    components = snapshot.components
    choices = []
    for item in snapshot.layout:
        if item.type == "group":
            group = groups[item.id]
            for cid in group.components:
                choices.append((str(cid), f"{group.name} › {components[cid].name}"))
        else:
            choices.append((str(item.id), components[item.id].name))
    return choices


class PreferencesForm(forms.Form):
    components = forms.MultipleChoiceField(
        label=_("Components"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Leave all unticked to hear about every component."),
    )
    language = forms.ChoiceField(
        label=_("Language of the emails"), choices=LANGUAGES, required=False
    )

    def __init__(
        self,
        *args: Any,
        snapshot: PageSnapshot,
        own_components: Sequence[tuple[str, str]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # The page's public components, then (for a customer's subscriber) its own ones.
        choices = component_choices(snapshot) + list(own_components)
        cast(forms.ChoiceField, self.fields["components"]).choices = choices


class SubscribeForm(PreferencesForm):
    KINDS = [
        ("email", _("By email")),
        ("webhook", _("By webhook (Statuspage-compatible JSON)")),
        ("chat", _("In a chat (Slack, Teams, Mattermost… through an incoming-webhook URL)")),
    ]
    kind = forms.ChoiceField(
        label=_("How"), choices=KINDS, initial="email", required=False, widget=forms.RadioSelect
    )
    endpoint = forms.CharField(
        label=_("Webhook or chat URL"),
        max_length=2000,
        required=False,
        help_text=_(
            "For a webhook: https://… (we sign every request). For a chat: an Apprise URL, "
            "for example slack://…, msteams://… or mmost://host/token."
        ),
        widget=forms.URLInput(attrs={"autocomplete": "off"}),
    )
    email = forms.CharField(
        label=_("Email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "required": True}),
        required=False,  # validated by the service, with its own message
    )
    # A field people never see: a bot that fills it in gets the usual answer and no mail.
    website = forms.CharField(required=False, widget=forms.HiddenInput)

    field_order = ["kind", "email", "endpoint", "components", "language", "website"]
