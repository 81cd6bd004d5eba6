"""Position bias: do annotators favour a response for where it was shown rather than for what it says?

Responses are shown in a random order per assignment (`presented_order`), so without bias the first-shown
response wins half of the decided pairwise judgments, and in a list every shown position gets the same mean rank.
"""

import numpy as np
from scipy.stats import beta, binomtest

from annotate.report.metrics.bootstrap import CONFIDENCE, estimate, rounded


def exact_interval(successes: int, trials: int) -> tuple[float, float]:
    """Clopper-Pearson interval of a proportion, from beta quantiles (what binomtest's "exact" method solves
    for numerically, much slower)."""
    tail = (1 - CONFIDENCE) / 2
    low = beta.ppf(tail, successes, trials - successes + 1) if successes else 0.0
    high = beta.ppf(1 - tail, successes + 1, trials - successes) if successes < trials else 1.0
    return float(low), float(high)


def first_shown_share(chose_first: np.ndarray) -> dict:
    """Share of decided (non-tie) choices for the first-shown response: exact 95% interval and the two-sided
    binomial test against one half."""
    decided, first = len(chose_first), int(np.count_nonzero(chose_first))
    if not decided:
        return {**estimate(None, 0), "first": 0, "p_value": None}
    return {**estimate(first / decided, decided, *exact_interval(first, decided)), "first": first,
            "p_value": rounded(binomtest(first, decided, 0.5).pvalue, 6)}


def mean_by_shown_position(shown: np.ndarray, value: np.ndarray, expected: np.ndarray) -> list[dict]:
    """Mean of `value` (a rank, a rating) by shown position (1 = shown first), next to its mean without bias."""
    rows = []
    for position in np.unique(shown[shown >= 0]):
        at = shown == position
        rows.append({"position": int(position) + 1, "mean": rounded(value[at].mean()),
                     "expected": rounded(expected[at].mean()), "n": int(at.sum())})
    return rows
