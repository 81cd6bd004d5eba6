"""Reads for the annotator's own view of their work (progress, recent judgments) and for the flags managers see."""

from django.db.models import Count, QuerySet
from django.utils import timezone

from accounts.models import User
from annotate.access import campaigns_managed_by, campaigns_visible_to
from annotate.models import Assignment, Campaign, Flag, Judgment
from annotate.selectors import annotator_progress, judgment_in_words
from annotate.services.review import judgment_changeable

RECENT_JUDGMENTS = 20


def annotator_campaigns(*, user: User) -> list[dict]:
    """The campaigns this user judges in, each with their own progress: what they did and their share still open
    to them (not the campaign's prompt count, which says nothing about their part). Five queries, however many."""
    campaigns = list(campaigns_visible_to(user=user).filter(members=user))
    progress = annotator_progress(campaigns=campaigns, annotator=user)
    # the tasks they hold (or took back) are theirs to do, though no longer "open"
    held = dict(Assignment.objects.filter(item__campaign__in=campaigns, annotator=user,
                                          status=Assignment.Status.ACTIVE, expires_at__gt=timezone.now())
                .order_by().values_list("item__campaign").annotate(n=Count("pk")))
    rows = []
    for campaign in campaigns:
        done = progress[campaign.pk]["done"]
        to_go = progress[campaign.pk]["remaining"] + held.get(campaign.pk, 0)
        rows.append({"campaign": campaign, "done": done, "to_go": to_go, "share": done + to_go,
                     "percent": int(100 * done / (done + to_go)) if done + to_go else 100})
    return rows


def judgments_recent_for(*, campaign: Campaign, annotator: User, limit: int = RECENT_JUDGMENTS) -> list[dict]:
    """The annotator's latest judgments in the campaign (their own only), newest first, each with its prompt, the
    answer as they gave it and whether they may still change it."""
    judgments = (Judgment.objects.filter(item__campaign=campaign, annotator=annotator, assignment__isnull=False)
                 .select_related("item__prompt").prefetch_related("item__slots__candidate")
                 .order_by("-created_at", "-id")[:limit])
    rows = []
    for judgment in judgments:
        canonical = [slot.candidate.external_id for slot in judgment.item.slots.all()]
        messages = judgment.item.prompt.messages or []
        prompt = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
        rows.append({"judgment": judgment, "assignment_id": judgment.assignment_id, "prompt": prompt,
                     "answer": judgment_in_words(judgment, canonical, as_shown=True),
                     "changeable": judgment_changeable(campaign=campaign, item=judgment.item)})
    return rows


def flags_for(*, user: User, campaign: Campaign | None = None) -> QuerySet[Flag]:
    """Flags on items of the campaigns this user manages (one campaign's when given), newest first; an item
    browser narrows it further with `.filter(item=...)`."""
    flags = Flag.objects.filter(item__campaign__in=campaigns_managed_by(user=user))
    if campaign is not None:
        flags = flags.filter(item__campaign=campaign)
    return flags.select_related("item__prompt", "annotator")
