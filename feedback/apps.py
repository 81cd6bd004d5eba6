from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "feedback"

    def ready(self):
        from feedback import worker  # noqa: F401  (connects the worker signals)
