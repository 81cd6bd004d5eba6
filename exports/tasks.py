"""Bookkeeping work of the annotate app; it goes to the default queue (only modelhost.tasks route to gpu)."""

from celery import shared_task


@shared_task
def export_run(export_id: int) -> None:
    from exports.services import export_run

    export_run(export_id=export_id)
