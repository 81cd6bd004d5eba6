"""What every app's forms share."""


class ErrorListMixin:
    """A form's error messages in one flat list, for pages and htmx answers that show them together."""

    def error_list(self) -> list[str]:
        return [message for errors in self.errors.values() for message in errors]
