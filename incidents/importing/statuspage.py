"""Import a page from Statuspage's manage API v1 (or another installation of ours).

Reads page settings, component groups, components, incidents and maintenance (with every
update, affected components and postmortem), incident templates and subscribers, and writes
them through the services with the importer as the actor. Source ids are mapped through
`ImportedObject`, so running it again updates what it made before instead of copying it.
A dry run does all of it in a transaction that is rolled back, and reports the same summary.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import transaction
from django.utils.dateparse import parse_datetime
from django.utils.text import slugify

from incidents import services
from incidents.models import (
    INCIDENT_STATUSES,
    MAINTENANCE_STATUSES,
    Component,
    ComponentGroup,
    ComponentStatus,
    Impact,
    Incident,
    IncidentTemplate,
    Page,
)
from incidents.services.imports import PastIncident, PastUpdate, recall, remember

from .client import NotFound, SourceError, StatuspageClient

T = TypeVar("T")
IMPORTER = services.System("statuspage import", kind="command")
SUBSCRIBER_STATES = ("active", "unconfirmed", "quarantined")
SUBSCRIBER_MODES = ("email", "webhook", "chat")
# Statuspage's other channels, and why they cannot come along.
UNSUPPORTED_MODES = {
    "sms": "sms subscribers have no channel here (email, webhook and chat)",
    "slack": "a Slack subscription belongs to Statuspage's Slack app: add the channel here "
    "as a chat (an Apprise URL)",
    "teams": "a Microsoft Teams subscription belongs to Statuspage: add the channel here as a "
    "chat (an Apprise URL)",
}
KINDS = (
    "page", "component_group", "component", "history", "incident", "maintenance",
    "incident_template", "subscriber",
)  # fmt: skip


class DryRunRollback(Exception):
    """Raised at the end of a dry run to roll every write back."""


@dataclass
class Summary:
    """What an import did (or, in a dry run, would do), and what it left out and why."""

    counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    requests: int = 0
    waited: float = 0.0
    new_secrets: int = 0  # webhooks that got a signing secret of their own here

    def count(self, kind: str, outcome: str) -> None:
        self.counts[kind][outcome] += 1

    def skip(self, kind: str, source_id: Any, reason: str) -> None:
        self.counts[kind]["skipped"] += 1
        self.skipped.append((kind, str(source_id), reason))

    def lines(self, *, dry_run: bool) -> list[str]:
        head = "Dry run: nothing was written. It would have:" if dry_run else "Imported:"
        out = [head]
        for kind in KINDS:
            c = self.counts.get(kind)
            if not c:
                continue
            out.append(
                f"  {kind.replace('_', ' ')}: {c['created']} created, {c['updated']} updated, "
                f"{c['unchanged']} unchanged, {c['skipped']} skipped"
            )
        if self.skipped:
            out.append("Skipped:")
            out.extend(f"  {kind} {sid}: {reason}" for kind, sid, reason in self.skipped)
        if self.new_secrets:
            out.append(
                f"{self.new_secrets} webhook(s) sign with a secret of their own here (the "
                "source shows none): an engineer gives it to each owner with the admin's "
                "“Renew the signing secret” action on Subscribers."
            )
        out.append(f"{self.requests} requests to the source, {self.waited:.1f} s waiting on it.")
        return out


def _when(value: Any) -> dt.datetime | None:
    """A Statuspage timestamp ("2024-05-01T10:12:13.000-06:00", with its offset) as UTC."""
    if not value:
        return None
    parsed = parse_datetime(str(value))
    if parsed is None:
        raise ValueError(f"“{value}” is not a timestamp")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _required_when(value: Any, what: str) -> dt.datetime:
    """Like `_when`, for a timestamp the object cannot be imported without."""
    when = _when(value)
    if when is None:
        raise ValueError(f"{what} is missing")
    return when


def _text(value: Any) -> str:
    return "" if value is None else str(value)


class StatuspageImporter:
    def __init__(
        self,
        client: StatuspageClient,
        page_id: str,
        *,
        into: str | None = None,
        dry_run: bool = False,
        progress: Callable[[str], Any] | None = None,
    ):
        self.client = client
        self.page_id = page_id
        self.into = into
        self.dry_run = dry_run
        self.source = f"{client.api_url}#{page_id}"
        self.summary = Summary()
        self.progress = progress or (lambda label: _NoProgress())
        self.page: Page | None = None
        self.components: dict[str, Component] = {}  # source id -> ours
        self.groups: dict[str, ComponentGroup] = {}
        self.started: dict[str, dt.datetime | None] = {}  # source id -> when its history starts
        self.history_changed: dict[int, dt.datetime] = {}  # our component id -> earliest change

    # --- running ----------------------------------------------------------------------------

    def run(self) -> Summary:
        """Import everything; SourceError when the source cannot be read at all."""
        try:
            with transaction.atomic():
                self._import_all()
                if self.dry_run:
                    raise DryRunRollback
        except DryRunRollback:
            pass
        self.summary.requests = self.client.requests
        self.summary.waited = self.client.waited
        return self.summary

    def _import_all(self) -> None:
        source_page = self.client.get(self.client.page_path(self.page_id))
        self.page = self._import_page(source_page)
        groups = list(self._list("component-groups"))
        components = list(self._list("components"))
        self._import_groups(groups)
        self._import_components(components, groups)
        self._import_incidents()
        self._import_history()
        self._import_templates()
        self._import_subscribers()
        page = self._imported_page()
        counts = {
            kind: dict(self.summary.counts[kind]) for kind in KINDS if kind in self.summary.counts
        }
        services.record_import(page, actor=IMPORTER, source=self.source, counts=counts)

    def _list(self, resource: str, **kwargs) -> Iterable[dict]:
        return self.client.paginate(self.client.page_path(self.page_id, resource), **kwargs)

    def _imported_page(self) -> Page:
        """The page this import writes into; the steps after `_import_page` need it."""
        if self.page is None:
            raise RuntimeError("the page must be imported before what belongs to it")
        return self.page

    def _guard(self, kind: str, source_id: Any, write: Callable[[], str]) -> None:
        """Run one object's write in a savepoint: a refused object is skipped with the
        service's reason; the others go on."""
        try:
            with transaction.atomic():
                outcome = write()
        except services.ServiceError as error:
            self.summary.skip(kind, source_id, error.message)
        except (ValueError, TypeError, KeyError) as error:
            self.summary.skip(kind, source_id, f"unreadable: {error}")
        else:
            self.summary.count(kind, outcome)

    # --- page, groups, components -----------------------------------------------------------

    def _import_page(self, data: dict) -> Page:
        slug = self.into or slugify(_text(data.get("subdomain")) or self.page_id)[:64]
        page = recall(self.source, "page", self.page_id, Page.objects.all())
        if self.into or page is None:
            page = Page.objects.filter(slug=slug).first() or page
        created = page is None
        if created:
            page = Page(slug=slug, name=_text(data.get("name")) or slug)
        wanted = {
            "name": _text(data.get("name")) or page.name,
            "headline": _text(data.get("headline") or data.get("page_description"))[:200],
        }
        zone = _text(data.get("time_zone"))
        if zone in zoneinfo.available_timezones():
            wanted["time_zone"] = zone
        elif zone:
            self.summary.skipped.append(
                ("page", self.page_id, f"time zone “{zone}” is unknown; kept {page.time_zone}")
            )
        colour = _text(data.get("css_link_color"))
        if re.fullmatch(r"#?[0-9a-fA-F]{6}", colour):
            wanted["accent_colour"] = "#" + colour.lstrip("#").lower()
        support = _text(data.get("support_url"))
        if support.startswith("mailto:"):
            wanted["support_email"] = support.removeprefix("mailto:")[:254]
        domain = _text(data.get("domain")).strip().lower()
        if domain and not Page.objects.filter(custom_host=domain).exclude(pk=page.pk).exists():
            wanted["custom_host"] = domain
        changed = [k for k, v in wanted.items() if getattr(page, k) != v]
        for name in changed:
            setattr(page, name, wanted[name])
        if created or changed:
            page = services.save_page(page, actor=IMPORTER)
        remember(page, self.source, "page", self.page_id, page)
        self.summary.count("page", "created" if created else "updated" if changed else "unchanged")
        return page

    def _import_groups(self, groups: list[dict]) -> None:
        page = self._imported_page()
        for data in self.progress_over(groups, "component groups"):

            def write(data=data) -> str:
                group = recall(
                    self.source, "component_group", data["id"], page.groups.all(), page=page
                )
                group = group or page.groups.filter(name=_text(data.get("name")).strip()).first()
                created = group is None
                group = group or ComponentGroup(page=page)
                wanted = {
                    "name": _text(data.get("name")),
                    "description": _text(data.get("description")),
                    "position": int(data.get("position") or 0),
                }
                changed = [k for k, v in wanted.items() if getattr(group, k) != v]
                for name in changed:
                    setattr(group, name, wanted[name])
                if created or changed:
                    group = services.save_group(group, actor=IMPORTER)
                remember(page, self.source, "component_group", data["id"], group)
                self.groups[str(data["id"])] = group
                return "created" if created else "updated" if changed else "unchanged"

            self._guard("component_group", data.get("id"), write)

    def _import_components(self, components: list[dict], groups: list[dict]) -> None:
        page = self._imported_page()
        # Statuspage also lists each group as a component with "group": true (and the group's
        # id). Other sources number groups and components separately: only the flag counts.
        members = {str(c): str(g["id"]) for g in groups for c in (g.get("components") or [])}
        for data in self.progress_over(components, "components"):
            if data.get("group") is True:
                continue

            def write(data=data) -> str:
                sid = str(data["id"])
                group = self.groups.get(str(data.get("group_id") or members.get(sid) or ""))
                status = _text(data.get("status")) or ComponentStatus.OPERATIONAL
                wanted = {
                    "name": _text(data.get("name")).strip(),
                    "description": _text(data.get("description")),
                    "position": int(data.get("position") or 0),
                    "group": group,
                    "is_visible": data.get("showcase") is not False,
                    "status": status,
                }
                component = recall(self.source, "component", sid, page.components.all(), page=page)
                if component is None:
                    component = services.create_component(page, actor=IMPORTER, **wanted)
                    outcome = "created"
                else:
                    changed = {k: v for k, v in wanted.items() if getattr(component, k) != v}
                    if changed:
                        component = services.update_component(component, actor=IMPORTER, **changed)
                    outcome = "updated" if changed else "unchanged"
                remember(page, self.source, "component", sid, component)
                self.components[sid] = component
                self.started[sid] = self._started(data, page)
                return outcome

            self._guard("component", data.get("id"), write)
        # Components imported before whose source is gone are left alone (never deleted).
        for mapped in self._mapped("component"):
            self.components.setdefault(*mapped)

    @staticmethod
    def _started(data: dict, page: Page) -> dt.datetime | None:
        """When a component's history starts: Statuspage's `start_date` (the day uptime is
        counted from, in the page's time zone), else its `created_at`."""
        day = _text(data.get("start_date"))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
            return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), tzinfo=page.tz)
        return _when(data.get("created_at"))

    def _import_history(self) -> None:
        """Start each component's history when it started at the source (the incidents have
        put their status changes in it)."""
        for sid in self.progress_over(list(self.components), "history"):

            def write(sid=sid, component=self.components[sid]) -> str:
                before = component.created_at
                changed_since = self.history_changed.get(component.pk)
                component = services.import_component_history(
                    component,
                    actor=IMPORTER,
                    started_at=self.started.get(sid),
                    changed_since=changed_since,
                )
                self.components[sid] = component
                moved = component.created_at != before
                return "updated" if moved or changed_since else "unchanged"

            self._guard("history", sid, write)

    def _mapped(self, kind: str) -> list[tuple[str, Any]]:
        from incidents.models import ImportedObject

        rows = ImportedObject.objects.filter(page=self.page, source=self.source, kind=kind)
        by_pk = {str(c.pk): c for c in self._imported_page().components.all()}
        return [(r.source_id, by_pk[r.object_id]) for r in rows if r.object_id in by_pk]

    # --- incidents and maintenance ----------------------------------------------------------

    def _import_incidents(self) -> None:
        incidents = self._list("incidents")
        for data in self.progress_over(incidents, "incidents"):
            maintenance = bool(data.get("scheduled_for")) or data.get("status") in (
                MAINTENANCE_STATUSES
            )
            kind = "maintenance" if maintenance else "incident"

            def write(data=data, maintenance=maintenance) -> str:
                past = self._past_incident(data, maintenance=maintenance)
                _incident, outcome, history = services.import_incident(
                    self.page, actor=IMPORTER, source=self.source, past=past, roll_up=False
                )
                # The daily uptime rows are recomputed once per component, at the end.
                for component_id, since in history.items():
                    known = self.history_changed.get(component_id, since)
                    self.history_changed[component_id] = min(known, since)
                return outcome

            self._guard(kind, data.get("id"), write)

    def _past_incident(self, data: dict, *, maintenance: bool) -> PastIncident:
        sid = str(data["id"])
        updates = []
        final: dict[str, str] = {}
        for u in sorted(
            data.get("incident_updates") or [],
            key=lambda u: (_when(u.get("display_at") or u.get("created_at")), str(u.get("id"))),
        ):
            affected = []
            for c in u.get("affected_components") or []:
                ours = self.components.get(str(c.get("code")))
                if ours is None:
                    continue  # a component the source no longer has
                affected.append(
                    {
                        "code": ours.pk,
                        "name": ours.name,
                        "old_status": _text(c.get("old_status")),
                        "new_status": _text(c.get("new_status")),
                    }
                )
                if c.get("new_status") in ComponentStatus.values:
                    final[str(c.get("code"))] = c["new_status"]
            created = _required_when(u.get("created_at"), "an update's created_at")
            updates.append(
                PastUpdate(
                    source_id=str(u["id"]),
                    status=_text(u.get("status")),
                    body=_text(u.get("body")),
                    created_at=created,
                    display_at=_when(u.get("display_at")) or created,
                    updated_at=_when(u.get("updated_at")) or created,
                    deliver_notifications=u.get("deliver_notifications") is not False,
                    affected_components=affected,
                )
            )
        components = {}
        held = ComponentStatus.UNDER_MAINTENANCE if maintenance else None
        for c in data.get("components") or []:
            ours = self.components.get(str(c.get("id")))
            if ours is not None:
                status = final.get(str(c.get("id"))) or held or _text(c.get("status"))
                if status not in ComponentStatus.values:
                    status = ComponentStatus.OPERATIONAL
                components[ours] = status
        created = _required_when(data.get("created_at"), "created_at")
        impact = _text(data.get("impact_override") or data.get("impact")) or Impact.NONE
        status = _text(data.get("status"))
        statuses = MAINTENANCE_STATUSES if maintenance else INCIDENT_STATUSES
        if status not in statuses:
            raise services.ServiceError(f"status “{status}” is not one we know")
        past = PastIncident(
            source_id=sid,
            kind=Incident.Kind.MAINTENANCE if maintenance else Incident.Kind.INCIDENT,
            name=_text(data.get("name")),
            status=status,
            impact=impact,
            created_at=created,
            updated_at=_when(data.get("updated_at")) or created,
            started_at=_when(data.get("started_at")) or created,
            monitoring_at=_when(data.get("monitoring_at")),
            resolved_at=_when(data.get("resolved_at")),
            scheduled_for=_when(data.get("scheduled_for")),
            scheduled_until=_when(data.get("scheduled_until")),
            scheduled_auto_in_progress=bool(data.get("scheduled_auto_in_progress", True)),
            scheduled_auto_completed=bool(data.get("scheduled_auto_completed", True)),
            components=components,
            updates=updates,
        )
        if not maintenance and (data.get("postmortem_body") or data.get("postmortem_published_at")):
            self._postmortem(past, data)
        return past

    def _postmortem(self, past: PastIncident, data: dict) -> None:
        """The draft and the published text from `/postmortem` (one more request)."""
        path = self.client.page_path(self.page_id, f"incidents/{data['id']}/postmortem")
        try:
            postmortem = self.client.get(path)
        except NotFound:
            postmortem = {}
        published_at = _when(postmortem.get("published_at"))
        if published_at is None and isinstance(data.get("postmortem_published_at"), str):
            published_at = _when(data["postmortem_published_at"])
        body = _text(postmortem.get("body") or data.get("postmortem_body"))
        past.postmortem_draft = _text(postmortem.get("body_draft")) or body
        if published_at and body:
            past.postmortem_published = body
            past.postmortem_published_at = published_at
        past.postmortem_notified_subscribers = bool(
            postmortem.get("notify_subscribers") or data.get("postmortem_notified_subscribers")
        )

    # --- templates and subscribers ----------------------------------------------------------

    def _import_templates(self) -> None:
        page = self._imported_page()
        for data in self.progress_over(self._list("incident_templates"), "templates"):

            def write(data=data) -> str:
                sid = str(data["id"])
                template = recall(
                    self.source, "incident_template", sid, page.incident_templates.all(), page=page
                )
                name = _text(data.get("name")).strip()
                template = template or page.incident_templates.filter(name=name).first()
                created = template is None
                template = template or IncidentTemplate(page=page)
                wanted = {
                    "name": name,
                    "title": _text(data.get("title")),
                    "body": _text(data.get("body")),
                    "update_status": _text(data.get("update_status")) or "investigating",
                    "impact": _text(data.get("impact")) or template.impact or Impact.MINOR,
                }
                ids = [
                    self.components[str(c.get("id"))].pk
                    for c in data.get("components") or []
                    if str(c.get("id")) in self.components
                ]
                changed = [k for k, v in wanted.items() if getattr(template, k) != v]
                if not created and set(ids) != {c.pk for c in template.components.all()}:
                    changed.append("components")
                for name_ in wanted:
                    setattr(template, name_, wanted[name_])
                if created or changed:
                    template = services.save_incident_template(
                        template, actor=IMPORTER, components=ids
                    )
                remember(page, self.source, "incident_template", sid, template)
                return "created" if created else "updated" if changed else "unchanged"

            self._guard("incident_template", data.get("id"), write)

    def _import_subscribers(self) -> None:
        from notifications.services import import_subscriber

        page = self._imported_page()
        for state in SUBSCRIBER_STATES:
            listed = self._list("subscribers", first=0, size_param="limit", params={"state": state})
            for data in self.progress_over(listed, f"subscribers ({state})"):
                mode = _text(data.get("mode")) or ("email" if data.get("email") else "")
                if mode not in SUBSCRIBER_MODES:
                    self.summary.skip(
                        "subscriber",
                        data.get("id"),
                        UNSUPPORTED_MODES.get(
                            mode, f"{mode or 'unknown'} subscribers have no channel here"
                        ),
                    )
                    continue

                def write(data=data, state=state, mode=mode) -> str:
                    sources = data.get("components") or []
                    missing = [c for c in sources if str(c) not in self.components]
                    if missing:
                        raise services.ServiceError(
                            f"follows components that were not imported: {', '.join(missing)}"
                        )
                    created = _when(data.get("created_at"))
                    confirmed = _when(data.get("confirmed_at")) or created
                    events = data.get("events")
                    subscriber, outcome = import_subscriber(
                        page,
                        actor=IMPORTER,
                        kind=mode,
                        email=_text(data.get("email")),
                        endpoint=_text(data.get("endpoint")),
                        events=events if isinstance(events, list) else (),
                        components=[self.components[str(c)].pk for c in sources],
                        confirmed_at=confirmed if state == "active" else None,
                        flagged_at=_when(data.get("quarantined_at"))
                        if state == "quarantined"
                        else None,
                        language=_text(data.get("language")),
                    )
                    remember(page, self.source, "subscriber", data["id"], subscriber)
                    if mode == "webhook" and outcome == "created":
                        self.summary.new_secrets += 1
                    return outcome

                self._guard("subscriber", data.get("id"), write)

    def progress_over(self, items: Iterable[T], label: str) -> Iterator[T]:
        bar = self.progress(label)
        try:
            for item in items:
                yield item
                bar.update(1)
        finally:
            bar.close()


class _NoProgress:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


__all__ = ["SourceError", "StatuspageImporter", "Summary"]
