import secrets

from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import User


def _check_may_create(creator: User | None, role: str) -> None:
    if creator is None:  # command line: whoever runs manage.py owns the box
        return
    if not creator.is_manager:
        raise PermissionDenied("Only managers and admins can add people.")
    if role != User.Role.ANNOTATOR and not creator.is_admin:
        raise PermissionDenied("Only admins can add managers or admins.")


@transaction.atomic
def user_create(
    *, username: str, role: str, email: str = "", password: str | None = None, creator: User | None = None
) -> User:
    """Create a user. Without a password the account can only be entered through an invite link."""
    _check_may_create(creator, role)
    if role not in User.Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": f"The username {username!r} is taken."})
    user = User(username=username, email=email, role=role)
    user.is_staff = user.is_superuser = role == User.Role.ADMIN
    user.full_clean(exclude=["password"])
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    return user


def user_invite_path(*, user: User) -> str:
    """A one-time link (Django's password-reset token) where the new user sets a password."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("invite_accept", kwargs={"uidb64": uid, "token": default_token_generator.make_token(user)})


def random_password() -> str:
    return secrets.token_urlsafe(12)
