"""How judgments become verdicts: scores, pairs, majorities, the three most-agreeing annotators, agreement."""

from annotate.selectors.snapshot import CandidateRecord, ItemRecord, JudgmentRecord
from exports.aggregation import item_verdicts, strategy_pairs
from exports.spec import DEFAULTS


def spec(**fields) -> dict:
    return {**DEFAULTS, "format": "dpo", "campaigns": [1], **fields}


def item(*judgments: JudgmentRecord, responses: int = 2, allowed=None) -> ItemRecord:
    candidates = [CandidateRecord(f"r{i}", f"text {i}", f"m{i}", None, allowed is None or i in allowed)
                  for i in range(responses)]
    return ItemRecord(1, 1, "i1", "p1", [{"role": "user", "content": "?"}], candidates, list(judgments))


def pairwise(pk: int, choice: str, strength: int | None = None) -> JudgmentRecord:
    return JudgmentRecord(pk, pk, "pairwise", choice, strength, None, None, None, "")


def ranking(pk: int, *groups: list[str]) -> JudgmentRecord:
    return JudgmentRecord(pk, pk, "ranking", "", None, [list(g) for g in groups], None, None, "")


def rating(pk: int, *scores: int) -> JudgmentRecord:
    return JudgmentRecord(pk, pk, "rating", "", None, None, {f"r{i}": s for i, s in enumerate(scores)}, None, "")


def test_a_pairwise_choice_without_strength_is_a_pair_with_margin_one_and_a_tie_is_no_pair():
    result = item_verdicts(item(pairwise(1, "b"), pairwise(2, "tie")), spec())
    assert [v.pairs for v in result.verdicts] == [[(1, 0, 1.0)], []]


def test_the_strength_is_the_margin_and_its_sign_says_which_response_won():
    result = item_verdicts(item(pairwise(1, "a", -3), pairwise(2, "b", 2)), spec())
    assert [v.pairs for v in result.verdicts] == [[(0, 1, 3.0)], [(1, 0, 2.0)]]


def test_majority_labels_the_pair_by_the_most_votes_and_averages_the_majority_margin():
    result = item_verdicts(item(pairwise(1, "a", -3), pairwise(2, "a", -1), pairwise(3, "b", 2)),
                           spec(aggregate="majority"))
    assert result.verdicts[0].pairs == [(0, 1, 2.0)]
    assert round(result.agreement, 4) == 0.6667


def test_majority_gives_no_pair_when_the_votes_split_evenly_or_most_say_tie():
    even = item_verdicts(item(pairwise(1, "a"), pairwise(2, "b")), spec(aggregate="majority"))
    ties = item_verdicts(item(pairwise(1, "tie"), pairwise(2, "tie"), pairwise(3, "a")), spec(aggregate="majority"))
    assert even.verdicts[0].pairs == [] and ties.verdicts[0].pairs == []


def test_mean_top3_averages_the_three_annotators_who_agree_most_and_ignores_the_outlier():
    judgments = [pairwise(1, "a", -3), pairwise(2, "a", -2), pairwise(3, "a", -2), pairwise(4, "b", 3)]
    result = item_verdicts(item(*judgments), spec(aggregate="mean_top3"))
    verdict = result.verdicts[0]
    assert [j.pk for j in verdict.judgments] == [1, 2, 3]
    assert verdict.pairs == [(0, 1, 7 / 3)]
    assert result.spread == 1.0  # among the three kept


def test_agreement_is_undefined_for_a_single_judgment():
    assert item_verdicts(item(pairwise(1, "a")), spec()).agreement is None


def test_a_ranking_with_ties_makes_pairs_only_between_different_groups():
    result = item_verdicts(item(ranking(1, ["r0"], ["r1", "r2"]), responses=3), spec())
    assert result.verdicts[0].pairs == [(0, 1, 1.0), (0, 2, 1.0)]


def test_pair_strategies_pick_from_the_order_of_scores():
    scores = {0: 7.0, 1: 5.0, 2: 5.0, 3: 1.0}
    assert strategy_pairs(scores, "best_vs_worst", 0) == [(0, 3, 6.0)]
    assert strategy_pairs(scores, "best_vs_rest", 0) == [(0, 1, 2.0), (0, 2, 2.0), (0, 3, 6.0)]
    assert strategy_pairs(scores, "adjacent", 0) == [(0, 1, 2.0), (0, 2, 2.0), (1, 3, 4.0), (2, 3, 4.0)]
    assert len(strategy_pairs(scores, "all", 0)) == 5  # r1 and r2 tie
    assert strategy_pairs(scores, "all", 3) == [(0, 3, 6.0), (1, 3, 4.0), (2, 3, 4.0)]


def test_ratings_become_pairs_by_score_difference_with_a_minimum_margin():
    result = item_verdicts(item(rating(1, 7, 6, 2), responses=3), spec(min_margin=2))
    assert result.verdicts[0].pairs == [(0, 2, 5.0), (1, 2, 4.0)]


def test_responses_of_models_left_out_take_no_part_in_pairs():
    result = item_verdicts(item(rating(1, 7, 6, 2), responses=3, allowed={1, 2}), spec())
    assert result.verdicts[0].pairs == [(1, 2, 4.0)]
    assert item_verdicts(item(pairwise(1, "a"), allowed={0}), spec()).verdicts == []


def test_majority_over_rankings_follows_copeland_order_for_best_vs_worst():
    judgments = [ranking(1, ["r0"], ["r1"], ["r2"]), ranking(2, ["r0"], ["r2"], ["r1"]),
                 ranking(3, ["r1"], ["r0"], ["r2"])]
    result = item_verdicts(item(*judgments, responses=3), spec(aggregate="majority", pairs="best_vs_worst"))
    assert result.verdicts[0].pairs == [(0, 2, 4 / 3)]  # r0 beats both, r2 loses to both: gaps 2, 1, 1
