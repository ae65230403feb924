"""A page as one JSON document, and back: `export_page` / `import_page` between installations.

The archive holds every row of every model that belongs to the page (found by following
foreign keys to `Page`, so a model added later is carried without changing this module):
settings, hours, groups, components, incidents with updates and postmortems, status history,
daily uptime, templates, problem reports and alerts, subscribers (email, webhook with its
signing secret, chat), notifications and their deliveries, the import mapping, and the page's
audit trail (which holds the postmortems' history). Ids inside an audit row's before/after
values stay those of the installation that recorded them. Rows are numbered per model inside
the archive (1, 2, ... in the order of their ids), so exporting a restored page gives the same
document again.
Users are referred to by username; API keys are secrets of one installation and stay behind.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core import serializers
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from incidents import events
from incidents.models import Page
from incidents.services import ServiceError, audit
from incidents.services.base import publish_event

FORMAT = "statuspage-page-archive"
VERSION = 1
PROJECT_APPS = ("incidents", "notifications", "statuspage")
# Installation secrets and request bookkeeping, and the transactional outbox's rows (this
# installation's pending pushes and fan-outs): never part of a page's archive.
LEFT_BEHIND = {
    "incidents.apikey",
    "incidents.apikeypage",
    "incidents.idempotencyrecord",
    "incidents.outboxevent",
}
# Models that belong to a page through a key that may be empty: their rows with a page are the
# page's (the audit trail: a row without a page is about the installation).
NULLABLE_OWNER = {"incidents.auditentry": "page"}
# Counters of this installation's caches, not data: a restored page starts its own.
NOT_DATA = {"incidents.page": {"version"}}
# Which model an ImportedObject's `object_id` points at, by its kind.
IMPORTED_KINDS = {
    "page": "incidents.page",
    "component_group": "incidents.componentgroup",
    "component": "incidents.component",
    "incident": "incidents.incident",
    "incident_update": "incidents.incidentupdate",
    "incident_template": "incidents.incidenttemplate",
    "subscriber": "notifications.subscriber",
}

Ids = dict[str, dict[Any, Any]]  # model label -> {old id: new id}


def _label(model) -> str:
    return model._meta.label_lower


def page_models() -> list[tuple[type[models.Model], str]]:
    """(model, lookup to its page) for every model that belongs to a page, parents first."""
    found: dict[str, tuple[type[models.Model], str]] = {_label(Page): (Page, "pk")}
    candidates = [
        m
        for m in apps.get_models()
        if m._meta.app_label in PROJECT_APPS
        and not m._meta.proxy
        and _label(m) not in LEFT_BEHIND
        and m is not Page
    ]
    changed = True
    while changed:
        changed = False
        for model in candidates:
            if _label(model) in found:
                continue
            for fk in _foreign_keys(model):
                target = found.get(_label(fk.related_model))
                owner = not fk.null or NULLABLE_OWNER.get(_label(model)) == fk.name
                if target is not None and owner:
                    path = fk.name if target[1] == "pk" else f"{fk.name}__{target[1]}"
                    found[_label(model)] = (model, path)
                    changed = True
                    break
    return _parents_first(list(found.values()))


def _foreign_keys(model) -> list[models.ForeignKey]:
    return [f for f in model._meta.concrete_fields if f.many_to_one or f.one_to_one]


# Ids inside JSON fields are translated with the tables of these models: they come first.
JSON_NEEDS = {
    "incidents.incidentupdate": {"incidents.component"},
    "notifications.notification": {"incidents.incidentupdate", "incidents.component"},
    "incidents.importedobject": set(IMPORTED_KINDS.values()),
}
# An audit row names its object by type and id: every other model of the page comes first.
AFTER_ALL = {"incidents.auditentry"}


def _parents_first(entries):
    labels = {_label(m) for m, _ in entries}
    done: list = []
    placed: set[str] = set()
    while len(done) < len(entries):
        progressed = False
        for model, path in entries:
            label = _label(model)
            if label in placed:
                continue
            related = [fk.related_model for fk in _foreign_keys(model)]
            related += [m2m.related_model for m2m in model._meta.many_to_many]
            needs = {_label(r) for r in related if r is not model} | JSON_NEEDS.get(label, set())
            if label in AFTER_ALL:
                needs |= labels - AFTER_ALL
            needs &= labels
            if needs <= placed:
                done.append((model, path))
                placed.add(label)
                progressed = True
        if not progressed:
            raise RuntimeError("foreign keys between page models form a cycle")
    return done


def _is_user(model) -> bool:
    return model is get_user_model()


# --- ids inside JSON fields -----------------------------------------------------------------


def _translate_json(label: str, fields: dict, ids: Ids) -> None:
    """Ids stored inside JSON and text fields follow their rows (both directions)."""

    def one(model_label, value):
        if value in (None, ""):
            return value
        table = ids.get(model_label, {})
        key = value if value in table else _as_int(value)
        found = table.get(key)
        return value if found is None else type(value)(found) if isinstance(value, str) else found

    if label == "incidents.incidentupdate":
        for item in fields.get("affected_components") or []:
            if "code" in item:
                item["code"] = one("incidents.component", item["code"])
    elif label == "notifications.notification":
        fields["component_ids"] = [
            one("incidents.component", i) for i in fields.get("component_ids") or []
        ]
        data = fields.get("data") or {}
        if isinstance(data.get("incident"), dict) and "id" in data["incident"]:
            data["incident"]["id"] = one("incidents.incident", data["incident"]["id"])
        if isinstance(data.get("update"), dict) and "id" in data["update"]:
            data["update"]["id"] = one("incidents.incidentupdate", data["update"]["id"])
        if isinstance(data.get("component_ids"), list):
            data["component_ids"] = [one("incidents.component", i) for i in data["component_ids"]]
    elif label == "incidents.importedobject":
        target = IMPORTED_KINDS.get(fields.get("kind") or "")
        if target:
            fields["object_id"] = str(one(target, fields["object_id"]))
    elif label == "incidents.auditentry":
        # The object by its type (a model name); ids inside `changes` stay as recorded.
        object_type = fields.get("object_type") or ""
        for app in PROJECT_APPS:
            if f"{app}.{object_type}" in ids and fields.get("object_id"):
                fields["object_id"] = str(one(f"{app}.{object_type}", fields["object_id"]))
                break


def _as_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


# --- export ---------------------------------------------------------------------------------


def export_page(page: Page) -> dict[str, Any]:
    """The page and everything that belongs to it, as a JSON-ready document."""
    entries = page_models()
    labels = {_label(m) for m, _ in entries}
    rows: dict[str, list] = {}
    ids: Ids = {}
    for model, path in entries:
        queryset = model._base_manager.filter(**{path: page.pk}).order_by("pk")
        objects = list(queryset)
        label = _label(model)
        ids[label] = {obj.pk: n for n, obj in enumerate(objects, start=1)}
        rows[label] = serializers.serialize("python", objects)
    users = {u.pk: u.get_username() for u in get_user_model()._base_manager.all()}
    out_models: dict[str, list[dict]] = {}
    for model, _path in entries:
        label = _label(model)
        relations = {f.name: f for f in _foreign_keys(model)}
        many = {f.name: f for f in model._meta.many_to_many}
        out = []
        for row in rows[label]:
            fields = {k: v for k, v in row["fields"].items() if k not in NOT_DATA.get(label, ())}
            for name, fk in relations.items():
                fields[name] = _out_reference(fk.related_model, fields[name], ids, users, labels)
            for name, m2m in many.items():
                fields[name] = sorted(
                    _out_reference(m2m.related_model, v, ids, users, labels) or 0
                    for v in fields.get(name, [])
                )
            _translate_json(label, fields, ids)
            out.append({"id": ids[label][row["pk"]], "fields": fields})
        out_models[label] = out
    return {
        "format": FORMAT,
        "version": VERSION,
        "page": page.slug,
        "exported_at": timezone.now().isoformat(),
        "models": out_models,
    }


def _out_reference(model, value, ids: Ids, users: dict, labels: set[str]):
    if value is None:
        return None
    if _is_user(model):
        return users.get(value)
    if _label(model) in labels:
        return ids[_label(model)].get(value)
    return None  # a row of another installation's own (never part of the page)


class ArchiveEncoder(DjangoJSONEncoder):
    """Django's encoder, but times keep their microseconds (Django's cuts them to ms)."""

    def default(self, o):
        if isinstance(o, dt.datetime | dt.time):
            return o.isoformat()
        return super().default(o)


def dumps(document: dict) -> str:
    return json.dumps(document, cls=ArchiveEncoder, indent=1, sort_keys=True)


# --- import ---------------------------------------------------------------------------------


@dataclass
class RestoreReport:
    page: Page = field(init=False)  # set by import_page once the page is written
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@transaction.atomic
def import_page(document: dict, *, actor: Any, slug: str | None = None) -> RestoreReport:
    """Create the page of an archive, with every row, in one transaction and one event.

    Refuses an archive of another format or version, and a slug already in use here. A
    custom host, default flag or subscriber token that another page here already has is
    dropped or renewed, and the report says so; unknown usernames become empty.
    """
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ServiceError("This file is not a page archive (made by export_page).")
    if document.get("version") != VERSION:
        raise ServiceError(
            f"This archive has version {document.get('version')}; this installation reads "
            f"version {VERSION}."
        )
    data = document.get("models") or {}
    entries = page_models()
    known = {_label(m) for m, _ in entries}
    unknown = sorted(set(data) - known)
    report = RestoreReport()
    if unknown:
        raise ServiceError(
            "The archive holds data this installation does not have a place for: "
            + ", ".join(unknown)
            + ". Upgrade this installation first."
        )
    page_rows = data.get("incidents.page") or []
    if len(page_rows) != 1:
        raise ServiceError("The archive must hold exactly one page.")
    slug = slug or page_rows[0]["fields"]["slug"]
    if Page.objects.filter(slug=slug).exists():
        raise ServiceError(
            f"A page “{slug}” exists here already. Choose another slug (--slug) or delete it."
        )
    users = {u.get_username(): u.pk for u in get_user_model()._base_manager.all()}
    ids: Ids = defaultdict(dict)
    missing_users: set[str] = set()
    for model, _path in entries:
        label = _label(model)
        rows = data.get(label) or []
        relations = {f.name: f for f in _foreign_keys(model)}
        many = {f.name: f for f in model._meta.many_to_many}
        for row in rows:
            fields = dict(row["fields"])
            for name, fk in relations.items():
                value = fields.get(name)
                if value is None:
                    continue
                if _is_user(fk.related_model):
                    fields[name] = users.get(value)
                    if fields[name] is None:
                        missing_users.add(value)
                else:
                    fields[name] = ids[_label(fk.related_model)][value]
            for name, m2m in many.items():
                values = fields.get(name) or []
                if _is_user(m2m.related_model):
                    missing_users.update(v for v in values if v not in users)
                    fields[name] = [users[v] for v in values if v in users]
                else:
                    fields[name] = [ids[_label(m2m.related_model)][v] for v in values]
            _translate_json(label, fields, ids)
            if model is Page:
                fields = _page_fields(fields, slug, report)
            elif label == "notifications.subscriber":
                _renew_token(model, fields, report)
            elif label == "notifications.notification":
                _rekey(model, fields, slug)
            (item,) = serializers.deserialize(
                "python", [{"model": label, "pk": None, "fields": fields}]
            )
            item.save()  # raw: timestamps (also auto_now ones) are kept as they were
            ids[label][row["id"]] = item.object.pk
        report.counts[label] = len(rows)
    if missing_users:
        report.notes.append(
            "No user here named "
            + ", ".join(sorted(missing_users))
            + ": their names stay on the history, the links to their accounts do not."
        )
    page = Page.objects.get(pk=ids["incidents.page"][page_rows[0]["id"]])
    report.page = page
    changes = {"rows": report.counts, "notes": report.notes}
    audit.record(actor, action="import_page", obj=page, changes=changes)
    publish_event(page, events.PAGE_UPDATED, {"page": {"id": page.pk, "slug": page.slug}})
    return report


def _page_fields(fields: dict, slug: str, report: RestoreReport) -> dict:
    fields = {**fields, "slug": slug}
    host = fields.get("custom_host")
    if host and Page.objects.filter(custom_host=host).exists():
        report.notes.append(f"Another page here serves {host}: the custom host was left empty.")
        fields["custom_host"] = ""
    if fields.get("is_default") and Page.objects.filter(is_default=True).exists():
        report.notes.append("Another page here is the default page: this one is not.")
        fields["is_default"] = False
    return fields


def _renew_token(model, fields: dict, report: RestoreReport) -> None:
    from notifications.models import new_token

    if model._base_manager.filter(token=fields.get("token")).exists():
        fields["token"] = new_token()
        report.notes.append(
            f"{fields.get('email')}: its manage link was already in use here and was renewed."
        )


def _rekey(model, fields: dict, slug: str) -> None:
    # Keys are unique per installation and name ids; a clash gets the page's slug in front.
    if model._base_manager.filter(key=fields.get("key")).exists():
        fields["key"] = f"{slug}:{fields['key']}"[:160]
