"""Exports as jobs: checked and recorded at once, written by a worker on the default queue.

A run writes into `<id>.partial-<attempt>` and renames it to `<id>` when complete, so a download never sees half
a dataset. A redelivered or repeated run of a finished export does nothing; one of an export whose worker died
starts it again from the recorded snapshot, so it writes the same files.
"""

import logging
import os
import shutil
import time
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import User
from annotate.access import campaigns_managed_by
from annotate.models import Campaign
from annotate.selectors.snapshot import snapshot_judgment_id
from core.runs import run_fail, run_finish, run_progress, run_start
from core.services.audit import audit_record
from exports.models import Export
from exports.pipeline import Progress, dataset_write
from exports.selectors import export_file
from exports.spec import spec_clean, spec_protocols_resolve, spec_salt

logger = logging.getLogger(__name__)
PROGRESS_SECONDS = 0.5  # how often a run writes its progress row


@transaction.atomic
def export_create(*, spec: dict, by: User | None, queue: bool = True) -> Export:
    """Check the spec in full (shape, the campaigns `by` manages, what the campaigns hold), record the export with
    the snapshot it will read, and queue it (unless the caller runs it itself). `by` None is the command line,
    which may export any campaign."""
    if by is not None and not by.is_manager:
        raise PermissionDenied("Only managers and admins export datasets.")
    clean = spec_clean(spec)
    campaigns = Campaign.objects.all() if by is None else campaigns_managed_by(user=by)
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
    audit_record(actor=by, action="export.create", target=f"export {export.pk}",
                 details={"campaigns": clean["campaigns"], "format": clean["format"]})
    if queue:
        export_enqueue(export=export)
    return export


def export_file_download(*, export: Export, path: str, by: User) -> Path | None:
    """The file to send (see export_file), recorded in the audit trail; None when the export lists no such file."""
    found = export_file(export=export, path=path)
    if found is not None:
        audit_record(actor=by, action="export.download", target=f"export {export.pk}", details={"path": path})
    return found


def export_enqueue(*, export: Export) -> None:
    from exports.tasks import export_run as task

    transaction.on_commit(lambda: task.delay(export.pk))


def _leftovers_remove(export: Export) -> None:
    """What earlier attempts left: partial folders, or a complete one whose run died before recording it."""
    for path in export.directory.parent.glob(f"{export.pk}.partial-*"):
        shutil.rmtree(path, ignore_errors=True)
    shutil.rmtree(export.directory, ignore_errors=True)


def export_files_delete(*, export: Export) -> None:
    """Remove an export's files once the deletion of its row commits (a rolled-back delete keeps them)."""
    gone = Export(pk=export.pk)  # the deleted instance loses its pk before the commit
    transaction.on_commit(lambda: _leftovers_remove(gone))


def export_run(*, export_id: int, worker: str = "", on_progress: Progress | None = None) -> None:
    """Write the export's files. Safe to call again at any time; `on_progress(done, total)` follows it."""
    export = run_start(model=Export, run_id=export_id, worker=worker, restart_progress=True)
    if export is None:
        return
    export.directory.parent.mkdir(parents=True, exist_ok=True)
    _leftovers_remove(export)
    partial = export.directory.with_name(f"{export.pk}.partial-{export.attempts}")
    written = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal written
        if time.monotonic() - written >= PROGRESS_SECONDS or done == total:
            run_progress(run=export, done=done, total=total)
            written = time.monotonic()
        if on_progress:
            on_progress(done, total)

    try:
        result = dataset_write(spec=export.spec, snapshot_id=export.snapshot_judgment_id, directory=partial,
                               on_progress=progress)
    except ValidationError as error:
        shutil.rmtree(partial, ignore_errors=True)
        run_fail(run=export, error=" ".join(error.messages))
        return
    except Exception as error:
        shutil.rmtree(partial, ignore_errors=True)
        logger.exception("export %s failed", export.pk)
        run_fail(run=export, error=f"{type(error).__name__}: {error}")
        raise
    os.replace(partial, export.directory)
    run_finish(run=export, rows=result.rows, files=result.files, content_hash=result.content_hash)
    logger.info("export %s: %s rows; %s", export.pk, result.rows, result.stages.summary(),
                extra={"stages": result.stages.seconds})
