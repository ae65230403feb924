"""Roles per page (issue 17): the engineers' many-to-many table gains a role.

The table stays where it is (`incidents_page_engineers`); it becomes the `PageRole` model. Today's
engineers become page managers when they may set custom hosts (the permission that was "the
page-manager role"), or are superusers; every other engineer becomes a responder.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MANAGE_HOSTS = "manage_page_hosts"


def map_engineers_to_roles(apps, schema_editor):
    PageRole = apps.get_model("incidents", "PageRole")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    managers = User.objects.filter(
        models.Q(is_superuser=True)
        | models.Q(user_permissions__codename=MANAGE_HOSTS)
        | models.Q(groups__permissions__codename=MANAGE_HOSTS)
    ).values("pk")
    PageRole.objects.filter(user__in=managers).update(role="page_manager")
    PageRole.objects.exclude(user__in=managers).update(role="responder")


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0014_audit_visitor_and_subscriber_actors"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="PageRole",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "page",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="roles",
                                to="incidents.page",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="page_roles",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "role",
                        "verbose_name_plural": "roles",
                        "db_table": "incidents_page_engineers",
                        "unique_together": {("page", "user")},
                    },
                ),
                migrations.AlterField(
                    model_name="page",
                    name="engineers",
                    field=models.ManyToManyField(
                        blank=True,
                        help_text="Staff users with a role on this page. Superusers manage every page.",
                        related_name="status_pages",
                        through="incidents.PageRole",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="engineers",
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.AddField(
            model_name="pagerole",
            name="role",
            field=models.CharField(
                choices=[
                    ("viewer", "viewer (reads the admin)"),
                    ("responder", "responder (incidents, maintenance, components' status, reports)"),
                    (
                        "page_manager",
                        "page manager (page settings, templates, subscribers, API keys, integrations)",
                    ),
                ],
                default="responder",
                max_length=16,
                verbose_name="role",
            ),
        ),
        migrations.RunPython(map_engineers_to_roles, migrations.RunPython.noop),
    ]
