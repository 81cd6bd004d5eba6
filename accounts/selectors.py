from django.db.models import Case, Exists, F, OuterRef, QuerySet, Value, When

from accounts.access import person_manage_rules
from accounts.models import ApiToken, User


def users_manageable_by(*, manager: User) -> QuerySet[User]:
    """Whom this user may deactivate, reset or re-invite: admins anyone but themselves, managers annotators within
    the rules other apps add; `services.users.person_check_manageable` says why not for one person."""
    users = User.objects.exclude(pk=manager.pk)
    if manager.is_admin:
        return users
    if not manager.is_manager:
        return users.none()
    users = users.filter(role=User.Role.ANNOTATOR)
    for rule in person_manage_rules:
        users = users.exclude(rule.refused(manager))
    return users


def user_list_visible_to(*, viewer: User) -> QuerySet[User]:
    """Admins see everyone; managers see annotators and themselves; others see no list. Each row's `shown_email`
    is what the viewer may read: admins every address, managers their own only (an annotator's address is for
    the admins who run the site, not for every manager who can add them to a campaign); `manageable` says whether
    the viewer may act on that account, so the page offers only what they may do."""
    users = User.objects.order_by("username")
    if viewer.is_admin:
        users = users.annotate(shown_email=F("email"))
    elif viewer.is_manager:
        own_email = Case(When(pk=viewer.pk, then=F("email")), default=Value(""))
        users = (users.filter(role=User.Role.ANNOTATOR) | users.filter(pk=viewer.pk)).annotate(shown_email=own_email)
    else:
        return users.none()
    return users.annotate(manageable=Exists(users_manageable_by(manager=viewer).filter(pk=OuterRef("pk"))))


def token_list_for(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)


def manager_named(*, username: str | None) -> User:
    """Who a command acts as: the manager (or admin) of that name, or without a name the first admin."""
    if username is None:
        admin = User.objects.filter(role=User.Role.ADMIN, is_active=True).order_by("pk").first()
        if admin is None:
            raise User.DoesNotExist("There is no admin to act as; name a manager.")
        return admin
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None or not user.is_manager:
        raise User.DoesNotExist(f"No active manager or admin named {username!r}.")
    return user
