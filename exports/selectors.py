from pathlib import Path

from django.db.models import Exists, OuterRef, QuerySet

from accounts.models import User
from annotate.access import campaigns_managed_by
from exports.models import Export


def export_list_for(*, user: User) -> QuerySet[Export]:
    """Exports this user may see and download: admins all; managers those with campaigns, every one of which they
    manage. Written as "shown when" rather than "hidden when", so an export whose campaigns are gone shows to no
    manager."""
    exports = Export.objects.select_related("created_by").prefetch_related("campaigns")
    if user.is_admin:
        return exports
    if not user.is_manager:
        return exports.none()
    links = Export.campaigns.through.objects.filter(export_id=OuterRef("pk"))
    unmanaged = links.exclude(campaign_id__in=campaigns_managed_by(user=user).values("pk"))
    return exports.filter(Exists(links), ~Exists(unmanaged))


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

