"""Inter-annotator agreement over reliability data in long form: one coded value per (unit, rater).

A unit is what several annotators judged: an item (pairwise choice) or one response of an item (its rating, an
attribute, its place in a ranking). Only units with values from two or more raters count. Values are codes
0..V-1 into an ordered value domain.

Every measure is a `Statistic`, a function of sums over units, so that the item bootstrap can resample it:
- percent agreement: mean over units of the share of agreeing rater pairs (Fleiss' P-bar);
- Fleiss' kappa, generalised to a varying number of raters per unit (P-bar against pooled category shares);
- Krippendorff's alpha from the coincidence matrix (point estimate from the `krippendorff` library);
- Cohen's kappa per rater pair, unweighted or quadratic-weighted, and a pooled quadratic kappa over all pairs;
- Kendall's tau-b and Spearman's rho between two rankings of the same item.
"""

from dataclasses import dataclass

import krippendorff
import numpy as np

from annotate.report.metrics.bootstrap import Statistic

NOMINAL, ORDINAL = "nominal", "ordinal"
MIN_SHARED_UNITS = 10  # a rater pair needs this many common units for Cohen's kappa
PAIRS_PER_BATCH = 256  # rater pairs resampled together: bounds the (rounds x pairs x V^2) array


@dataclass(frozen=True)
class Codes:
    unit: np.ndarray  # (m,) unit index, 0..U-1
    rater: np.ndarray  # (m,) rater index
    value: np.ndarray  # (m,) code, 0..V-1
    unit_item: np.ndarray  # (U,) the item each unit belongs to
    n_values: int

    @property
    def n_units(self) -> int:
        return len(self.unit_item)

    def value_counts(self) -> np.ndarray:
        """(U, V): how many raters gave each value to each unit."""
        flat = np.bincount(self.unit * self.n_values + self.value, minlength=self.n_units * self.n_values)
        return flat.reshape(self.n_units, self.n_values)


def _pairable(codes: Codes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Value counts, rater counts and items of the units with two or more values."""
    counts = codes.value_counts()
    raters = counts.sum(axis=1)
    keep = raters >= 2
    return counts[keep].astype(np.float64), raters[keep].astype(np.float64), codes.unit_item[keep]


def _agreeing_pair_share(counts: np.ndarray, raters: np.ndarray) -> np.ndarray:
    return (counts * (counts - 1)).sum(axis=1) / (raters * (raters - 1))


def percent_agreement(codes: Codes) -> Statistic:
    counts, raters, items = _pairable(codes)
    rows = np.column_stack([_agreeing_pair_share(counts, raters), np.ones(len(items))])
    return Statistic.from_rows(items, rows, lambda s: s[..., 0] / s[..., 1], n=len(items))


def fleiss_kappa(codes: Codes) -> Statistic:
    counts, raters, items = _pairable(codes)
    rows = np.column_stack([_agreeing_pair_share(counts, raters), np.ones(len(items)), counts, raters])

    def combine(s: np.ndarray) -> np.ndarray:
        observed = s[..., 0] / s[..., 1]
        shares = s[..., 2:-1] / s[..., -1:]
        expected = (shares ** 2).sum(axis=-1)
        return (observed - expected) / (1 - expected)

    return Statistic.from_rows(items, rows, combine, n=len(items))


def _ordinal_distances(marginals: np.ndarray) -> np.ndarray:
    """Krippendorff's ordinal metric: (sum of marginals from c to k, minus half of both ends) squared."""
    cumulative = np.cumsum(marginals, axis=-1)
    codes = np.arange(marginals.shape[-1])
    low, high = np.minimum.outer(codes, codes), np.maximum.outer(codes, codes)
    between = cumulative[..., high] - cumulative[..., low] + marginals[..., low]
    return (between - (marginals[..., low] + marginals[..., high]) / 2) ** 2


def _alpha_from_coincidences(o: np.ndarray, level: str) -> np.ndarray:
    marginals = o.sum(axis=-1)
    total = marginals.sum(axis=-1)
    size = o.shape[-1]
    distances = np.broadcast_to(1 - np.eye(size), o.shape) if level == NOMINAL else _ordinal_distances(marginals)
    observed = (o * distances).sum(axis=(-2, -1))
    expected = (marginals[..., :, None] * marginals[..., None, :] * distances).sum(axis=(-2, -1))
    return 1 - (total - 1) * observed / expected


def krippendorff_alpha(codes: Codes, level: str) -> tuple[Statistic, float]:
    """The statistic (sums of per-unit coincidences) and the library's point estimate."""
    counts, raters, items = _pairable(codes)
    size = codes.n_values
    coincidences = (counts[:, :, None] * counts[:, None, :] - counts[:, :, None] * np.eye(size)) \
        / (raters - 1)[:, None, None]
    statistic = Statistic.from_rows(
        items, coincidences.reshape(len(items), size * size),
        lambda s: _alpha_from_coincidences(s.reshape(*s.shape[:-1], size, size), level), n=len(items))
    if not len(items) or np.count_nonzero(counts.sum(axis=0)) < 2:
        return statistic, np.nan  # one value only: no variation to agree on
    value = krippendorff.alpha(value_counts=counts, value_domain=np.arange(size), level_of_measurement=level)
    return statistic, float(value)


def rater_pairs(codes: Codes) -> tuple[np.ndarray, ...]:
    """Every pair of raters on a unit: (unit, first rater, second rater, first value, second value), the first
    rater being the one with the lower index."""
    order = np.lexsort((codes.rater, codes.unit))
    unit, rater, value = codes.unit[order], codes.rater[order], codes.value[order]
    parts = []
    for offset in range(1, len(unit)):
        same = unit[:-offset] == unit[offset:]
        if not same.any():
            break
        first = np.flatnonzero(same)
        second = first + offset
        parts.append((unit[first], rater[first], rater[second], value[first], value[second]))
    if not parts:
        return tuple(np.zeros(0, dtype=np.int64) for _ in range(5))
    return tuple(np.concatenate(column) for column in zip(*parts, strict=True))


def disagreement_weights(size: int, weighting: str) -> np.ndarray:
    codes = np.arange(size)
    if weighting == "quadratic":
        return (codes[:, None] - codes[None, :]).astype(np.float64) ** 2
    return 1 - np.eye(size)


def _kappa_from_confusion(confusion: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """1 - observed / chance-expected weighted disagreement; the expected table is the product of the margins."""
    total = confusion.sum(axis=(-2, -1))
    observed = np.einsum("...ij,ij->...", confusion, weights) / total
    first, second = confusion.sum(axis=-1) / total[..., None], confusion.sum(axis=-2) / total[..., None]
    return 1 - observed / np.einsum("...i,ij,...j->...", first, weights, second)


def cohen_kappas(codes: Codes, *, weighting: str = NOMINAL, min_units: int = MIN_SHARED_UNITS) \
        -> list[tuple[list[tuple[int, int]], np.ndarray, Statistic]]:
    """Cohen's kappa of every rater pair with at least `min_units` common units, in batches of pairs:
    (the batch's rater pairs, their common units, a statistic whose value is one kappa per pair)."""
    unit, first, second, first_value, second_value = rater_pairs(codes)
    size = codes.n_values
    raters = int(codes.rater.max()) + 1 if len(codes.rater) else 1
    # one integer per pair: a row-wise unique (axis=0) sorted the pairs as bytes, several times slower
    keys, pair_index, shared = np.unique(first * raters + second, return_inverse=True, return_counts=True)
    pair_keys = np.column_stack([keys // raters, keys % raters])
    kept = np.flatnonzero(shared >= min_units)
    batches = []
    for start in range(0, len(kept), PAIRS_PER_BATCH):
        batch = kept[start:start + PAIRS_PER_BATCH]
        slot = np.full(len(pair_keys), -1)
        slot[batch] = np.arange(len(batch))
        rows = np.flatnonzero(slot[pair_index] >= 0)
        column = slot[pair_index[rows]] * size * size + first_value[rows] * size + second_value[rows]
        statistic = Statistic(
            item=codes.unit_item[unit[rows]], column=column, amount=np.ones(len(rows)), width=len(batch) * size * size,
            combine=pair_kappas(len(batch), size, weighting),
            n=int(shared[batch].sum()),
        )
        batches.append(([tuple(pair_keys[p]) for p in batch], shared[batch], statistic))
    return batches


def pair_kappas(pairs: int, size: int, weighting: str):
    """Sums of a batch of `pairs` confusion matrices (size x size each) -> one kappa per pair. The sums do not
    depend on the weighting, so one resampling serves both kappas of a pair."""
    weights = disagreement_weights(size, weighting)
    return lambda s: _kappa_from_confusion(s.reshape(*s.shape[:-1], pairs, size, size), weights)


def pooled_weighted_kappa(codes: Codes, *, weighting: str = "quadratic") -> Statistic:
    """Weighted kappa over all rater pairs of all units at once. Each pair counts in both orders, so the result
    does not depend on which rater is called first."""
    unit, _, _, first_value, second_value = rater_pairs(codes)
    size = codes.n_values
    items = codes.unit_item[np.concatenate([unit, unit])]
    column = np.concatenate([first_value * size + second_value, second_value * size + first_value])
    weights = disagreement_weights(size, weighting)
    return Statistic(item=items, column=column, amount=np.ones(len(column)), width=size * size,
                     combine=lambda s: _kappa_from_confusion(s.reshape(*s.shape[:-1], size, size), weights),
                     n=len(unit))


def average_ranks(groups: np.ndarray) -> np.ndarray:
    """Rank 1 = best; tied responses share the mean of the ranks they span."""
    better = (groups[:, None, :] < groups[:, :, None]).sum(axis=2)
    tied = (groups[:, None, :] == groups[:, :, None]).sum(axis=2)
    return better + (tied + 1) / 2


def rank_correlations(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kendall's tau-b and Spearman's rho between rankings row by row. Rankings are (n, k) arrays of group
    indices (0 = best group); NaN where a ranking puts everything in one group."""
    upper = np.triu_indices(first.shape[1], k=1)
    sign_first = np.sign(first[:, upper[0]] - first[:, upper[1]])
    sign_second = np.sign(second[:, upper[0]] - second[:, upper[1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = (sign_first * sign_second).sum(axis=1) / np.sqrt(
            (sign_first ** 2).sum(axis=1) * (sign_second ** 2).sum(axis=1))
        ranks_first = average_ranks(first)
        ranks_second = average_ranks(second)
        centred_first = ranks_first - ranks_first.mean(axis=1, keepdims=True)
        centred_second = ranks_second - ranks_second.mean(axis=1, keepdims=True)
        rho = (centred_first * centred_second).sum(axis=1) / np.sqrt(
            (centred_first ** 2).sum(axis=1) * (centred_second ** 2).sum(axis=1))
    return tau, rho


def mean_statistic(item: np.ndarray, values: np.ndarray) -> Statistic:
    """The mean of defined values, resampled by item."""
    defined = np.isfinite(values)
    rows = np.column_stack([values[defined], np.ones(defined.sum())])
    return Statistic.from_rows(item[defined], rows, lambda s: s[..., 0] / s[..., 1], n=int(defined.sum()))
