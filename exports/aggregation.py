"""From an item's judgments to verdicts: scores per response, and the pairs they decide.

Every protocol becomes a score per response, higher = better:
- pairwise: A scores 0 and B scores the strength (-3..3, negative = A better), or -1/0/+1 without a strength;
- ranking: minus the group index (best group 0, so 0, -1, -2...); tied responses share a score;
- rating: the Likert rating; attributes: the weighted sum of the attributes named in `score_weights`.

A pair (better, worse) needs a score gap above 0 and at least `min_margin`: tied responses never make a pair, as a
pair needs a winner. Its margin is the gap. The pair strategy picks which pairs of a list to keep (all, best vs
worst, best vs rest, adjacent levels); when several responses share the best or worst score, each of them pairs.

Aggregation per item:
- none: one verdict per judgment;
- majority: each pair of responses is labelled by the majority of the judgments' votes (better / worse / tie;
  no strict majority or a tie majority: no pair), its margin the mean gap of the majority; the pair strategy
  follows the order of Copeland scores (majority wins minus losses);
- mean_top3: the three judgments whose score vectors are closest (least summed squared distance) are averaged,
  as HelpSteer2 keeps the three most-agreeing annotators.

Item agreement is the share of judgments that agree with the majority vote of a pair of responses, averaged over
the pairs (for two responses: the share agreeing with the majority choice); undefined with fewer than two
judgments. Spread is the largest range of one response's scores over the judgments a verdict uses.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

from annotate.protocols import Protocol
from annotate.selectors.snapshot import ItemRecord, JudgmentRecord

CHOICE_SCORE = {"a": -1.0, "b": 1.0, "tie": 0.0}
TOP = 3
MOST_AGREEING_POOL = 12  # above this many judgments, the 3 are sought among the 12 closest to the median
EPSILON = 1e-9


@dataclass
class Verdict:
    judgments: list[JudgmentRecord]
    scores: dict[int, float]  # candidate position -> score, allowed candidates only
    pairs: list[tuple[int, int, float]]  # (better position, worse position, margin)
    values: dict[int, dict[str, float]] | None = None  # position -> attribute (or rating) values


@dataclass
class ItemVerdicts:
    agreement: float | None
    spread: float
    verdicts: list[Verdict]


def judgment_scores(judgment: JudgmentRecord, ids: list[str], weights: dict[str, float]) -> tuple[float, ...]:
    """Scores of every candidate position (canonical order)."""
    if judgment.protocol == Protocol.PAIRWISE:
        b = float(judgment.strength) if judgment.strength is not None else CHOICE_SCORE[judgment.choice]
        return 0.0, b
    if judgment.protocol == Protocol.RANKING:
        group_of = {response: -float(index) for index, group in enumerate(judgment.ranking) for response in group}
        return tuple(group_of[response] for response in ids)
    if judgment.protocol == Protocol.RATING:
        return tuple(float(judgment.ratings[response]) for response in ids)
    return tuple(sum(weight * judgment.attributes[response][name] for name, weight in weights.items())
                 for response in ids)


def judgment_values(judgment: JudgmentRecord, ids: list[str], attributes: tuple[str, ...]) -> list[dict]:
    if judgment.protocol == Protocol.RATING:
        return [{"rating": float(judgment.ratings[response])} for response in ids]
    return [{name: float(judgment.attributes[response].get(name, 0)) for name in attributes} for response in ids]


def decided(gap: float, min_margin: float) -> bool:
    return gap > EPSILON and gap >= min_margin - EPSILON


def strategy_pairs(scores: dict[int, float], strategy: str, min_margin: float) -> list[tuple[int, int, float]]:
    positions = sorted(scores)
    if len(positions) == 2:  # every strategy gives the one pair (most items are pairs: the short way is worth it)
        i, j = positions
        gap = scores[i] - scores[j]
        return [(i, j, gap)] if decided(gap, min_margin) else [(j, i, -gap)] if decided(-gap, min_margin) else []
    if strategy == "all":
        pairs = []
        for i, j in combinations(positions, 2):
            if decided(scores[i] - scores[j], min_margin):
                pairs.append((i, j, scores[i] - scores[j]))
            elif decided(scores[j] - scores[i], min_margin):
                pairs.append((j, i, scores[j] - scores[i]))
        return pairs
    levels = sorted(set(scores.values()), reverse=True)
    at = {level: [p for p in positions if scores[p] == level] for level in levels}
    if strategy == "adjacent":
        steps = zip(levels, levels[1:], strict=False)
    elif strategy == "best_vs_worst":
        steps = [(levels[0], levels[-1])]
    else:  # best_vs_rest
        steps = [(levels[0], lower) for lower in levels[1:]]
    return [(b, w, high - low) for high, low in steps if decided(high - low, min_margin)
            for b in at[high] for w in at[low]]


def _pair_majorities(vectors: Sequence[Sequence[float]], positions: Sequence[int], min_margin: float):
    """(i, j) -> (majority vote of i over j, or None without a strict majority; its share; mean |gap| of the
    majority). Runs once per item of every export, hence plain lists and `decided` written out."""
    result = {}
    least = min_margin - EPSILON  # decided(gap), written out
    for i, j in combinations(positions, 2):
        gaps = [vector[i] - vector[j] for vector in vectors]
        votes = [1 if gap >= least and gap > EPSILON else -1 if -gap >= least and -gap > EPSILON else 0
                 for gap in gaps]
        # the most frequent vote, a tie between counts going to the larger vote; no majority if two share the top
        (count, top), (second, _), _ = sorted([(votes.count(1), 1), (votes.count(0), 0), (votes.count(-1), -1)],
                                              reverse=True)
        agreeing = [abs(gap) for gap, vote in zip(gaps, votes, strict=True) if vote == top]
        result[i, j] = (top if second < count else None, count / len(gaps), sum(agreeing) / len(agreeing))
    return result


def _most_agreeing(vectors: Sequence[Sequence[float]], positions: Sequence[int]) -> list[int]:
    """Indices (ascending) of the TOP vectors with the least summed squared distance to each other."""
    if len(vectors) <= TOP:
        return list(range(len(vectors)))

    def distance(a: int, b: int) -> float:
        return sum((vectors[a][p] - vectors[b][p]) ** 2 for p in positions)

    pool = list(range(len(vectors)))
    if len(pool) > MOST_AGREEING_POOL:
        median = {p: sorted(v[p] for v in vectors)[len(vectors) // 2] for p in positions}
        pool = sorted(sorted(pool, key=lambda k: sum((vectors[k][p] - median[p]) ** 2 for p in positions))
                      [:MOST_AGREEING_POOL])
    return list(min(combinations(pool, TOP), key=lambda trio: sum(distance(a, b) for a, b in combinations(trio, 2))))


def _spread(vectors: Sequence[Sequence[float]], positions: Sequence[int]) -> float:
    spread = 0.0
    for p in positions:
        column = [v[p] for v in vectors]
        spread = max(spread, max(column) - min(column))
    return spread


@dataclass(frozen=True)
class _Decision:
    """What an item's score vectors decide, whoever made them: shared by every item with the same vectors."""
    agreement: float | None
    spread: float
    verdicts: tuple[tuple[tuple[int, ...], dict[int, float], list[tuple[int, int, float]]], ...]  # (judgments
    # by index, scores, pairs) per verdict; read only, as items share them


@lru_cache(maxsize=1 << 14)
def _decision(vectors: tuple[tuple[float, ...], ...], positions: tuple[int, ...], aggregate: str, strategy: str,
              min_margin: float) -> _Decision:
    """The verdicts of score vectors under an aggregation. A pure function of few distinct inputs (three pairwise
    judgments of 7 strengths make 343), so it is remembered: at a million judgments most items find theirs made."""
    majorities = _pair_majorities(vectors, positions, min_margin)
    agreement = sum(share for _, share, _ in majorities.values()) / len(majorities) if len(vectors) >= 2 else None

    if aggregate == "none":
        verdicts = []
        for k, vector in enumerate(vectors):
            scores = {p: vector[p] for p in positions}
            verdicts.append(((k,), scores, strategy_pairs(scores, strategy, min_margin)))
        return _Decision(agreement, _spread(vectors, positions), tuple(verdicts))

    if aggregate == "mean_top3":
        chosen = tuple(_most_agreeing(vectors, positions))
        scores = {p: sum(vectors[k][p] for k in chosen) / len(chosen) for p in positions}
        return _Decision(agreement, _spread([vectors[k] for k in chosen], positions),
                         ((chosen, scores, strategy_pairs(scores, strategy, min_margin)),))

    # majority
    copeland = {p: 0.0 for p in positions}
    for (i, j), (vote, _, _) in majorities.items():
        if vote:
            copeland[i] += vote
            copeland[j] -= vote
    wanted = combinations(positions, 2) if strategy == "all" else [(b, w) for b, w, _ in
                                                                    strategy_pairs(copeland, strategy, 0.0)]
    pairs = []
    for i, j in wanted:
        vote, _, margin = majorities[min(i, j), max(i, j)]
        if vote:
            winner_first = (vote == 1) == (i < j)
            pairs.append((i, j, margin) if winner_first else (j, i, margin))
    return _Decision(agreement, _spread(vectors, positions), ((tuple(range(len(vectors))), copeland, pairs),))


def item_verdicts(item: ItemRecord, spec: dict, *, attributes: tuple[str, ...] = ()) -> ItemVerdicts:
    """The item's verdicts under the spec's aggregation; `attributes` asks for per-response values too."""
    ids = [candidate.id for candidate in item.candidates]
    positions = tuple(p for p, candidate in enumerate(item.candidates) if candidate.allowed)
    judgments = item.judgments
    if len(positions) < 2:
        return ItemVerdicts(agreement=None, spread=0.0, verdicts=[])
    decision = _decision(tuple(judgment_scores(j, ids, spec["score_weights"]) for j in judgments), positions,
                         spec["aggregate"], spec["pairs"], spec["min_margin"])
    values = [judgment_values(j, ids, attributes) for j in judgments] if attributes else None
    verdicts = []
    for chosen, scores, pairs in decision.verdicts:
        means = None
        if values:  # the mean of the chosen judgments' values (one judgment: its own)
            names = values[chosen[0]][positions[0]].keys()
            means = {p: {name: round(sum(values[k][p][name] for k in chosen) / len(chosen), 4) for name in names}
                     for p in positions}
        verdicts.append(Verdict([judgments[k] for k in chosen], scores, pairs, means))
    return ItemVerdicts(decision.agreement, decision.spread, verdicts)
