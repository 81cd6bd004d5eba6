"""Feedback tasks: imports on the default queue; relayed replies are sent to the gpu queue explicitly."""

from celery import shared_task


@shared_task
def conversation_import_run(import_id: int) -> None:
    from feedback.services.imports import conversation_import_run

    conversation_import_run(import_id=import_id)


@shared_task
def reply_relay(conversation_id: int, parent_id: int, values: dict, key: str) -> None:
    """Sent to the gpu queue (it runs the model) by reply_relay_start."""
    from feedback.services.relay import reply_relay_run

    reply_relay_run(conversation_id=conversation_id, parent_id=parent_id, values=values, key=key)
