"""Exports as jobs: checked and recorded at once, written by a worker on the default queue.

A run writes into `<id>.partial-<attempt>` and renames it to `<id>` when complete, so a download never sees half
a dataset. A redelivered or repeated run of a finished export does nothing; one of an export whose worker died
starts it again from the recorded snapshot, so it writes the same files.
"""

import logging
import os
import shutil
import time

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from annotate.exports.pipeline import Progress, dataset_write
from annotate.exports.snapshot import snapshot_judgment_id
from annotate.exports.spec import spec_clean, spec_protocols_resolve, spec_salt
from annotate.models import Campaign, Export
from annotate.selectors import campaign_managed_by

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 3  # starts that did not finish (a worker killed again and again) before giving up
PROGRESS_SECONDS = 0.5  # how often a run writes its progress row


@transaction.atomic
def export_create(*, spec: dict, by: User | None, queue: bool = True) -> Export:
    """Check the spec in full (shape, the campaigns `by` manages, what the campaigns hold), record the export with
    the snapshot it will read, and queue it (unless the caller runs it itself). `by` None is the command line,
    which may export any campaign."""
    if by is not None and not by.is_manager:
        raise PermissionDenied("Only managers and admins export datasets.")
    clean = spec_clean(spec)
    campaigns = Campaign.objects.all() if by is None else campaign_managed_by(user=by)
    campaigns = list(campaigns.filter(pk__in=clean["campaigns"]).order_by("pk"))
    missing = sorted(set(clean["campaigns"]) - {campaign.pk for campaign in campaigns})
    if missing:
        if by is None:
            raise ValidationError({"campaigns": f"no campaign with the id(s) {missing}."})
        raise PermissionDenied(f"You do not manage the campaign(s) {missing}, or they do not exist.")
    clean = spec_protocols_resolve(clean, [campaign.design for campaign in campaigns])
    clean["salt"] = spec_salt(clean)
    export = Export.objects.create(spec=clean, created_by=by,
                                   snapshot_judgment_id=snapshot_judgment_id(campaign_ids=clean["campaigns"]))
    export.campaigns.set(campaigns)
    if queue:
        export_enqueue(export=export)
    return export


def export_enqueue(*, export: Export) -> None:
    from annotate.tasks import export_run as task

    transaction.on_commit(lambda: task.delay(export.pk))


def _start(export_id: int) -> Export | None:
    with transaction.atomic():
        export = Export.objects.select_for_update().filter(pk=export_id).first()
        if export is None or not export.is_active:
            return None  # deleted or finished: a redelivered message does nothing
        if export.attempts >= MAX_ATTEMPTS:
            export.status, export.finished_at = Export.Status.FAILED, timezone.now()
            export.error = (f"Gave up after {export.attempts} starts without finishing (did the worker run out of "
                            "memory?).")
            export.save()
            return None
        export.status, export.attempts = Export.Status.RUNNING, export.attempts + 1
        export.started_at = export.started_at or timezone.now()
        export.done = 0
        export.save()
        return export


def _leftovers_remove(export: Export) -> None:
    """What earlier attempts left: partial folders, or a complete one whose run died before recording it."""
    for path in export.directory.parent.glob(f"{export.pk}.partial-*"):
        shutil.rmtree(path, ignore_errors=True)
    shutil.rmtree(export.directory, ignore_errors=True)


def export_run(*, export_id: int, on_progress: Progress | None = None) -> None:
    """Write the export's files. Safe to call again at any time; `on_progress(done, total)` follows it."""
    export = _start(export_id)
    if export is None:
        return
    this_run = Export.objects.filter(pk=export.pk, status=Export.Status.RUNNING, attempts=export.attempts)
    export.directory.parent.mkdir(parents=True, exist_ok=True)
    _leftovers_remove(export)
    partial = export.directory.with_name(f"{export.pk}.partial-{export.attempts}")
    written = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal written
        if time.monotonic() - written >= PROGRESS_SECONDS or done == total:
            this_run.update(done=done, total=total)
            written = time.monotonic()
        if on_progress:
            on_progress(done, total)

    try:
        result = dataset_write(spec=export.spec, snapshot_id=export.snapshot_judgment_id, directory=partial,
                               on_progress=progress)
    except ValidationError as error:
        shutil.rmtree(partial, ignore_errors=True)
        this_run.update(status=Export.Status.FAILED, error=" ".join(error.messages), finished_at=timezone.now())
        return
    except Exception as error:
        shutil.rmtree(partial, ignore_errors=True)
        logger.exception("export %s failed", export.pk)
        this_run.update(status=Export.Status.FAILED, error=f"{type(error).__name__}: {error}",
                        finished_at=timezone.now())
        raise
    os.replace(partial, export.directory)
    this_run.update(status=Export.Status.DONE, rows=result.rows, files=result.files,
                    content_hash=result.content_hash, error="", finished_at=timezone.now())
