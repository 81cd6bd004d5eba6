from django.apps import AppConfig


class AnnotateConfig(AppConfig):
    name = "annotate"

    def ready(self) -> None:
        from accounts.access import person_manage_rules
        from annotate.access import person_check_manageable

        if person_check_manageable not in person_manage_rules:
            person_manage_rules.append(person_check_manageable)
