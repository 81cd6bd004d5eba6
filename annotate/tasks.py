"""Annotation work for the workers. AI judge runs need a model, so they are routed to the gpu queue
(settings.CELERY_TASK_ROUTES)."""

from celery import shared_task


@shared_task(bind=True)
def judge_run_run(self, run_id: int) -> None:
    from annotate.services.judges import judge_run_run

    judge_run_run(run_id=run_id, hostname=self.request.hostname or "")
