"""Feedback bookkeeping; these tasks run on the default queue (only modelhost's are routed to gpu)."""

from celery import shared_task


@shared_task
def conversation_import_run(import_id: int) -> None:
    from feedback.services.imports import conversation_import_run

    conversation_import_run(import_id=import_id)
