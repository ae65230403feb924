from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("incidents", "0013_public_ids")]

    operations = [
        migrations.AlterField(
            model_name="auditentry",
            name="actor_type",
            field=models.CharField(
                choices=[
                    ("user", "user"),
                    ("api_key", "API key"),
                    ("integration", "integration"),
                    ("clock", "clock"),
                    ("command", "command"),
                    ("system", "system"),
                    ("visitor", "visitor"),
                    ("subscriber", "subscriber"),
                ],
                max_length=16,
                verbose_name="actor type",
            ),
        ),
    ]
