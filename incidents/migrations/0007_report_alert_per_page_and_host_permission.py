"""Early warnings list their components (one alert per page and burst, not per component);
the page-manager permission to set custom hosts."""

from django.db import migrations, models


def copy_component(apps, schema_editor):
    ReportAlert = apps.get_model("incidents", "ReportAlert")
    for alert in ReportAlert.objects.all():
        alert.components.add(alert.component_id)


def copy_back(apps, schema_editor):
    ReportAlert = apps.get_model("incidents", "ReportAlert")
    for alert in ReportAlert.objects.all():
        first = alert.components.order_by("pk").first()
        if first is None:
            alert.delete()
        else:
            ReportAlert.objects.filter(pk=alert.pk).update(component=first)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0006_audit_entry")]

    operations = [
        migrations.AddField(
            model_name="reportalert",
            name="components",
            field=models.ManyToManyField(
                related_name="+", to="incidents.component", verbose_name="components"
            ),
        ),
        migrations.RunPython(copy_component, copy_back),
        migrations.RemoveField(model_name="reportalert", name="component"),
        migrations.AlterModelOptions(
            name="page",
            options={
                "ordering": ["name"],
                "permissions": [("manage_page_hosts", "Can set a page's custom host name")],
                "verbose_name": "page",
                "verbose_name_plural": "pages",
            },
        ),
    ]
