"""Absolute ratings: campaigns made from now on rate each response alone; existing ones keep rating side by side,
as they were built."""

from django.db import migrations, models

HELP = ("Rating and attributes, and the rating arm of rank_vs_rate: items of one response, each rated on its own "
        "(absolute ratings, as Bansal et al. and HelpSteer2). Off: responses side by side.")


class Migration(migrations.Migration):

    dependencies = [
        ('annotate', '0005_export_moved'),
    ]

    operations = [
        migrations.AddField(
            model_name='campaign',
            name='rate_alone',
            field=models.BooleanField(default=False, help_text=HELP, verbose_name='rate each response alone'),
        ),
        migrations.AlterField(
            model_name='campaign',
            name='rate_alone',
            field=models.BooleanField(default=True, help_text=HELP, verbose_name='rate each response alone'),
        ),
    ]
