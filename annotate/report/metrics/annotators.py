"""Per-annotator quality: agreement with the majority of the others, and Chatbot Arena's sequential outlier test.

The outlier test (FastChat `elo_analysis.outlier_detect`) follows each annotator's decided battles in the order
they were judged. A vote gets two p-values against all decided votes on the same pair of models: how rare a vote
this low is, and how rare one this high. The products of 1/(2p) over the votes are betting scores that stay
small for an annotator who votes like everyone else; one passing 1/alpha flags the annotator as careless or
adversarial. Only annotators with enough decided votes are tested, on their first `max_votes`.
"""

import numpy as np

OUTLIER_ALPHA = 0.05
OUTLIER_MIN_VOTES = 5
OUTLIER_MAX_VOTES = 100


def majority_agreement(unit: np.ndarray, value: np.ndarray, n_units: int, n_values: int) -> np.ndarray:
    """For each (unit, value) row: 1 if the value is the single most common value of the unit's other raters,
    0 if another value is, NaN when the others have no single most common value (or there are none)."""
    counts = np.bincount(unit * n_values + value, minlength=n_units * n_values).reshape(n_units, n_values)
    others = counts[unit].copy()
    others[np.arange(len(unit)), value] -= 1
    top = others.max(axis=1)
    single = (others == top[:, None]).sum(axis=1) == 1
    agrees = (others[np.arange(len(unit)), value] == top).astype(np.float64)
    agrees[~single | (top == 0)] = np.nan
    return agrees


def sequential_outliers(rater: np.ndarray, pair: np.ndarray, vote: np.ndarray, n_raters: int, *,
                        alpha: float = OUTLIER_ALPHA, min_votes: int = OUTLIER_MIN_VOTES,
                        max_votes: int = OUTLIER_MAX_VOTES) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decided votes (1: the pair's first model won, 0: it lost) in the order they were cast, with the rater and
    the model pair of each. Returns per rater: flagged, votes tested, largest betting score reached."""
    pairs = np.unique(pair, return_inverse=True)[1]
    wins = np.bincount(pairs, weights=vote)
    totals = np.bincount(pairs).astype(np.float64)
    share_won = wins[pairs] / totals[pairs]
    p_low = np.where(vote == 1, 1.0, 1 - share_won)  # share of votes <= this one
    p_high = np.where(vote == 1, share_won, 1.0)  # share of votes >= this one
    order = np.argsort(rater, kind="stable")  # the votes come in judging order: keep it within each rater
    rater, p_low, p_high = rater[order], p_low[order], p_high[order]
    starts = np.searchsorted(rater, np.arange(n_raters))
    counts = np.bincount(rater, minlength=n_raters)
    rank = np.arange(len(rater)) - starts[rater]
    tested = (rank < max_votes) & (counts[rater] >= min_votes)
    flagged = np.zeros(n_raters, dtype=bool)
    evidence = np.full(n_raters, np.nan)
    for p in (p_low, p_high):
        log_bet = np.where(tested, -np.log(2 * p), 0.0)
        running = np.cumsum(log_bet)
        running -= np.concatenate([[0.0], running])[starts[rater]]  # restart the sum at each rater
        best = np.full(n_raters, -np.inf)
        np.maximum.at(best, rater[tested], running[tested])
        flagged |= best > np.log(1 / alpha)
        evidence = np.fmax(evidence, np.exp(np.where(np.isfinite(best), best, np.nan)))
    return flagged, np.minimum(counts, max_votes) * (counts >= min_votes), evidence
