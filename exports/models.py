from django.conf import settings
from django.db import models

from annotate.models import Campaign
from core.runs import Run


class Export(Run):
    """A dataset made from judgments: its spec, its progress (judgments read), and the files it wrote (served by
    permission only)."""

    spec = models.JSONField(help_text="The checked spec, every key present: running it again gives the same files.")
    campaigns = models.ManyToManyField(Campaign, related_name="exports")
    snapshot_judgment_id = models.BigIntegerField(
        default=0, help_text="Judgments with an id up to this one are read: the data as it was when asked for."
    )
    rows = models.PositiveBigIntegerField(default=0)
    content_hash = models.CharField(max_length=64, blank=True)
    files = models.JSONField(default=list, blank=True, help_text="[{path, bytes, sha256}] under the export folder.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="exports")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"export #{self.pk} ({self.spec.get('format')})"

    @property
    def directory(self):
        """Where the files are: under MEDIA_ROOT, which no URL serves."""
        return settings.MEDIA_ROOT / "exports" / str(self.pk)
