"""Feedback tasks: imports on the default queue; relayed replies and mining's judge stage are sent to the gpu queue
explicitly."""

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


# Mining: one task per stage of a run, each sent to its queue by feedback.services.mining.mining_run_enqueue.
@shared_task(bind=True)
def mining_label(self, run_id: int) -> None:
    from feedback.services.mining import mining_label

    mining_label(run_id=run_id, hostname=self.request.hostname or "")


@shared_task(bind=True)
def mining_judge(self, run_id: int) -> None:
    from feedback.services.mining import mining_judge

    mining_judge(run_id=run_id, hostname=self.request.hostname or "")


@shared_task(bind=True)
def mining_verify(self, run_id: int) -> None:
    from feedback.services.mining import mining_verify

    mining_verify(run_id=run_id, hostname=self.request.hostname or "")
