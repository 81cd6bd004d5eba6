"""The API's one translation of what services raise: Django's ValidationError, PermissionDenied and
ObjectDoesNotExist become 400, 403 and 404 (a Conflict 409), so API views call services without try/except.
And the one JSON parser: bodies over DATA_UPLOAD_MAX_MEMORY_SIZE are a 413, and bodies that break core.values'
rules (too deep, NaN, NUL, lone surrogates, integers beyond 64 bits) a 400, before any view sees them."""

import hashlib

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, RequestDataTooBig, ValidationError
from rest_framework import exceptions, parsers, status, throttling
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import Conflict
from core.values import json_parse


class TooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read(limit + 1)  # DRF hands JSON the raw stream: Django's own limit never applies to it
        if len(body) > limit:
            raise TooLarge(f"The request body is larger than {limit} bytes.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json_parse(body.decode(encoding), "the body")
        except UnicodeDecodeError as error:
            raise exceptions.ParseError(f"The body is not {encoding} text (byte {error.start}).") from None
        except ValidationError as error:
            raise exceptions.ParseError(" ".join(error.messages)) from None


class _RateOfNow:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]  # read per request: a changed setting applies at once


class AnonRateThrottle(_RateOfNow, throttling.AnonRateThrottle):
    """Anonymous requests per address (DRF throttles after permissions: this counts the views open to anyone)."""


class KeyViewRateThrottle(_RateOfNow, throttling.SimpleRateThrottle):
    """Signed-in requests counted per API key (per session user without one) and per view."""

    scope = "key_view"

    def get_cache_key(self, request, view):
        if not request.user.is_authenticated:
            return None  # AnonRateThrottle counts those
        header = request.headers.get("Authorization", "")
        keyed = header.lower().startswith("token ")  # the header that authenticated; any other is the session's
        who = hashlib.sha256(header.encode()).hexdigest()[:32] if keyed else f"user-{request.user.pk}"
        return self.cache_format % {"scope": f"{self.scope}-{type(view).__name__}", "ident": who}


def exception_handler(error, context):
    if isinstance(error, Conflict):
        return Response({"detail": error.messages}, status=status.HTTP_409_CONFLICT)
    if isinstance(error, RequestDataTooBig):  # a body Django read itself, over the same limit
        error = TooLarge(f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.")
    elif isinstance(error, ValidationError):
        error = exceptions.ValidationError(error.message_dict if hasattr(error, "error_dict")
                                           else {"detail": error.messages})
    elif isinstance(error, PermissionDenied):
        error = exceptions.PermissionDenied(str(error) or None)
    elif isinstance(error, ObjectDoesNotExist):
        error = exceptions.NotFound(str(error) or None)
    return drf_exception_handler(error, context)
