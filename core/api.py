"""The API's one translation of what services raise: Django's ValidationError, PermissionDenied and
ObjectDoesNotExist become 400, 403 and 404 (a Conflict 409), so API views call services without try/except."""

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import Conflict


def exception_handler(error, context):
    if isinstance(error, Conflict):
        return Response({"detail": error.messages}, status=status.HTTP_409_CONFLICT)
    if isinstance(error, ValidationError):
        error = exceptions.ValidationError(error.message_dict if hasattr(error, "error_dict")
                                           else {"detail": error.messages})
    elif isinstance(error, PermissionDenied):
        error = exceptions.PermissionDenied(str(error) or None)
    elif isinstance(error, ObjectDoesNotExist):
        error = exceptions.NotFound(str(error) or None)
    return drf_exception_handler(error, context)
