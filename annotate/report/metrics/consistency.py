"""Rating-vs-ranking consistency (Bansal, Dang and Grover, ICLR 2024).

A comparison is a pair of responses that a pairwise or ranking judgment ordered ("a": the pair's first response
is better, "b": the second, "tie") and that also have ratings. The ratings imply a label of their own (higher
rating wins, equal ratings a tie); the comparison is consistent when both labels are the same. A rating tie
agrees only with a ranking tie, as in the paper's code.
"""

import numpy as np

from annotate.report.metrics.bootstrap import Statistic

LABELS = ("a", "b", "tie")
A, B, TIE = range(3)


def label_from_scores(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    return np.where(first > second, A, np.where(first < second, B, TIE))


def consistency(item: np.ndarray, ranking_label: np.ndarray, rating_label: np.ndarray) -> Statistic:
    """Share of comparisons whose two labels agree."""
    rows = np.column_stack([ranking_label == rating_label, np.ones(len(item))])
    return Statistic.from_rows(item, rows, lambda s: s[..., 0] / s[..., 1], n=len(item))


def confusion(ranking_label: np.ndarray, rating_label: np.ndarray) -> np.ndarray:
    """3x3 counts: rows the ranking's label, columns the label the ratings imply (order of LABELS)."""
    return np.bincount(ranking_label * 3 + rating_label, minlength=9).reshape(3, 3)


def tie_driven_share(ranking_label: np.ndarray, rating_label: np.ndarray) -> float:
    """Of the inconsistent comparisons, the share where one of the two labels is a tie (NaN if none)."""
    disagree = ranking_label != rating_label
    if not disagree.any():
        return np.nan
    return float(((ranking_label == TIE) | (rating_label == TIE))[disagree].mean())
