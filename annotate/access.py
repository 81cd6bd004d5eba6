"""Who may see and manage which campaign: each rule written once, for views, APIs and services alike.

Admins see and manage everything; managers manage the campaigns they were made managers of or created;
annotators see the live or paused campaigns they are members of. Lists and single objects use the same rules.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.access import PersonRule
from accounts.models import User
from annotate.models import Campaign
from core.sql import sql_rows

MEMBER = Campaign.members.through._meta.db_table


def _managing(user: User) -> Q:
    return Q(managers=user) | Q(created_by=user)


def campaigns_visible_to(*, user: User) -> QuerySet[Campaign]:
    """Campaigns this user may see: admins all, managers those they manage, annotators live ones they joined."""
    campaigns = Campaign.objects.order_by("-created_at")
    if user.is_admin:
        return campaigns
    visible = Q(members=user, status__in=[Campaign.Status.LIVE, Campaign.Status.PAUSED])
    if user.is_manager:
        visible |= _managing(user)
    return campaigns.filter(visible).distinct()


def campaigns_managed_by(*, user: User) -> QuerySet[Campaign]:
    campaigns = Campaign.objects.all()
    if user.is_admin:
        return campaigns
    return campaigns.filter(_managing(user)).distinct()


def campaign_to_manage(*, user: User, campaign_id: int | str | None,
                       campaigns: QuerySet[Campaign] | None = None) -> Campaign:
    """The campaign a manager's page or form acts on (its id from the URL or a posted field): 404 unless this user
    manages it, as one they may not manage is none of theirs. `campaigns` narrows or annotates the rows."""
    if not str(campaign_id).isdigit():
        raise Http404("No such campaign.")
    campaigns = Campaign.objects.all() if campaigns is None else campaigns
    return get_object_or_404(campaigns.filter(pk__in=campaigns_managed_by(user=user).values("pk")), pk=campaign_id)


def campaign_check_manager(*, campaign: Campaign, user: User) -> None:
    if not campaigns_managed_by(user=user).filter(pk=campaign.pk).exists():
        raise PermissionDenied("You do not manage this campaign.")


def campaign_check_member(*, campaign: Campaign, user: User) -> None:
    # Plain SQL: the queue asks this for every task it hands out.
    if not sql_rows(f"SELECT 1 FROM {MEMBER} WHERE campaign_id = %s AND user_id = %s", [campaign.pk, user.pk]):
        raise PermissionDenied("You are not a member of this campaign.")


def _in_campaigns_of_others(manager: User) -> Q:
    return Q(campaigns_joined__in=Campaign.objects.exclude(pk__in=campaigns_managed_by(user=manager).values("pk")))


# A manager deactivates or resets only annotators who work on no campaign of another manager's (else one manager
# could lock out another's team): added to `accounts.access.person_manage_rules`.
PEOPLE_OF_OTHER_CAMPAIGNS = PersonRule(refused=_in_campaigns_of_others,
                                       reason="{username} also works on campaigns you do not manage; ask an admin.")
