from django.db.models import Count, Q, QuerySet

from accounts.models import User
from annotate.models import Campaign


def campaign_list_for(*, user: User) -> QuerySet[Campaign]:
    """Campaigns this user may see: admins all, managers those they manage, annotators live ones they joined."""
    campaigns = Campaign.objects.annotate(prompt_count=Count("prompts", distinct=True)).order_by("-created_at")
    if user.is_admin:
        return campaigns
    visible = Q(members=user, status__in=[Campaign.Status.LIVE, Campaign.Status.PAUSED])
    if user.is_manager:
        visible |= Q(managers=user) | Q(created_by=user)
    return campaigns.filter(visible).distinct()
