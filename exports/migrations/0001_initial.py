"""Export moves here from annotate: the state only; the table is renamed in the next migration."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('annotate', '0004_queue_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Export',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('spec', models.JSONField(help_text='The checked spec, every key present: running it again gives the same files.')),
                        ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], default='queued', max_length=16)),
                        ('snapshot_judgment_id', models.BigIntegerField(default=0, help_text='Judgments with an id up to this one are read: the data as it was when asked for.')),
                        ('done', models.PositiveBigIntegerField(default=0, help_text='Judgments read so far.')),
                        ('total', models.PositiveBigIntegerField(default=0)),
                        ('rows', models.PositiveBigIntegerField(default=0)),
                        ('content_hash', models.CharField(blank=True, max_length=64)),
                        ('files', models.JSONField(blank=True, default=list, help_text='[{path, bytes, sha256}] under the export folder.')),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('error', models.TextField(blank=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('started_at', models.DateTimeField(blank=True, null=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('campaigns', models.ManyToManyField(related_name='exports', to='annotate.campaign')),
                        ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='exports', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'ordering': ['-created_at', '-id'],
                        'db_table': 'annotate_export',
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
