"""A nullable column and an index, and a pause so a test can stop a run midway."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("migration_app", "0001_initial")]
    operations = [
        migrations.AddField(
            model_name="widget", name="note", field=models.CharField(max_length=50, null=True, db_index=True)
        ),
        migrations.RunSQL("SELECT pg_sleep(0.1)", migrations.RunSQL.noop),
    ]
