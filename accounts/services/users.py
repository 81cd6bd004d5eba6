import csv
import io
import secrets

from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.access import person_manage_rules
from accounts.models import User
from core.services.audit import audit_record

MAX_INVITES = 500  # rows of one CSV invite


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


def person_check_manageable(*, by: User, user: User) -> None:
    """Admins act on anyone but themselves; managers on annotators only (the people page shows them no others),
    within the rules other apps add (`person_manage_rules`)."""
    if user.pk == by.pk:
        raise PermissionDenied("You cannot do this to your own account.")
    if by.is_admin:
        return
    if not (by.is_manager and user.role == User.Role.ANNOTATOR):
        raise PermissionDenied("Managers manage annotators only.")
    for rule in person_manage_rules:
        if User.objects.filter(rule.refused(by), pk=user.pk).exists():
            raise PermissionDenied(rule.reason.format(username=user.username))


@transaction.atomic
def user_active_set(*, user: User, active: bool, by: User) -> User:
    """Deactivate (cannot sign in, API keys refused, judgments kept) or reactivate an account."""
    person_check_manageable(by=by, user=user)
    if user.is_active != active:
        user.is_active = active
        user.save(update_fields=["is_active"])
        audit_record(actor=by, action="user.activate" if active else "user.deactivate", target=f"user {user.pk}",
                     details={"username": user.username})
    return user


@transaction.atomic
def user_invite_reissue(*, user: User, by: User, reset_password: bool = False) -> str:
    """A fresh invite link. With `reset_password` the current password stops working at once (the link then sets a
    new one): for a forgotten or leaked password. Returns the link's path."""
    person_check_manageable(by=by, user=user)
    if reset_password and user.has_usable_password():
        user.set_unusable_password()
        user.save(update_fields=["password"])
    audit_record(actor=by, action="user.password_reset" if reset_password else "user.invite_reissue",
                 target=f"user {user.pk}", details={"username": user.username})
    return user_invite_path(user=user)


@transaction.atomic
def users_invite_csv(*, content: str, creator: User) -> list[tuple[User, str]]:
    """Annotators (and, from admins, other roles) from CSV lines `username,email[,role]` (a header line naming
    `username` is skipped); all or none are created. Returns each new user with their invite link's path."""
    rows = [row for row in csv.reader(io.StringIO(content)) if row and any(cell.strip() for cell in row)]
    if rows and rows[0][0].strip().lower() == "username":
        rows = rows[1:]
    if not rows:
        raise ValidationError("The file holds no people: one line per person, `username,email[,role]`.")
    if len(rows) > MAX_INVITES:
        raise ValidationError(f"At most {MAX_INVITES} people per file; split it.")
    invited, problems = [], []
    for number, row in enumerate(rows, start=1):
        username, email = row[0].strip(), row[1].strip() if len(row) > 1 else ""
        role = (row[2].strip().lower() if len(row) > 2 else "") or User.Role.ANNOTATOR
        try:
            with transaction.atomic():
                user = user_create(username=username, email=email, role=role, creator=creator)
        except ValidationError as error:
            problems.append(f"line {number} ({username or 'no username'}): {' '.join(error.messages)}")
        except PermissionDenied as error:
            problems.append(f"line {number} ({username}): {error}")
        else:
            invited.append((user, user_invite_path(user=user)))
    if problems:
        raise ValidationError(["Nobody was added. " + problems[0], *problems[1:]])
    audit_record(actor=creator, action="user.invite_csv", target=f"{len(invited)} users",
                 details={"usernames": [user.username for user, _ in invited]})
    return invited
