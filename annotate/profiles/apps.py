from django.apps import AppConfig


class ProfilesConfig(AppConfig):
    name = "annotate.profiles"
    label = "profiles"
    verbose_name = "Annotator profiles"
