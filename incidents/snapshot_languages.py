"""A snapshot as a reader in one language sees it: titles, names and messages translated.

The cached snapshot holds each text as written (in the page's language) with its translations;
`localize` gives a copy whose `name`/`body`/`body_html` are the reader's language's where the
engineers wrote one (else the original), so templates, feeds, the live push and the phone line
read `.name` and `.body` as they always did. The v2 JSON in Statuspage's shape does not localize:
it keeps the original in the standard fields. A snapshot without translations in that language
is returned as it is (no copy).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import TypeVar

from .snapshot_types import (
    ComponentView,
    GroupView,
    IncidentView,
    MonthHistory,
    PageSnapshot,
    UpdateView,
    Uptime,
    UptimeIncident,
)

C = TypeVar("C", bound=ComponentView)


def _component(component: C, language: str) -> C:
    name = component.name_translations.get(language)
    return dataclasses.replace(component, name=name) if name else component


def localize_component(component: C, language: str) -> C:
    """One component's name in `language` (the original when it has no translation)."""
    return _component(component, language)


def _group(group: GroupView, language: str) -> GroupView:
    name = group.name_translations.get(language)
    return dataclasses.replace(group, name=name) if name else group


def _update(update: UpdateView, language: str, names: dict[str, str]) -> UpdateView:
    body = update.body_translations.get(language)
    affected = tuple(
        dataclasses.replace(c, name=names[c.code]) if c.code in names else c
        for c in update.affected_components
    )
    if not body and all(a is b for a, b in zip(affected, update.affected_components, strict=True)):
        return update
    changes: dict[str, object] = {"affected_components": affected}
    if body:
        changes["body"] = body
        changes["body_html"] = update.body_html_translations.get(language, update.body_html)
    return dataclasses.replace(update, **changes)  # type: ignore[arg-type]


def localize_incident(
    incident: IncidentView, language: str, names: dict[str, str] | None = None
) -> IncidentView:
    """One incident in `language`; `names` maps component public ids to translated names
    (for the component names an update recorded)."""
    if names is None:
        names = {
            c.public_id: c.name_translations[language]
            for c in incident.components
            if language in c.name_translations
        }
    name = incident.name_translations.get(language) or incident.name
    return dataclasses.replace(
        incident,
        name=name,
        components=tuple(_component(c, language) for c in incident.components),
        incident_updates=tuple(_update(u, language, names) for u in incident.incident_updates),
    )


def _component_names(snapshot: PageSnapshot, language: str) -> dict[str, str]:
    return {
        c.public_id: c.name_translations[language]
        for c in snapshot.components.values()
        if language in c.name_translations
    }


def translated_languages(
    components: Mapping[int, ComponentView],
    groups: Iterable[GroupView],
    incidents: Mapping[int, IncidentView],
    uptime: Uptime,
) -> tuple[str, ...]:
    """Every language some text of a snapshot is translated into (computed once, at build)."""
    found: set[str] = set()
    for component in components.values():
        found.update(component.name_translations)
    for group in groups:
        found.update(group.name_translations)
    for incident in incidents.values():
        found.update(incident.name_translations)
        for update in incident.incident_updates:
            found.update(update.body_translations)
    for bars in uptime.components.values():
        for day in bars.days:
            for named in day.incidents:
                found.update(named.name_translations)
    return tuple(sorted(found))


def _uptime_incident(incident: UptimeIncident, language: str) -> UptimeIncident:
    name = incident.name_translations.get(language)
    return dataclasses.replace(incident, name=name) if name else incident


def _uptime(uptime: Uptime, language: str) -> Uptime:
    """The uptime bars with the incidents named in `language`; only the days that name a
    translated incident are copied."""
    changed = {}
    for cid, bars in uptime.components.items():
        days = None
        for n, day in enumerate(bars.days):
            if any(language in i.name_translations for i in day.incidents):
                days = days or list(bars.days)
                days[n] = dataclasses.replace(
                    day, incidents=tuple(_uptime_incident(i, language) for i in day.incidents)
                )
        if days is not None:
            changed[cid] = dataclasses.replace(bars, days=tuple(days))
    if not changed:
        return uptime
    return Uptime(days=uptime.days, components={**uptime.components, **changed})


def localize(snapshot: PageSnapshot, language: str | None) -> PageSnapshot:
    """The snapshot as a reader in `language` sees it (the same object when nothing in it is
    translated into that language, or `language` is None)."""
    if not language or language not in snapshot.translated_languages:
        return snapshot
    names = _component_names(snapshot, language)
    return dataclasses.replace(
        snapshot,
        components={cid: _component(c, language) for cid, c in snapshot.components.items()},
        groups=tuple(_group(g, language) for g in snapshot.groups),
        incidents={
            iid: localize_incident(i, language, names) for iid, i in snapshot.incidents.items()
        },
        uptime=_uptime(snapshot.uptime, language),
    )


def localize_history(history: MonthHistory, language: str | None) -> MonthHistory:
    """A month of history in `language`."""
    if not language:
        return history
    return dataclasses.replace(
        history, incidents=tuple(localize_incident(i, language) for i in history.incidents)
    )
