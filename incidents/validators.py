"""Input rules every channel shares (admin, API, commands): one-line text and sane date ranges.

Services call these at their boundary, so a rule holds whatever door the input came through.
Each raises a ServiceError naming the field, with a message a person understands.
"""

from __future__ import annotations

import datetime as dt
import unicodedata

from django.utils import timezone
from django.utils.translation import gettext as _

from incidents.services.base import ServiceError

# Explicit bidi embeddings, overrides and isolates (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI,
# PDI): in a one-line field they can only reorder the text around them on the page, in mail
# subjects and in the admin ("Trojan Source"). Right-to-left text needs none of them; the
# templates isolate user text with `dir="auto"` / `<bdi>` instead. The plain marks LRM/RLM/ALM
# stay allowed: they change no order outside the text they sit in.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

# Maintenance (and any date a person schedules) lies within this range of now.
DATES_BACK = dt.timedelta(days=365)
DATES_AHEAD = dt.timedelta(days=5 * 365)


def one_line_text(
    value: str | None,
    *,
    field: str,
    label: str,
    limit: int,
    required: bool = True,
) -> str:
    """Strip the ends and refuse line breaks, other control characters and bidi controls.

    Titles, names, phone numbers and hosts end up in mail headers, `phone.txt`, CSV files and
    one-line HTML: a line break there injects headers or lines.
    """
    value = (value or "").strip()
    if not value:
        if required:
            raise ServiceError(
                _("%(label)s is required.") % {"label": label}, code="required", field=field
            )
        return ""
    for char in value:
        category = unicodedata.category(char)
        if char in "\r\n\u2028\u2029\x85" or category in ("Zl", "Zp"):
            raise ServiceError(
                _("%(label)s must be one line: remove the line break.") % {"label": label},
                code="multiline",
                field=field,
            )
        if char in BIDI_CONTROLS:
            raise ServiceError(
                _(
                    "%(label)s contains an invisible text-direction character (U+%(code)04X); "
                    "remove it: right-to-left text is shown correctly without it."
                )
                % {"label": label, "code": ord(char)},
                code="bidi_control",
                field=field,
            )
        if category == "Cc":
            raise ServiceError(
                _("%(label)s contains an invisible control character (U+%(code)04X).")
                % {"label": label, "code": ord(char)},
                code="control_character",
                field=field,
            )
    return within_limit(value, field=field, label=label, limit=limit)


def within_limit(value: str, *, field: str, label: str, limit: int) -> str:
    """Refuse a text longer than `limit` characters, saying how long it is."""
    if len(value) > limit:
        raise ServiceError(
            _("%(label)s is too long: %(length)d characters, at most %(limit)d.")
            % {"label": label, "length": len(value), "limit": limit},
            code="too_long",
            field=field,
        )
    return value


def date_in_range(
    value: dt.datetime,
    *,
    field: str,
    label: str,
    back: dt.timedelta = DATES_BACK,
    ahead: dt.timedelta = DATES_AHEAD,
    now: dt.datetime | None = None,
) -> dt.datetime:
    """Refuse a date further than `back` in the past or `ahead` in the future.

    Dates near year 1 or 9999 cannot be shown in every time zone (they overflow), and nobody
    schedules anything there: such a value is a typo or an attack.
    """
    now = now or timezone.now()
    if value < now - back or value > now + ahead:
        raise ServiceError(
            _(
                "%(label)s must lie between %(earliest)s and %(latest)s; "
                "%(value)s is out of that range."
            )
            % {
                "label": label,
                "earliest": (now - back).date().isoformat(),
                "latest": (now + ahead).date().isoformat(),
                "value": value.date().isoformat(),
            },
            code="out_of_range",
            field=field,
        )
    return value
