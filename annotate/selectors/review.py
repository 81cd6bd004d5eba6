"""Reads for the annotator's own view of their work (progress, recent judgments) and for the flags managers see."""

from string import ascii_uppercase as LETTERS

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from annotate.access import campaigns_managed_by, campaigns_visible_to
from annotate.models import Assignment, Campaign, Flag, Judgment
from annotate.selectors import annotator_progress
from annotate.services.review import judgment_changeable

RECENT_JUDGMENTS = 20


def annotator_campaigns(*, user: User) -> list[dict]:
    """The campaigns this user judges in, each with their own progress: what they did and their share still open
    to them (not the campaign's prompt count, which says nothing about their part)."""
    rows, now = [], timezone.now()
    for campaign in campaigns_visible_to(user=user).filter(members=user):
        progress = annotator_progress(campaign=campaign, annotator=user)
        # the task they hold (or took back) is theirs to do, though no longer "open"
        held = Assignment.objects.filter(item__campaign=campaign, annotator=user, status=Assignment.Status.ACTIVE,
                                         expires_at__gt=now).count()
        to_go = progress["remaining"] + held
        share = progress["done"] + to_go
        rows.append({"campaign": campaign, "done": progress["done"], "to_go": to_go, "share": share,
                     "percent": int(100 * progress["done"] / share) if share else 100})
    return rows


def _answer_shown(judgment: Judgment, canonical: list[str]) -> str:
    """The answer as the annotator saw it: responses by the letters they were shown under (A = shown first)."""
    order = judgment.presented_order or canonical
    label = {candidate: LETTERS[index] for index, candidate in enumerate(order)}
    if judgment.choice:
        chosen = "Tie" if judgment.choice == "tie" else f"{label[canonical['ab'.index(judgment.choice)]]} better"
        if judgment.strength is not None:
            flipped = order[0] != canonical[0]  # strength is stored canonically: negative means a is better
            chosen += f" (strength {-judgment.strength if flipped else judgment.strength:+d})"
        return chosen
    if judgment.ranking:
        return " > ".join(" = ".join(sorted(label[c] for c in tier)) for tier in judgment.ranking)
    if judgment.ratings:
        return ", ".join(f"{label[c]}: {value}" for c, value in sorted(judgment.ratings.items(),
                                                                         key=lambda pair: label[pair[0]]))
    if judgment.attributes:
        return "; ".join(f"{label[c]}: " + ", ".join(f"{name} {value}" for name, value in scores.items())
                         for c, scores in sorted(judgment.attributes.items(), key=lambda pair: label[pair[0]]))
    return ""


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
                     "answer": _answer_shown(judgment, canonical),
                     "changeable": judgment_changeable(campaign=campaign, item=judgment.item)})
    return rows


def flags_for(*, user: User, campaign: Campaign | None = None) -> QuerySet[Flag]:
    """Flags on items of the campaigns this user manages (one campaign's when given), newest first; an item
    browser narrows it further with `.filter(item=...)`."""
    flags = Flag.objects.filter(item__campaign__in=campaigns_managed_by(user=user))
    if campaign is not None:
        flags = flags.filter(item__campaign=campaign)
    return flags.select_related("item__prompt", "annotator")
