"""Whose preferences: agreement and alignment of groups of annotators that share a profile attribute.

NLPositionality (Santy et al., 2023) asks whose labels a dataset carries by correlating each demographic group's
labels with the dataset's; PAL (Chen et al., 2024) models preferences as a mixture of groups. Here, per profile
attribute (age band, region, a campaign's own question...):

- `partition` forms the groups shown: a value held by fewer than `min_size` of the annotators who contributed to a
  figure is never shown on its own. Such annotators (and those with no value) form "other", shown only when it
  reaches the minimum; when it does not, the smallest shown group joins it until it does or nothing is left, so
  no figure can be subtracted from the all-annotator one to isolate fewer than `min_size` people.
- `within_between`: over every pair of annotators who judged the same unit, the share that gave the same value,
  for pairs inside one group (within), pairs from two different groups (between) and each pair of groups.
- `alignment`: per group, Pearson's r between the group's mean value on a unit and the unit's majority value over
  all annotators (its single most common value; units without one are left out), over the units both have.

Every figure is a `Statistic` of per-unit sums, so the report's item bootstrap gives it an interval.
"""

import numpy as np
from scipy import stats

from annotate.report.metrics.agreement import Codes
from annotate.report.metrics.bootstrap import Statistic

OTHER = "(other)"


def partition(values: list[str | None], min_size: int) -> tuple[list[str], np.ndarray]:
    """Values of the contributing annotators (None: not stated) -> the names of the groups shown, and each
    annotator's group index (-1: in no group shown)."""
    names, counts = np.unique([value for value in values if value is not None], return_counts=True)
    sizes = {str(name): int(count) for name, count in zip(names, counts, strict=True) if count >= min_size}
    remainder = len(values) - sum(sizes.values())
    while 0 < remainder < min_size and sizes:
        smallest = min(sizes, key=lambda name: (sizes[name], name))
        remainder += sizes.pop(smallest)
    if not sizes:  # "other" alone would be everyone: no breakdown at all
        return [], np.full(len(values), -1, dtype=np.int64)
    shown = sorted(sizes)
    index = {name: position for position, name in enumerate(shown)}
    if remainder >= min_size:
        shown.append(OTHER)
    other = len(shown) - 1 if remainder >= min_size else -1
    return shown, np.array([index.get(value, other) for value in values], dtype=np.int64)


def _pairs_by_unit(codes: Codes) -> tuple[np.ndarray, ...]:
    """Every two rows of one unit: (unit, first row, second row)."""
    order = np.lexsort((codes.rater, codes.unit))
    unit = codes.unit[order]
    parts = []
    for offset in range(1, len(unit)):
        same = np.flatnonzero(unit[:-offset] == unit[offset:])
        if not len(same):
            break
        parts.append((unit[same], order[same], order[same + offset]))
    if not parts:
        return tuple(np.zeros(0, np.int64) for _ in range(3))
    return tuple(np.concatenate(column) for column in zip(*parts, strict=True))


def within_between(codes: Codes, group: np.ndarray, n_groups: int) -> Statistic:
    """`group`: each row's group (-1: none; its pairs are left out). The value is a vector: the (n_groups x n_groups)
    agreement shares of pairs of groups (row-major), then within, between and within minus between."""
    unit, first, second = _pairs_by_unit(codes)
    g, h = group[first], group[second]
    keep = (g >= 0) & (h >= 0)
    unit, g, h = unit[keep], g[keep], h[keep]
    agree = (codes.value[first[keep]] == codes.value[second[keep]]).astype(np.float64)
    cells = n_groups * n_groups
    column = np.concatenate([g * n_groups + h, h * n_groups + g, cells + g * n_groups + h, cells + h * n_groups + g])
    amount = np.concatenate([agree, agree, np.ones(len(agree)), np.ones(len(agree))])
    diagonal = np.eye(n_groups, dtype=bool).ravel()

    def combine(sums: np.ndarray) -> np.ndarray:
        agreeing, pairs = sums[..., :cells], sums[..., cells:]
        shares = agreeing / pairs
        within = agreeing[..., diagonal].sum(axis=-1) / pairs[..., diagonal].sum(axis=-1)
        between = agreeing[..., ~diagonal].sum(axis=-1) / pairs[..., ~diagonal].sum(axis=-1)
        return np.concatenate([shares, np.stack([within, between, within - between], axis=-1)], axis=-1)

    return Statistic(item=np.tile(codes.unit_item[unit], 4), column=column, amount=amount, width=2 * cells,
                     combine=combine, n=len(agree))


def majority(codes: Codes) -> np.ndarray:
    """Each unit's single most common value, -1 where two values tie for it."""
    counts = codes.value_counts()
    top = counts.max(axis=1)
    single = (counts == top[:, None]).sum(axis=1) == 1
    return np.where(single & (top > 0), counts.argmax(axis=1), -1)


def alignment(codes: Codes, scale: np.ndarray, group: np.ndarray, n_groups: int) -> Statistic:
    """Pearson's r per group between its mean scaled value on a unit and the unit's majority value (`scale` maps
    codes to numbers: pairwise a/b/tie -> 1/0/0.5). The value is a vector of n_groups correlations."""
    label = majority(codes)
    rows = np.flatnonzero((group >= 0) & (label[codes.unit] >= 0))
    keys, cell = np.unique(group[rows] * codes.n_units + codes.unit[rows], return_inverse=True)
    means = np.bincount(cell, weights=scale[codes.value[rows]]) / np.bincount(cell)
    which, unit = keys // codes.n_units, keys % codes.n_units
    x, y = means, scale[label[unit]]
    parts = np.column_stack([np.ones(len(x)), x, y, x * x, y * y, x * y])
    column = which[:, None] * 6 + np.arange(6)

    def combine(sums: np.ndarray) -> np.ndarray:
        s = sums.reshape(*sums.shape[:-1], n_groups, 6)
        n, sx, sy, sxx, syy, sxy = (s[..., k] for k in range(6))
        return (n * sxy - sx * sy) / np.sqrt((n * sxx - sx * sx) * (n * syy - sy * sy))

    return Statistic(item=np.repeat(codes.unit_item[unit], 6), column=column.ravel(), amount=parts.ravel(),
                     width=6 * n_groups, combine=combine, n=len(x))


def alignment_units(statistic: Statistic, n_groups: int) -> np.ndarray:
    """The units behind each group's correlation."""
    return statistic.sums().reshape(n_groups, 6)[:, 0].astype(np.int64)


def correlation_p_value(r: float, n: int) -> float:
    """Two-sided p-value of Pearson's r against no correlation (t test with n - 2 degrees of freedom)."""
    if n < 3 or not np.isfinite(r):
        return np.nan
    if abs(r) >= 1:
        return 0.0
    t = r * np.sqrt((n - 2) / (1 - r * r))
    return float(2 * stats.t.sf(abs(t), n - 2))
