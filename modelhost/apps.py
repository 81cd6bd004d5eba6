from django.apps import AppConfig


class ModelhostConfig(AppConfig):
    name = "modelhost"

    def ready(self):
        from core.runs import run_kind_register
        from modelhost import worker  # noqa: F401  (connects the worker signals)
        from modelhost.models import GenerationJob
        from modelhost.services.jobs import generation_job_enqueue

        run_kind_register(model=GenerationJob, enqueue=lambda job: generation_job_enqueue(job=job))
