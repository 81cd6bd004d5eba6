from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = "Dataset exports"

    def ready(self):
        from core.runs import run_kind_register
        from exports import signals  # noqa: F401  (connects the deletion hooks)
        from exports.models import Export
        from exports.services import export_enqueue

        run_kind_register(model=Export, enqueue=lambda export: export_enqueue(export=export))
