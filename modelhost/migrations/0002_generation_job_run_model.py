"""GenerationJob takes the shared run fields (core.runs.Run): done and total become big integers."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('modelhost', '0001_initial'),
    ]

    operations = [
        migrations.AlterField(
            model_name='generationjob',
            name='done',
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name='generationjob',
            name='total',
            field=models.PositiveBigIntegerField(default=0),
        ),
    ]
