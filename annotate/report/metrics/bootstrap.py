"""Cluster bootstrap over items, shared by every statistic of a report.

Each statistic here is a function of sums of per-item contributions (a coincidence matrix, a confusion matrix,
win counts...). Resampling items with replacement then only changes how often each item's contribution is added:
one weight matrix (rounds x items) resamples every statistic with a sparse matrix product, and all statistics of
a report see the same resampled campaigns. Items, not judgments, are resampled because the judgments of one item
are not independent.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import sparse

ROUNDS = 200
SEED = 0  # fixed, so that the command line and the API print the same intervals
CONFIDENCE = 0.95
ROUNDS_PER_BLOCK = 25


@dataclass(frozen=True)
class Statistic:
    """A number (or a vector of them) computed from sums of contributions.

    Contribution i adds `amount[i]` to sum `column[i]` and belongs to item `item[i]`; `combine` maps sums of
    shape (..., width) to values of shape (...) or (..., k).
    """

    item: np.ndarray
    column: np.ndarray
    amount: np.ndarray
    width: int
    combine: Callable[[np.ndarray], np.ndarray]
    n: int  # what the statistic counts (units, pairs, comparisons), reported next to it

    @classmethod
    def from_rows(cls, item: np.ndarray, rows: np.ndarray, combine: Callable, n: int) -> "Statistic":
        """Dense contributions: row i of `rows` (m, d) belongs to item[i]. Zeros add nothing to any sum, so only the
        rest are kept (most of a unit's coincidence matrix is zero)."""
        rows = np.asarray(rows, dtype=np.float64)
        width = rows.shape[1]
        row, column = np.nonzero(rows)
        return cls(item=np.asarray(item)[row], column=column, amount=rows[row, column], width=width, combine=combine,
                   n=n)

    def sums(self) -> np.ndarray:
        return np.bincount(self.column, weights=self.amount, minlength=self.width)

    def value(self):
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.combine(self.sums())


def rounded(value, digits: int = 4):
    """A JSON-safe number: NaN and infinities (an undefined statistic) become None."""
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), digits)


def estimate(value: float | None, n: int, low: float | None = None, high: float | None = None) -> dict:
    return {"value": rounded(value), "n": int(n), "ci_low": rounded(low), "ci_high": rounded(high)}


def percentile_interval(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The percentile interval of values computed in each round, (rounds, ...) -> two arrays of shape (...); a round
    where a value is undefined (NaN or infinite) is left out of that value's interval."""
    values = np.array(values, dtype=np.float64)
    values[~np.isfinite(values)] = np.nan
    tail = (1 - CONFIDENCE) / 2 * 100
    columns = values.reshape(len(values), -1)
    low, high = np.percentile(columns, [tail, 100 - tail], axis=0)
    undefined = np.isnan(columns).any(axis=0)
    if undefined.any():
        low[undefined], high[undefined] = _defined_percentiles(columns[:, undefined], [tail, 100 - tail])
    return low.reshape(values.shape[1:]), high.reshape(values.shape[1:])


def _defined_percentiles(columns: np.ndarray, percents: list[float]) -> np.ndarray:
    """np.nanpercentile(columns, percents, axis=0), the same numbers, for all columns at once: nanpercentile
    goes column by column in Python, most of the intervals' time when many rater pairs have undefined rounds.
    Linear interpolation between the order statistics around (n - 1) * q of each column's n defined values;
    NaN where none is."""
    ordered = np.sort(columns, axis=0)  # NaN last
    defined = np.count_nonzero(~np.isnan(columns), axis=0)
    column = np.arange(columns.shape[1])
    found = []
    for quantile in np.true_divide(percents, 100):
        virtual = (defined - 1) * quantile
        previous = np.floor(virtual)
        gamma = virtual - previous
        previous = np.clip(previous, 0, np.maximum(defined - 1, 0)).astype(np.intp)
        after = np.minimum(previous + 1, np.maximum(defined - 1, 0))
        before, following = ordered[previous, column], ordered[after, column]
        difference = following - before
        value = before + difference * gamma
        found.append(np.where(gamma >= 0.5, following - difference * (1 - gamma), value))  # numpy's _lerp
    return np.array(found)


class ItemResampler:
    def __init__(self, n_items: int, *, rounds: int = ROUNDS, seed: int = SEED):
        self.n_items = n_items
        rng = np.random.default_rng(seed)
        # How often each round draws each item (n draws with replacement), stored items x rounds for the sparse
        # product below. Drawn round by round (all draws at once took four times this array's memory) into a block
        # of rounds, copied in at once: writing one round's column at a time strode across the whole array, three
        # times as slow.
        self.weights = np.empty((n_items, rounds))
        for start in range(0, rounds, ROUNDS_PER_BLOCK):
            block = np.empty((min(ROUNDS_PER_BLOCK, rounds - start), n_items))
            for row in block:
                row[:] = np.bincount(rng.integers(0, max(n_items, 1), size=n_items), minlength=n_items)
            self.weights[:, start:start + len(block)] = block.T

    def sums(self, statistic: Statistic) -> np.ndarray:
        """The statistic's sums in every round: shape (rounds, width)."""
        by_item = sparse.csr_matrix((statistic.amount, (statistic.item, statistic.column)),
                                    shape=(self.n_items, statistic.width))
        return (by_item.T @ self.weights).T

    def interval(self, statistic: Statistic) -> tuple[np.ndarray, np.ndarray]:
        """Percentile interval; a round where the statistic is undefined (no pairs drawn...) is left out."""
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.asarray(statistic.combine(self.sums(statistic)), dtype=np.float64)
        return percentile_interval(values)

    def estimate(self, statistic: Statistic | None, *, value: float | None = None) -> dict:
        """{value, n, ci_low, ci_high}; `value` replaces the statistic's own (a library's point estimate)."""
        if statistic is None or statistic.n == 0:
            return estimate(None, 0)
        low, high = self.interval(statistic)
        return estimate(statistic.value() if value is None else value, statistic.n, low, high)
