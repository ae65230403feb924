"""A public id for each subscriber (what `/api/v1/.../subscribers` calls it); see
incidents 0013_public_ids."""

from django.db import migrations, models

import incidents.models.public_ids


def fill(apps, schema_editor):
    from incidents.models.public_ids import new_public_id

    model = apps.get_model("notifications", "subscriber")
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


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0004_webhook_and_chat_subscribers"),
        ("incidents", "0013_public_ids"),
    ]

    operations = [
        migrations.AddField(
            model_name="subscriber",
            name="public_id",
            field=models.CharField(max_length=12, null=True, editable=False, verbose_name="public id"),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="subscriber",
            name="public_id",
            field=incidents.models.public_ids.PublicIdField(
                default=incidents.models.public_ids.new_public_id,
                editable=False,
                max_length=12,
                unique=True,
                verbose_name="public id",
            ),
        ),
    ]
