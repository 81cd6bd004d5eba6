"""Model work; every task here is routed to the gpu queue (settings.CELERY_TASK_ROUTES)."""

from celery import shared_task


@shared_task(bind=True)
def generation_job_run(self, job_id: int) -> None:
    from modelhost.services.jobs import generation_job_run

    generation_job_run(job_id=job_id, hostname=self.request.hostname or "")


@shared_task
def reply_run(reply_id: int) -> None:
    from modelhost.services.replies import reply_run

    reply_run(reply_id=reply_id)
