from django.db import migrations, models
from django.db.models import Count, OuterRef, Subquery


def count_judgments(apps, schema_editor):
    Item = apps.get_model("annotate", "Item")
    Judgment = apps.get_model("annotate", "Judgment")
    judged = Judgment.objects.filter(item=OuterRef("pk")).values("item").annotate(n=Count("pk")).values("n")
    Item.objects.filter(judgments__isnull=False).distinct().update(judgment_count=Subquery(judged))


class Migration(migrations.Migration):

    dependencies = [
        ("annotate", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="item",
            name="judgment_count",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddIndex(
            model_name="item",
            index=models.Index(fields=["campaign", "judgment_count", "id"], name="item_open"),
        ),
        migrations.RunPython(count_judgments, migrations.RunPython.noop),
    ]
