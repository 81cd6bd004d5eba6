"""Export takes the shared run fields (core.runs.Run), its own table name and its content type (so admin
permissions and log entries follow it)."""

from django.db import migrations, models


def content_type_move(apps, schema_editor):
    content_types = apps.get_model("contenttypes", "ContentType").objects
    if not content_types.filter(app_label="exports", model="export").exists():
        content_types.filter(app_label="annotate", model="export").update(app_label="exports")


class Migration(migrations.Migration):

    dependencies = [
        ('exports', '0001_initial'),
        ('annotate', '0005_export_moved'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.AddField(
            model_name='export',
            name='worker',
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.AlterField(
            model_name='export',
            name='done',
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name='export',
            name='status',
            field=models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed'), ('cancelled', 'Cancelled')], default='queued', max_length=16),
        ),
        migrations.AlterModelTable(
            name='export',
            table=None,
        ),
        migrations.RunPython(content_type_move, migrations.RunPython.noop),
    ]
