from django.apps import AppConfig


class MoralgraphConfig(AppConfig):
    name = "annotate.moralgraph"
    label = "moralgraph"
    verbose_name = "Moral graph"
