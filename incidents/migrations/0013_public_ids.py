"""Public ids (random 12-character strings, as Statuspage's) for every object the APIs show.

Added empty, filled with fresh ids in batches, then made unique and required; reversible (the
columns are dropped going back) on SQLite and PostgreSQL.
"""

from django.db import migrations, models

import incidents.models.public_ids

MODELS = ("componentgroup", "component", "incident", "incidentupdate", "incidenttemplate",
          "componentstatuschange")  # fmt: skip


def _fill(model) -> None:
    """A fresh id for every row, written in batches (bulk_update: one UPDATE per 1,000 rows)."""
    from incidents.models.public_ids import new_public_id

    used: set[str] = set()
    pks = list(model._base_manager.filter(public_id__isnull=True).values_list("pk", flat=True))
    for start in range(0, len(pks), 1000):
        batch = []
        for pk in pks[start : start + 1000]:
            value = new_public_id()
            while value in used:
                value = new_public_id()
            used.add(value)
            batch.append(model(pk=pk, public_id=value))
        model._base_manager.bulk_update(batch, ["public_id"])


def fill(apps, schema_editor):
    for name in MODELS:
        model = apps.get_model("incidents", name)
        _fill(model)


def _translate_audit(apps, forward: bool) -> None:
    """Audit rows name objects as the API does: by public id (back to database ids going
    back, while the public ids are still there)."""
    entry = apps.get_model("incidents", "auditentry")
    for name in MODELS:
        model = apps.get_model("incidents", name)
        named = set(
            entry._base_manager.filter(object_type=name).values_list("object_id", flat=True)
        )
        if not named:
            continue
        if forward:
            rows = model._base_manager.filter(pk__in=[int(i) for i in named if i.isdigit()])
        else:
            rows = model._base_manager.filter(public_id__in=named)
        for pk, public_id in rows.values_list("pk", "public_id"):
            old, new = (str(pk), public_id) if forward else (public_id, str(pk))
            entry._base_manager.filter(object_type=name, object_id=old).update(object_id=new)


def audit_to_public_ids(apps, schema_editor):
    _translate_audit(apps, forward=True)


def audit_to_database_ids(apps, schema_editor):
    _translate_audit(apps, forward=False)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0012_remove_postmortemrevision")]

    operations = [
        *(
            migrations.AddField(
                model_name=name,
                name="public_id",
                field=models.CharField(
                    max_length=12, null=True, editable=False, verbose_name="public id"
                ),
            )
            for name in MODELS
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(audit_to_public_ids, audit_to_database_ids, elidable=True),
        *(
            migrations.AlterField(
                model_name=name,
                name="public_id",
                field=incidents.models.public_ids.PublicIdField(
                    default=incidents.models.public_ids.new_public_id,
                    editable=False,
                    max_length=12,
                    unique=True,
                    verbose_name="public id",
                ),
            )
            for name in MODELS
        ),
    ]
