from django.db.models import QuerySet

from accounts.models import ApiToken, User


def user_list_visible_to(*, viewer: User) -> QuerySet[User]:
    """Admins see everyone; managers see annotators and themselves; others see no list."""
    users = User.objects.order_by("username")
    if viewer.is_admin:
        return users
    if viewer.is_manager:
        return users.filter(role=User.Role.ANNOTATOR) | users.filter(pk=viewer.pk)
    return users.none()


def token_list_for(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)
