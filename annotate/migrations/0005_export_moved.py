"""Export now lives in the exports app (its 0001 takes the table over); only the state changes here."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('annotate', '0004_queue_indexes'),
        ('exports', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='Export')],
            database_operations=[],
        ),
    ]
