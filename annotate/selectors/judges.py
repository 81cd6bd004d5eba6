"""Reads of AI judge runs, scoped to the campaign's managers."""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from accounts.models import User
from annotate.access import campaign_check_manager
from annotate.models import Campaign, JudgeRun


def judge_runs_for(*, campaign: Campaign, user: User) -> QuerySet[JudgeRun]:
    """The campaign's judge runs, newest first, for its managers."""
    campaign_check_manager(campaign=campaign, user=user)
    return JudgeRun.objects.filter(campaign=campaign).select_related("endpoint", "judge")


def judge_run_get(*, run_id: int, user: User) -> JudgeRun:
    run = JudgeRun.objects.select_related("campaign", "endpoint", "judge").get(pk=run_id)
    try:
        campaign_check_manager(campaign=run.campaign, user=user)
    except PermissionDenied:
        raise JudgeRun.DoesNotExist("No such judge run of yours.") from None
    return run
