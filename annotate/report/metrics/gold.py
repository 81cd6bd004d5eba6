"""Accuracy on gold items, per annotator, counted in SQL."""

from django.db.models import Count, Q

from annotate.report.metrics.bootstrap import estimate
from annotate.report.metrics.position import exact_interval
from annotate.models import Campaign, Judgment

GOLD_THRESHOLD = 0.7
GOLD_MIN_JUDGMENTS = 3  # fewer gold answers say too little to flag anyone


def gold_accuracy(*, campaign: Campaign) -> dict[str, tuple[int, int]]:
    """Username -> (gold judgments that could be checked, correct ones), in name order."""
    rows = (Judgment.objects.filter(item__campaign=campaign, gold_correct__isnull=False)
            .values("annotator__username").order_by("annotator__username")
            .annotate(n=Count("pk"), correct=Count("pk", filter=Q(gold_correct=True))))
    return {row["annotator__username"]: (row["n"], row["correct"]) for row in rows}


def gold_is_flagged(n: int, correct: int, *, threshold: float, min_judgments: int) -> bool:
    """The rule shared by the report and the exports that leave flagged annotators out."""
    return n >= min_judgments and correct / n < threshold


def gold_summary(*, campaign: Campaign, threshold: float = GOLD_THRESHOLD,
                 min_judgments: int = GOLD_MIN_JUDGMENTS) -> dict:
    per_annotator = {}
    for username, (n, correct) in gold_accuracy(campaign=campaign).items():
        per_annotator[username] = {
            **estimate(correct / n, n, *exact_interval(correct, n)), "correct": correct,
            "flagged": gold_is_flagged(n, correct, threshold=threshold, min_judgments=min_judgments),
        }
    return {
        "threshold": threshold, "min_judgments": min_judgments,
        "items": campaign.items.filter(is_gold=True).count(),
        "per_annotator": per_annotator,
        "flagged": [name for name, row in per_annotator.items() if row["flagged"]],
    }
