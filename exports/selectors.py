from pathlib import Path

from django.db.models import QuerySet

from accounts.models import User
from annotate.access import campaigns_managed_by
from annotate.models import Campaign
from exports.models import Export


def export_list_for(*, user: User) -> QuerySet[Export]:
    """Exports this user may see and download: admins all, managers those of campaigns they all manage."""
    exports = Export.objects.select_related("created_by").prefetch_related("campaigns")
    if user.is_admin:
        return exports
    if not user.is_manager:
        return exports.none()
    return exports.exclude(campaigns__in=Campaign.objects.exclude(pk__in=campaigns_managed_by(user=user).values("pk")))


def export_file(*, export: Export, path: str) -> Path | None:
    """The file of a finished export named `path` in its manifest, or None: names are never joined blindly, so
    `..`, absolute paths and links lead nowhere."""
    if export.status != Export.Status.DONE or path not in {entry["path"] for entry in export.files}:
        return None
    root = export.directory.resolve()
    found = (root / path).resolve()
    return found if found.is_relative_to(root) and found.is_file() else None


def export_download_name(*, export: Export, path: str) -> str:
    return f"concord-export-{export.pk}-" + path.replace("/", "-")

