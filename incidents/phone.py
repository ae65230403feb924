"""What the phone line (IVR) plays: a short spoken summary of the page, made from the snapshot.

Written for the ear, not the eye: no Markdown, no URLs, times and numbers in words a
text-to-speech engine reads the same way a person says them ("since nine forty", "sinds negen
uur veertig"). The spoken phrases of both languages live here, next to their number words.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db.models import Prefetch
from django.utils import timezone

from incidents import visibility
from incidents.hours import line_state, what_to_do
from incidents.models import (
    COMPONENT_SEVERITY,
    Component,
    Customer,
    Incident,
    IncidentUpdate,
    Page,
)
from incidents.snapshot import LIVE_ITEMS, _incident_view, component_view, page_snapshot
from incidents.snapshot_types import IncidentView, PageSnapshot

MAX_SPOKEN_INCIDENTS = 3
IMPACT_RANK = {"critical": 3, "major": 2, "minor": 1, "none": 0}

_EN_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_EN_TENS = {20: "twenty", 30: "thirty", 40: "forty", 50: "fifty"}
_NL_UNITS = [
    "nul",
    "een",
    "twee",
    "drie",
    "vier",
    "vijf",
    "zes",
    "zeven",
    "acht",
    "negen",
    "tien",
    "elf",
    "twaalf",
    "dertien",
    "veertien",
    "vijftien",
    "zestien",
    "zeventien",
    "achttien",
    "negentien",
]
_NL_TENS = {20: "twintig", 30: "dertig", 40: "veertig", 50: "vijftig"}

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "none": "There are no known disruptions of our services at the moment.",
        "incident": "We are aware of a disruption of {what} since {since}. "
        "Our engineers are working on it.",
        "monitoring": "We are aware of a disruption of {what} since {since}. "
        "A fix is in place and we are checking that everything works again.",
        "maintenance": "Planned maintenance of {what} is in progress until {until}.",
        "maintenance_open": "Planned maintenance of {what} is in progress.",
        "more": "There are {count} more disruptions.",
        "hang_up": "You can hang up now: we are already working on it. "
        "Calling again keeps our engineers from the fix.",
        "desk_open": "Our support desk is open until {time}.",
        "desk_closed": "Our support desk is closed. It opens again {day} at {time}.",
        "desk_never": "Our support desk is closed.",
        "after_hours": "Outside office hours, call your outage number with your PIN.",
        "outage_line": "Call your outage number {number} and have your PIN ready.",
        "and": "and",
        "yesterday": "yesterday at",
        "on_day": "{day} at",
        "today": "today",
        "tomorrow": "tomorrow",
    },
    "nl": {
        "none": "Er zijn op dit moment geen storingen bekend.",
        "incident": "Er is sinds {since} een storing in {what}. Onze technici werken eraan.",
        "monitoring": "Er is sinds {since} een storing in {what}. Er is een oplossing "
        "doorgevoerd en we controleren of alles weer werkt.",
        "maintenance": "Er is gepland onderhoud aan {what}, tot {until}.",
        "maintenance_open": "Er is gepland onderhoud aan {what}.",
        "more": "Er zijn nog {count} andere storingen.",
        "hang_up": "U kunt nu ophangen: we werken er al aan. "
        "Opnieuw bellen houdt onze technici van de oplossing af.",
        "desk_open": "Onze servicedesk is open tot {time}.",
        "desk_closed": "Onze servicedesk is gesloten. We zijn weer open {day} om {time}.",
        "desk_never": "Onze servicedesk is gesloten.",
        "after_hours": "Buiten kantoortijden belt u uw storingsnummer met uw pincode.",
        "outage_line": "Belt u uw storingsnummer {number} en houdt u uw pincode bij de hand.",
        "and": "en",
        "yesterday": "gisteren om",
        "on_day": "{day} om",
        "today": "vandaag",
        "tomorrow": "morgen",
    },
}


# Names of weekdays (Monday first) and months, per language.
DAYS: dict[str, list[str]] = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "nl": ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"],
}
MONTHS: dict[str, list[str]] = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "nl": [
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ],
}


def number_words(n: int, language: str) -> str:
    """0–59 in words: 'forty two' / 'tweeënveertig'."""
    units, tens = (_NL_UNITS, _NL_TENS) if language == "nl" else (_EN_UNITS, _EN_TENS)
    if n < 20:
        return units[n]
    ten, unit = n - n % 10, n % 10
    if not unit:
        return tens[ten]
    if language == "nl":
        joiner = "ën" if units[unit].endswith("e") else "en"
        return f"{units[unit]}{joiner}{tens[ten]}"
    return f"{tens[ten]} {units[unit]}"


def time_words(moment: dt.time | dt.datetime, language: str) -> str:
    """A clock time as people say it: 'nine forty', 'two oh five in the afternoon' /
    'negen uur veertig', 'veertien uur vijf'."""
    hour, minute = moment.hour, moment.minute
    if language == "nl":
        if hour == 0 and minute == 0:
            return "middernacht"
        spoken = f"{number_words(hour, 'nl')} uur"
        return f"{spoken} {number_words(minute, 'nl')}" if minute else spoken
    if hour == 0 and minute == 0:
        return "midnight"
    if hour == 12 and minute == 0:
        return "noon"
    twelve = hour % 12 or 12
    if minute == 0:
        spoken = f"{number_words(twelve, 'en')} o'clock"
    elif minute < 10:
        spoken = f"{number_words(twelve, 'en')} oh {number_words(minute, 'en')}"
    else:
        spoken = f"{number_words(twelve, 'en')} {number_words(minute, 'en')}"
    if hour < 12:
        return f"{spoken} in the morning"
    return f"{spoken} in the evening" if hour >= 18 else f"{spoken} in the afternoon"


def moment_words(moment: dt.datetime, now: dt.datetime, language: str) -> str:
    """A moment relative to today: 'nine forty', 'yesterday at nine forty', 'Monday at ...'."""
    phrases = PHRASES[language]
    days = (now.date() - moment.date()).days
    time = time_words(moment, language)
    if days == 0:
        return time
    if days == 1:
        return f"{phrases['yesterday']} {time}"
    if 1 < days < 7:
        return f"{phrases['on_day'].format(day=DAYS[language][moment.weekday()])} {time}"
    month = MONTHS[language][moment.month - 1]
    return f"{moment.day} {month}" if language == "nl" else f"{month} {moment.day}"


def day_words(moment: dt.datetime, now: dt.datetime, language: str) -> str:
    phrases = PHRASES[language]
    days = (moment.date() - now.date()).days
    if days == 0:
        return phrases["today"]
    if days == 1:
        return phrases["tomorrow"]
    return ("on " if language == "en" else "op ") + DAYS[language][moment.weekday()]


def future_words(moment: dt.datetime, now: dt.datetime, language: str) -> str:
    """A coming moment: 'six o'clock in the evening', 'tomorrow at ...' / 'morgen om ...'."""
    time = time_words(moment, language)
    if moment.date() == now.date():
        return time
    at = "om" if language == "nl" else "at"
    return f"{day_words(moment, now, language)} {at} {time}"


_URL = re.compile(r"(https?://|www\.)\S*[^\s.,;:!?)]", re.IGNORECASE)
_MARKUP = re.compile(r"[*_`#>\[\]|~]+")


def for_the_ear(text: str) -> str:
    """Text a speech engine reads cleanly: no URLs, no Markdown marks, one line."""
    text = _URL.sub("", text or "")
    text = re.sub(r"\]\([^)]*\)", "]", text)  # [label](link) -> label
    text = _MARKUP.sub("", text)
    return re.sub(r"\s+([.,;:!?])", r"\1", " ".join(text.split()))


def _join(names: list[str], language: str) -> str:
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} {PHRASES[language]['and']} {names[-1]}"


def _parse(iso: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")) if iso else None


def incident_sentence(
    incident: IncidentView, *, now: dt.datetime, tz: dt.tzinfo, language: str
) -> str:
    """One incident as the phone says it; the engineers' override wins."""
    if incident.phone_message.strip():
        return for_the_ear(incident.phone_message)
    phrases = PHRASES[language]
    what = for_the_ear(_join([c.name for c in incident.components], language))
    what = what or for_the_ear(incident.name)
    if incident.kind == "maintenance":
        until = _parse(incident.scheduled_until)
        if until is None:
            return phrases["maintenance_open"].format(what=what)
        return phrases["maintenance"].format(
            what=what, until=future_words(until.astimezone(tz), now.astimezone(tz), language)
        )
    # Every incident has a creation time; "now" only keeps the sentence whole without one.
    since = (_parse(incident.started_at or incident.created_at) or now).astimezone(tz)
    template = phrases["monitoring" if incident.status == "monitoring" else "incident"]
    return template.format(what=what, since=moment_words(since, now.astimezone(tz), language))


def severity(incident: IncidentView) -> tuple[int, int]:
    """How bad an incident is for a caller: its impact, then the worst status it gave a
    component."""
    worst = max(
        (COMPONENT_SEVERITY.get(c.incident_status, 0) for c in incident.components), default=0
    )
    return IMPACT_RANK.get(incident.impact, 0), worst


def customer_items(
    page: Page, customer: Customer, snapshot: PageSnapshot
) -> tuple[list[IncidentView], list[IncidentView]]:
    """The page's open incidents and active maintenance that only this customer sees (its
    customer-only components' items), with its components named (4 queries)."""
    components = dict(snapshot.components)
    own = visibility.components_visible_to(customer, Component.objects.filter(page=page))
    for component in own.exclude(pk__in=list(components)).select_related("group"):
        components[component.pk] = component_view(component)
    known = set(snapshot.unresolved_ids) | set(snapshot.active_maintenance_ids)
    found = (
        visibility.incidents_visible_to(customer, Incident.objects.filter(page=page))
        .filter(LIVE_ITEMS)
        .exclude(pk__in=known)
        .prefetch_related(
            Prefetch("updates", queryset=IncidentUpdate.objects.order_by("-display_at", "-id")),
            "affected",
        )
    )
    views = [_incident_view(i, components) for i in found]
    incidents = [v for v in views if v.kind == "incident"]
    maintenance = [v for v in views if v.status in ("in_progress", "verifying")]
    return incidents, maintenance


def phone_message(
    page: Page,
    *,
    language: str | None = None,
    now: dt.datetime | None = None,
    customer: Customer | None = None,
) -> dict[str, Any]:
    """What the phone line should play and where it should forward a caller, right now.

    Built from the page snapshot and the support hours; `language` defaults to the page's.
    For a `customer` (the IVR knows the caller's company) it is that customer's view: the
    public items and its own customer-only ones, and after hours what its contract offers
    (16x7: its outage number, with the PIN ready; office hours: when the desk opens).
    """
    snapshot = page_snapshot(page)
    now = now or timezone.now()
    language = language if language in PHRASES else page.default_language
    language = language if language in PHRASES else "en"
    phrases = PHRASES[language]
    tz = page.tz
    support = snapshot.page.support
    indicator = snapshot.indicator
    major = indicator in ("major", "critical")
    # The most severe first (newest first among equals), so a caller always hears the worst
    # one whatever the count; maintenance after the incidents.
    incidents = snapshot.incidents_of(snapshot.unresolved_ids)
    maintenance = snapshot.incidents_of(snapshot.active_maintenance_ids)
    if customer is not None:
        own_incidents, own_maintenance = customer_items(page, customer, snapshot)
        incidents, maintenance = incidents + own_incidents, maintenance + own_maintenance
        worst = [indicator] + [i.impact for i in own_incidents if i.impact != "none"]
        indicator = max(worst, key=lambda level: IMPACT_RANK.get(level, 0))
        major = indicator in ("major", "critical")
    incidents = sorted(incidents, key=severity, reverse=True)
    spoken = [
        incident_sentence(i, now=now, tz=tz, language=language)
        for i in (incidents + maintenance)[:MAX_SPOKEN_INCIDENTS]
    ]
    more = len(incidents) + len(maintenance) - MAX_SPOKEN_INCIDENTS
    if more > 0:
        spoken.append(phrases["more"].format(count=number_words(min(more, 59), language)))
    if not spoken:
        spoken.append(phrases["none"])
    if major:
        spoken.append(phrases["hang_up"])

    office = line_state(snapshot.page, "office", now)
    after_hours = line_state(snapshot.page, "after_hours", now)
    local_now = now.astimezone(tz)
    line: str | None
    if office is not None and office.is_open and office.changes_at is not None:
        # (an open desk always knows when it closes: desk_state sets changes_at)
        line, forward_to = "office", support.phone or None
        desk = phrases["desk_open"].format(
            time=time_words(office.changes_at.astimezone(tz), language)
        )
    else:
        after_hours_open = support.after_hours_phone and (
            after_hours is None or after_hours.is_open
        )
        line = "after_hours" if after_hours_open else None
        forward_to = support.after_hours_phone if after_hours_open else None
        if office is not None and office.changes_at is not None:
            opens = office.changes_at.astimezone(tz)
            desk = phrases["desk_closed"].format(
                day=day_words(opens, local_now, language), time=time_words(opens, language)
            )
        else:
            desk = phrases["desk_never"]
        if customer is not None:
            # The customer's contract decides (the same rule as its /my/ view), not the
            # page's general after-hours line.
            line = forward_to = None
            todo = what_to_do(customer, snapshot.page, now)
            if todo.action == "outage_line":
                line, forward_to = "outage_line", todo.phone
                number = for_the_ear(todo.phone)
                desk = f"{desk} {phrases['outage_line'].format(number=number)}"
        elif support.after_hours_phone:
            desk = f"{desk} {phrases['after_hours']}"
    message = {
        "page": snapshot.page.slug,
        "language": language,
        "version": snapshot.version,
        "generated_at": now.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "indicator": indicator,
        "major_outage": major,
        "summary": " ".join(spoken),
        "incidents": [
            {
                "id": i.public_id,
                "kind": i.kind,
                "name": i.name,
                "status": i.status,
                "impact": i.impact,
                "message": incident_sentence(i, now=now, tz=tz, language=language),
            }
            for i in incidents + maintenance
        ],
        "desk": {
            "open": line is not None,
            "line": line,
            "forward_to": forward_to,
            "office_open": bool(office and office.is_open),
            "after_hours_open": bool(after_hours and after_hours.is_open),
            "changes_at": office.changes_at.isoformat() if office and office.changes_at else None,
            "message": desk,
        },
    }
    if customer is not None:
        message["customer"] = {
            "code": customer.code,
            "name": customer.name,
            "contract": customer.contract,
        }
    return message
