"""Accuracy on gold items, per annotator, counted in SQL."""

from django.db.models import Count, Q

from annotate.models import Campaign, Judgment
from annotate.protocols import GOLD_MIN_JUDGMENTS, GOLD_THRESHOLD, gold_is_flagged
from annotate.report.metrics.bootstrap import estimate
from annotate.report.metrics.data import PEOPLE, annotators_q
from annotate.report.metrics.position import exact_interval


def gold_accuracy(*, campaign: Campaign, annotators: str = PEOPLE) -> dict[str, tuple[int, int]]:
    """Username -> (gold judgments that could be checked, correct ones), in name order."""
    rows = (Judgment.objects.filter(annotators_q(annotators), item__campaign=campaign, gold_correct__isnull=False)
            .values("annotator__username").order_by("annotator__username")
            .annotate(n=Count("pk"), correct=Count("pk", filter=Q(gold_correct=True))))
    return {row["annotator__username"]: (row["n"], row["correct"]) for row in rows}


def gold_summary(*, campaign: Campaign, threshold: float = GOLD_THRESHOLD,
                 min_judgments: int = GOLD_MIN_JUDGMENTS, annotators: str = PEOPLE) -> dict:
    return gold_summary_of(gold_accuracy(campaign=campaign, annotators=annotators),
                           items=campaign.items.filter(is_gold=True).count(), threshold=threshold,
                           min_judgments=min_judgments)


def gold_summary_of(accuracy: dict[str, tuple[int, int]], *, items: int, threshold: float = GOLD_THRESHOLD,
                    min_judgments: int = GOLD_MIN_JUDGMENTS) -> dict:
    """The gold section from username -> (gold judgments checked, correct ones) and the number of gold items."""
    per_annotator = {}
    for username, (n, correct) in accuracy.items():
        per_annotator[username] = {
            **estimate(correct / n, n, *exact_interval(correct, n)), "correct": correct,
            "flagged": gold_is_flagged(n, correct, threshold=threshold, min_judgments=min_judgments),
        }
    return {
        "threshold": threshold, "min_judgments": min_judgments, "items": items,
        "per_annotator": per_annotator,
        "flagged": [name for name, row in per_annotator.items() if row["flagged"]],
    }
