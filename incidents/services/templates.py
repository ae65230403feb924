"""Writes to incident templates (the reusable title, message and impact of a known failure)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from incidents import events, validators
from incidents.models import INCIDENT_STATUSES, IncidentTemplate
from incidents.translations import clean_translations

from .audit import intent
from .base import ServiceError, publish_event
from .incidents import MAX_BODY, MAX_TITLE, _clean_text, components_of_page
from .rules import validate_impact


@intent("save_incident_template")
@transaction.atomic
def save_incident_template(
    template: IncidentTemplate, *, actor: Any, components: Iterable[int] | None = None
) -> IncidentTemplate:
    """Create or change a template; `components` (ids) must belong to the template's page."""
    template.name = validators.one_line_text(
        template.name, field="name", label=_("A name"), limit=120
    )
    template.title = validators.one_line_text(
        template.title, field="title", label=_("A title"), limit=MAX_TITLE
    )
    template.body = _clean_text(template.body, field="body", label=_("A message"), limit=MAX_BODY)
    # Checked as the incident's title and first message will be (incidents.translations).
    language = template.page.default_language
    template.title_translations = clean_translations(
        template.title_translations,
        page_language=language,
        field="title",
        label=_("A title"),
        limit=MAX_TITLE,
        one_line=True,
    )
    template.body_translations = clean_translations(
        template.body_translations,
        page_language=language,
        field="body",
        label=_("A message"),
        limit=MAX_BODY,
        one_line=False,
    )
    validate_impact(template.impact)
    if template.update_status not in INCIDENT_STATUSES:
        raise ServiceError(
            _("Status must be one of: %(choices)s.") % {"choices": ", ".join(INCIDENT_STATUSES)},
            field="update_status",
        )
    clash = IncidentTemplate.objects.filter(page_id=template.page_id, name=template.name)
    if clash.exclude(pk=template.pk).exists():
        raise ServiceError(
            _("A template named “%(name)s” already exists on this page.") % {"name": template.name},
            code="duplicate",
            field="name",
        )
    found = {}
    if components is not None:
        found = components_of_page(template.page_id, set(components), field="component_ids")
    template.save()
    if components is not None:
        template.components.set(found.values())
    publish_event(
        template.page,
        events.PAGE_UPDATED,
        {"incident_template": {"id": template.pk, "name": template.name}},
    )
    return template
