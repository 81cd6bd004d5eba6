"""The protocol vocabulary: what an answer may be, in one low module.

Models, services, metrics and exports import these; this module imports nothing of theirs, so the
rules of a judgment are written once and every layer reads the same ranges.
"""

from django.db import models


class Protocol(models.TextChoices):
    PAIRWISE = "pairwise", "Pairwise A/B"
    RANKING = "ranking", "Listwise ranking"
    RATING = "rating", "Likert 1-7"
    ATTRIBUTES = "attributes", "Attributes 0-4 (HelpSteer2)"


PROTOCOLS = (Protocol.PAIRWISE, Protocol.RANKING, Protocol.RATING, Protocol.ATTRIBUTES)
RANK_VS_RATE = "rank_vs_rate"  # the design that puts each annotator in a rating or a ranking arm
PROTOCOLS_HELP = (
    "pairwise: A / B / tie (+ strength, rationale); ranking: order k responses, ties allowed; "
    "rating: Likert 1-7 per response; attributes: HelpSteer2 0-4 per attribute + safety; "
    "rank_vs_rate: the ranking-vs-rating experiment (each annotator in one arm)"
)

# Responses a judgment covers: comparisons need two (pairwise exactly two); a rating may be of one response alone.
MIN_RESPONSES = {Protocol.PAIRWISE: 2, Protocol.RANKING: 2, Protocol.RATING: 1, Protocol.ATTRIBUTES: 1}


def design_for(protocols: set[str]) -> str | None:
    """The campaign design judgments of these protocols come from: one protocol is its own design; ratings next to
    pairwise choices or rankings are the ranking-vs-rating experiment. None when no design holds them."""
    if len(protocols) == 1:
        return next(iter(protocols))
    if Protocol.RATING in protocols and protocols - {Protocol.RATING} <= {Protocol.PAIRWISE, Protocol.RANKING}:
        return RANK_VS_RATE
    return None


CHOICES = ("a", "b", "tie")
ATTRIBUTES = ("helpfulness", "correctness", "coherence", "complexity", "verbosity")  # HelpSteer2
SAFETY = "unsafe"  # HelpSteer2's safety flag: 1 when the response fails safety
ATTRIBUTE_NAMES = (*ATTRIBUTES, SAFETY)
RATING_RANGE = (1, 7)
ATTRIBUTE_RANGE = (0, 4)
STRENGTH_RANGE = (-3, 3)
RATIONALE_MAX_LENGTH = 5000  # characters, in the browser and the API alike

GOLD_THRESHOLD = 0.7  # below this share of right gold answers an annotator is flagged
GOLD_MIN_JUDGMENTS = 3  # fewer gold answers say too little to flag anyone


def gold_is_flagged(n: int, correct: int, *, threshold: float, min_judgments: int) -> bool:
    """The rule shared by the report and the exports that leave flagged annotators out."""
    return n >= min_judgments and correct / n < threshold


# An annotator whose name starts with this is an AI judge (a model-host endpoint, or an outside judge imported
# from a file): its judgments sit beside people's, and human metrics leave them out unless asked.
AI_PREFIX = "ai:"


def is_ai_judge(username: str) -> bool:
    return username.startswith(AI_PREFIX)


# The judgment exchange format (one JSON object a line): keys and the answer keys of each protocol.
EXCHANGE_REQUIRED = ("item", "prompt", "responses", "annotator", "protocol")
EXCHANGE_KEYS = (*EXCHANGE_REQUIRED, "choice", "strength", "ranking", "ratings", "attributes", "rationale",
                 "presented_order", "created_at")
EXCHANGE_ANSWERS = {
    Protocol.PAIRWISE: {"choice", "strength"},
    Protocol.RANKING: {"ranking"},
    Protocol.RATING: {"ratings"},
    Protocol.ATTRIBUTES: {"attributes"},
}
