from celery import shared_task


@shared_task(bind=True)
def health_probe_answer(self, probe_id: str) -> None:
    from core.services.workers import health_probe_answer

    health_probe_answer(probe_id=probe_id, hostname=self.request.hostname or "")
