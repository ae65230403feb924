from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0011_postmortem_history_in_audit_trail"),
    ]

    operations = [
        migrations.DeleteModel(name="PostmortemRevision"),
    ]
