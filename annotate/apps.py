from django.apps import AppConfig


class AnnotateConfig(AppConfig):
    name = "annotate"

    def ready(self) -> None:
        from accounts.access import person_manage_rules
        from annotate.access import person_check_manageable
        from annotate.models import JudgeRun
        from annotate.services.judges import judge_run_enqueue
        from core.runs import run_kind_register

        run_kind_register(model=JudgeRun, enqueue=lambda run: judge_run_enqueue(run=run))

        if person_check_manageable not in person_manage_rules:
            person_manage_rules.append(person_check_manageable)
