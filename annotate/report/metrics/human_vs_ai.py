"""Human vs AI: how each AI judge's pairwise verdicts compare with people's on the same items.

The reference is the human majority of an item: a label (a, b or tie) chosen by more than half of the two or more
people who judged it; items without one are left out. For each judge (an annotator named ai:...): accuracy,
macro-F1 over a/b/tie and Cohen's kappa against that majority (from one confusion matrix per item, so the item
bootstrap resamples all three), Cohen's kappa against each person on their shared items, the judge's position bias
(share of its decided verdicts, in every order and sample, for the response shown first) and its swap-conflict rate
(share of its items whose verdict changed with the order, FairEval's conflict rate, where both orders were run).

Routing (FairEval's human-in-the-loop calibration): items ranked by the entropy of all AI verdicts; sending the most
uncertain share to people and keeping the AI verdict for the rest saves that much human work at the accuracy shown.
"""

import math

import numpy as np

from annotate.protocols import CHOICES
from annotate.report.metrics.bootstrap import ItemResampler, Statistic, estimate
from annotate.report.metrics.data import CampaignData
from annotate.report.metrics.position import first_shown_share

PAIRWISE = 0  # index of pairwise in PROTOCOLS
V = len(CHOICES)
ROUTING_SHARES = tuple(step / 10 for step in range(11))


def _kappa(sums: np.ndarray) -> np.ndarray:
    """Cohen's kappa of (..., V*V) confusion sums (rows: reference, columns: judge)."""
    matrix = sums.reshape(*sums.shape[:-1], V, V)
    total = matrix.sum(axis=(-1, -2))
    observed = np.trace(matrix, axis1=-2, axis2=-1) / total
    expected = (matrix.sum(axis=-1) * matrix.sum(axis=-2)).sum(axis=-1) / total ** 2
    return (observed - expected) / (1 - expected)


def _accuracy(sums: np.ndarray) -> np.ndarray:
    matrix = sums.reshape(*sums.shape[:-1], V, V)
    return np.trace(matrix, axis1=-2, axis2=-1) / matrix.sum(axis=(-1, -2))


def _macro_f1(sums: np.ndarray) -> np.ndarray:
    """Mean F1 over the labels that occur as reference or verdict."""
    matrix = sums.reshape(*sums.shape[:-1], V, V)
    hits = np.diagonal(matrix, axis1=-2, axis2=-1)
    denominator = matrix.sum(axis=-1) + matrix.sum(axis=-2)  # 2TP + FP + FN
    f1 = np.where(denominator > 0, 2 * hits / np.where(denominator > 0, denominator, 1), np.nan)
    return np.nanmean(f1, axis=-1) if f1.ndim > 1 else np.nanmean(f1)


def _share(sums: np.ndarray) -> np.ndarray:
    return sums[..., 0] / sums[..., 1]


def _confusion(item: np.ndarray, reference: np.ndarray, verdict: np.ndarray, combine) -> Statistic:
    return Statistic(item=item, column=reference * V + verdict, amount=np.ones(len(item)), width=V * V,
                     combine=combine, n=len(item))


def human_majority(data: CampaignData, people: np.ndarray) -> np.ndarray:
    """(I,) the label chosen by more than half of the people who judged the item (two or more), else -1."""
    rows = np.flatnonzero(people & (data.protocol == PAIRWISE) & (data.choice >= 0))
    counts = np.zeros((data.item_count, V), np.int64)
    np.add.at(counts, (data.item[rows], data.choice[rows]), 1)
    total, top = counts.sum(axis=1), counts.argmax(axis=1)
    strict = (total >= 2) & (2 * counts.max(axis=1) > total)
    return np.where(strict, top, -1)


def _per_person(data: CampaignData, resampler: ItemResampler, judge_rows: np.ndarray, people_rows: np.ndarray,
                min_shared_units: int) -> dict:
    """Cohen's kappa of the judge against each person, over the items both judged."""
    verdict_of = np.full(data.item_count, -1)
    verdict_of[data.item[judge_rows]] = data.choice[judge_rows]
    found = {}
    for person in np.unique(data.annotator[people_rows]):
        rows = people_rows[(data.annotator[people_rows] == person) & (verdict_of[data.item[people_rows]] >= 0)]
        if not len(rows):
            continue
        items = data.item[rows]
        statistic = _confusion(items, data.choice[rows], verdict_of[items], _kappa)
        found[data.annotators[person]] = (resampler.estimate(statistic) if len(rows) >= min_shared_units
                                          else estimate(None, len(rows)))
    return dict(sorted(found.items()))


def _judge(data: CampaignData, resampler: ItemResampler, majority: np.ndarray, judge: int, people_rows: np.ndarray,
           min_shared_units: int) -> dict:
    rows = np.flatnonzero((data.annotator == judge) & (data.protocol == PAIRWISE) & (data.choice >= 0))
    scored = rows[majority[data.item[rows]] >= 0]
    items, reference, verdict = data.item[scored], majority[data.item[scored]], data.choice[scored]
    confusion = np.zeros((V, V), np.int64)
    np.add.at(confusion, (reference, verdict), 1)
    # Every verdict the judge gave: each order and sample of its runs, else the judgment as it was shown.
    ran = np.isin(rows, data.verdicts[:, 0])
    given = data.verdicts[np.isin(data.verdicts[:, 0], rows)]
    shown_first = np.concatenate([given[:, 1], data.first_shown[rows[~ran]]])
    choices = np.concatenate([given[:, 2], data.choice[rows[~ran]]])
    decided = (shown_first >= 0) & (choices != CHOICES.index("tie"))
    swapped = rows[data.conflict[rows] >= 0]
    conflicts = Statistic.from_rows(data.item[swapped], np.column_stack([data.conflict[swapped],
                                                                         np.ones(len(swapped))]),
                                    _share, n=len(swapped))
    return {
        "judgments": int(len(rows)),
        "items_with_majority": int(len(scored)),
        "accuracy": resampler.estimate(_confusion(items, reference, verdict, _accuracy)),
        "macro_f1": resampler.estimate(_confusion(items, reference, verdict, _macro_f1)),
        "kappa_vs_majority": resampler.estimate(_confusion(items, reference, verdict, _kappa)),
        "kappa_vs_people": _per_person(data, resampler, rows, people_rows, min_shared_units),
        "position_bias": first_shown_share(choices[decided] == shown_first[decided]),
        "swap_conflict_rate": resampler.estimate(conflicts),
        "confusion": confusion.tolist(),
    }


def _routing(data: CampaignData, resampler: ItemResampler, majority: np.ndarray, ai_rows: np.ndarray,
             setting: dict | None) -> dict:
    """Accuracy against the human majority when the most uncertain share of items goes to people (who then give the
    majority label) and the AI verdict stands for the rest, over items with a majority and AI verdicts."""
    ran = ai_rows[~np.isnan(data.entropy[ai_rows])]
    given = data.verdicts[np.isin(data.verdicts[:, 0], ran)]
    counts = np.zeros((data.item_count, V), np.int64)
    np.add.at(counts, (data.item[given[:, 0]], given[:, 2]), 1)
    total = counts.sum(axis=1)
    covered = np.flatnonzero((total > 0) & (majority >= 0))
    if not len(covered):
        return {"items": 0, "curve": [], "setting": None}
    shares = counts[covered] / total[covered, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.nansum(np.where(shares > 0, shares * np.log2(shares), 0), axis=1)
    top = counts[covered].max(axis=1, keepdims=True)
    leaders = counts[covered] == top
    ai_label = np.where(leaders.sum(axis=1) == 1, leaders.argmax(axis=1), CHOICES.index("tie"))  # a draw is a tie
    ai_right = (ai_label == majority[covered]).astype(np.float64)
    ranked = np.lexsort((covered, -entropy))  # most uncertain first, then by item

    def point(to_people: int) -> dict:
        right = ai_right.copy()
        right[ranked[:to_people]] = 1.0  # people's label is the reference itself
        statistic = Statistic.from_rows(covered, np.column_stack([right, np.ones(len(right))]), _share,
                                        n=len(right))
        return {"to_people": to_people, "share_to_people": round(to_people / len(covered), 4),
                "work_saved": round(1 - to_people / len(covered), 4), "accuracy": resampler.estimate(statistic)}

    found = {"items": int(len(covered)),
             "curve": [point(to_people) for to_people in  # few items round several shares to one count
                       sorted({math.ceil(share * len(covered) - 1e-9) for share in ROUTING_SHARES})],
             "setting": None}
    if setting and setting["mode"] != "off":
        threshold = setting["threshold"]
        to_people = (int(np.count_nonzero(entropy >= threshold - 1e-9)) if setting["mode"] == "entropy"
                     else math.ceil(min(threshold, 1.0) * len(covered) - 1e-9))
        found["setting"] = {**setting, **point(to_people)}
    return found


def human_vs_ai(data: CampaignData, resampler: ItemResampler, *, min_shared_units: int,
                routing: dict | None = None) -> dict:
    """The section, from everyone's judgments (`annotators=EVERYONE`). `routing`: the campaign's rule
    {mode, threshold}, whose point on the routing curve is marked."""
    ai = data.annotator_ai
    is_ai = ai[data.annotator] if len(data.annotator) else np.zeros(0, dtype=bool)
    majority = human_majority(data, ~is_ai)
    people_rows = np.flatnonzero(~is_ai & (data.protocol == PAIRWISE) & (data.choice >= 0))
    judges = {data.annotators[judge]: _judge(data, resampler, majority, judge, people_rows, min_shared_units)
              for judge in np.flatnonzero(ai)}
    return {
        "labels": list(CHOICES),
        "items_with_majority": int(np.count_nonzero(majority >= 0)),
        "judges": dict(sorted(judges.items())),
        "routing": _routing(data, resampler, majority, np.flatnonzero(is_ai), routing),
    }
