from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "feedback"

    def ready(self):
        from core.runs import run_kind_register
        from feedback.models import MiningRun
        from feedback.services.mining import mining_run_enqueue

        # A mining run a dead worker left running, or whose message the broker lost, is sent again to its stage.
        run_kind_register(model=MiningRun, enqueue=lambda run: mining_run_enqueue(run=run))
