"""Per-key limits of the chat APIs: requests and tokens per minute (DRF throttles), request size, message count.

DRF throttles keep their history in the cache, so they hold per process unless CACHES names a shared one, and
are not atomic under a burst (encode/django-rest-framework#8127): they give fairness, not a security boundary.
"""

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


def request_size_check(request) -> None:
    """Refuse a body over FEEDBACK_MAX_REQUEST_BYTES before it is read."""
    limit = settings.FEEDBACK_MAX_REQUEST_BYTES
    try:
        size = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        size = 0
    if size > limit:
        raise RequestTooLarge(f"The request body is {size} bytes; FEEDBACK_MAX_REQUEST_BYTES allows {limit}.")


class ChatRequestsThrottle(SimpleRateThrottle):
    """Requests per minute per API key's user."""

    scope = "chat_requests"

    def get_rate(self) -> str:
        return f"{settings.FEEDBACK_REQUESTS_PER_MINUTE}/min"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class ChatTokensThrottle(ChatRequestsThrottle):
    """Tokens per minute per user: the history holds (time, tokens) of each reply, recorded once it is known."""

    scope = "chat_tokens"

    def get_rate(self) -> str:
        return f"{settings.FEEDBACK_TOKENS_PER_MINUTE}/min"

    def allow_request(self, request, view) -> bool:
        self.key = self.get_cache_key(request, view)
        self.now = self.timer()
        self.history = [(at, tokens) for at, tokens in self.cache.get(self.key, []) if at > self.now - self.duration]
        return sum(tokens for _, tokens in self.history) < self.num_requests

    def wait(self) -> float:
        # Until the oldest reply in the window leaves it.
        return min(at for at, _ in self.history) + self.duration - self.now if self.history else self.duration

    @classmethod
    def record(cls, request, tokens: int) -> None:
        throttle = cls()
        key = throttle.get_cache_key(request, None)
        now = throttle.timer()
        history = [(at, used) for at, used in throttle.cache.get(key, []) if at > now - throttle.duration]
        throttle.cache.set(key, [*history, (now, tokens)], throttle.duration)


# The project's throttles (per address, per key and view) and the chat's own per-key budgets on top.
CHAT_THROTTLES = [*api_settings.DEFAULT_THROTTLE_CLASSES, ChatRequestsThrottle, ChatTokensThrottle]
