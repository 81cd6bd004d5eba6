"""Exports follow what they were made of: annotate knows nothing of exports, so deletions reach them here."""

from django.db.models.signals import post_delete, pre_delete
from django.dispatch import receiver

from annotate.models import Campaign
from exports.models import Export
from exports.services import export_files_delete


@receiver(pre_delete, sender=Campaign)
def campaign_exports_delete(sender, instance: Campaign, **kwargs) -> None:
    """A deleted campaign takes every export that read it along: such a dataset holds its judgments, and with the
    campaign gone no manager is left to whom it belongs. Each export's own deletion removes its files."""
    Export.objects.filter(campaigns=instance).delete()


@receiver(post_delete, sender=Export)
def export_deleted(sender, instance: Export, **kwargs) -> None:
    export_files_delete(export=instance)
