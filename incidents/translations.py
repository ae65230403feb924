"""Bilingual content: the text an engineer wrote in a page's language, and its translations.

The stored field (`Incident.name`, `IncidentUpdate.body`, `Component.name`, ...) holds the text
in the page's default language, as before: every reader that knows no languages (the v2 JSON in
Statuspage's shape, webhooks, chat, the audit trail) keeps reading it. Beside it a
`<field>_translations` JSON object holds the same text in other languages, keyed by language
code (`{"nl": "Storing bij e-mail"}`); a language the page is written in, an unknown language
or an empty text is refused or dropped here, once, for every door (admin, API, import, demo).

A reader in language L gets `translations[L]` when there is one, else the original.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from incidents import validators
from incidents.services.base import ServiceError


def other_languages(page_language: str) -> list[tuple[str, str]]:
    """The (code, name) of every language a page's text may be translated into."""
    return [(code, str(name)) for code, name in settings.LANGUAGES if code != page_language]


def clean_translations(
    value: Any,
    *,
    page_language: str,
    field: str,
    label: str,
    limit: int,
    one_line: bool,
) -> dict[str, str]:
    """A translations object checked like the field it translates: known languages other than
    the page's own, text (one line for titles and names, at most `limit` characters). Empty
    texts are dropped, so `{"nl": ""}` removes a translation. Raises ServiceError naming
    `<field>_translations.<language>`."""
    if value in (None, ""):
        return {}
    if not isinstance(value, Mapping):
        raise ServiceError(
            _('Translations must be an object of language and text, like {"nl": "…"}.'),
            code="invalid",
            field=f"{field}_translations",
        )
    known = dict(settings.LANGUAGES)
    cleaned: dict[str, str] = {}
    for language, text in value.items():
        key = f"{field}_translations.{language}"
        if language not in known:
            raise ServiceError(
                _("“%(language)s” is not a language of the status page; use one of: %(known)s.")
                % {"language": str(language)[:20], "known": ", ".join(known)},
                code="unknown_language",
                field=key,
            )
        if text is None or (isinstance(text, str) and not text.strip()):
            continue  # no translation (an empty one removes what was stored)
        if language == page_language:
            raise ServiceError(
                _(
                    "The page is written in %(language)s: put that text in the field itself, "
                    "a translation is for another language."
                )
                % {"language": known[language]},
                code="page_language",
                field=key,
            )
        if not isinstance(text, str):
            raise ServiceError(_("A translation must be text."), code="invalid", field=key)
        name = f"{label} ({known[language]})"
        if one_line:
            text = validators.one_line_text(
                text, field=key, label=name, limit=limit, required=False
            )
        else:
            text = validators.within_limit(text.strip(), field=key, label=name, limit=limit)
        if text:
            cleaned[str(language)] = text
    return cleaned


def translated(original: str, translations: Mapping[str, str] | None, language: str) -> str:
    """The text for a reader in `language`: its translation, else the original."""
    if translations:
        return translations.get(language) or original
    return original
