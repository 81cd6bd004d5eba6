"""Dataset work; it goes to the default queue (only modelhost.tasks route to gpu)."""

from celery import shared_task


@shared_task(bind=True)
def export_run(self, export_id: int) -> None:
    from exports.services import export_run

    export_run(export_id=export_id, worker=self.request.hostname or "")
