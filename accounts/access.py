"""Role checks for every app's views and APIs, written once: a view decorator and a DRF permission."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from rest_framework.permissions import BasePermission


def manager_required(view):
    """Signed-in managers and admins only: others are sent to sign in, or get 403."""

    @login_required
    @wraps(view)
    def checked(request, *args, **kwargs):
        if not request.user.is_manager:
            raise PermissionDenied("Only managers and admins may open this page.")
        return view(request, *args, **kwargs)

    return checked


class IsManager(BasePermission):
    message = "Only managers and admins may do this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_manager)


@dataclass(frozen=True)
class PersonRule:
    """A rule of an app above accounts on whom a manager may deactivate or reset: `refused(manager)` is a filter of
    the people it keeps from that manager (a filter, so the people page marks a whole list in one query); `reason`
    says why, with `{username}`."""

    refused: Callable[..., Q]
    reason: str


# Apps add theirs in AppConfig.ready (accounts knows nothing of campaigns).
person_manage_rules: list[PersonRule] = []
