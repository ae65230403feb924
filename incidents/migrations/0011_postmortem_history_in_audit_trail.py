"""Postmortem revisions move into the audit trail, their one place from now on.

Every postmortem step was already an audited intent (`save_postmortem_draft`,
`publish_postmortem`, `revert_postmortem`, `import_incident`), so most revisions have their
audit row: it is kept as it is. A revision without one (made before the audit trail covered it)
becomes an audit row with the same time, actor and text, as before/after of the fields it
changed. The next migration drops the revisions' table.
"""

import datetime as dt

from django.db import migrations

ACTIONS = {
    "edited": ("save_postmortem_draft", "import_incident"),
    "published": ("publish_postmortem", "import_incident"),
    "reverted": ("revert_postmortem",),
}
# An audit row is written right after its step (same transaction): a minute is plenty.
SAME_STEP = dt.timedelta(minutes=1)


def carry_over(apps, schema_editor):
    Revision = apps.get_model("incidents", "PostmortemRevision")
    AuditEntry = apps.get_model("incidents", "AuditEntry")
    revisions = Revision.objects.select_related("incident").order_by("incident", "created_at", "id")
    draft: dict[int, str] = {}
    published: dict[int, str] = {}
    published_at: dict[int, str | None] = {}
    used: set[int] = set()
    for revision in revisions.iterator():
        incident = revision.incident
        before_draft = draft.get(incident.pk, "")
        before_published = published.get(incident.pk, "")
        if revision.action == "edited":
            changes = {"postmortem": {"before": before_draft, "after": revision.body}}
            draft[incident.pk] = revision.body
        elif revision.action == "published":
            changes = {
                "postmortem_published": {"before": before_published, "after": revision.body},
                "postmortem_published_at": {
                    "before": published_at.get(incident.pk),
                    "after": revision.created_at.isoformat(),
                },
            }
            published_at[incident.pk] = revision.created_at.isoformat()
            draft[incident.pk] = published[incident.pk] = revision.body
        else:
            changes = {
                "postmortem_published": {"before": before_published, "after": ""},
                "postmortem_published_at": {
                    "before": published_at.get(incident.pk),
                    "after": None,
                },
            }
            published[incident.pk] = ""
            published_at[incident.pk] = None
        changes = {k: v for k, v in changes.items() if v["before"] != v["after"]}
        changes["notify_subscribers"] = revision.notified_subscribers
        audited = (
            AuditEntry.objects.filter(
                object_type="incident",
                object_id=str(incident.pk),
                action__in=ACTIONS.get(revision.action, ()),
                created_at__gte=revision.created_at,
                created_at__lte=revision.created_at + SAME_STEP,
            )
            .exclude(pk__in=used)
            .order_by("created_at", "id")
            .values_list("pk", flat=True)
            .first()
        )
        if audited is not None:
            used.add(audited)
            continue
        AuditEntry.objects.create(
            page_id=incident.page_id,
            created_at=revision.created_at,
            actor_type="user" if revision.actor_id else "system",
            actor_name=revision.actor_name or "system",
            actor_user_id=revision.actor_id,
            channel="admin" if revision.actor_id else "system",
            action={
                "edited": "save_postmortem_draft",
                "published": "publish_postmortem",
                "reverted": "revert_postmortem",
            }.get(revision.action, revision.action),
            object_type="incident",
            object_id=str(incident.pk),
            object_repr=incident.name[:200],
            changes=changes,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0010_postmortem_workflow_and_import_mapping"),
    ]

    operations = [
        migrations.RunPython(carry_over, migrations.RunPython.noop),
    ]
