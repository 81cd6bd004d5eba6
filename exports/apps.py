from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = "Dataset exports"

    def ready(self):
        from exports import signals  # noqa: F401  (connects the deletion hooks)
