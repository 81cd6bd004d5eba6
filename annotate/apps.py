from django.apps import AppConfig


class AnnotateConfig(AppConfig):
    name = "annotate"

    def ready(self) -> None:
        from accounts.access import person_manage_rules
        from annotate.access import PEOPLE_OF_OTHER_CAMPAIGNS
        from annotate.models import JudgeRun
        from annotate.services.judges import judge_run_enqueue
        from core.runs import run_kind_register

        run_kind_register(model=JudgeRun, enqueue=lambda run: judge_run_enqueue(run=run))

        if PEOPLE_OF_OTHER_CAMPAIGNS not in person_manage_rules:
            person_manage_rules.append(PEOPLE_OF_OTHER_CAMPAIGNS)
