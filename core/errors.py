"""Errors that services raise and every interface (views, API, commands) understands the same way."""

from django.core.exceptions import ValidationError


class Conflict(ValidationError):
    """The request was valid but the state moved on (a lease lost, a different answer already recorded): 409."""
