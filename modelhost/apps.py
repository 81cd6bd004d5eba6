from django.apps import AppConfig


class ModelhostConfig(AppConfig):
    name = "modelhost"

    def ready(self):
        from modelhost import worker  # noqa: F401  (connects the worker signals)
