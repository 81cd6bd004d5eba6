"""Position bias: the share of choices for the response shown first, and mean rank by shown position."""

import pytest

from annotate.report.metrics.report import campaign_report
from tests.annotate.report.metrics.judgments import imported, line, responses

FLIP = {"a": "b", "b": "a", "tie": "tie"}


def pairwise_lines(choices: list[str], *, reverse_labels: bool = False) -> list[str]:
    """anna judges items i0, i1, ...; item i shows x<i>-2 first when i is odd. With `reverse_labels` the items
    list their responses the other way round and the choices follow, so the same response wins."""
    lines = []
    for index, choice in enumerate(choices):
        pair = [f"x{index}-1", f"x{index}-2"]
        shown = pair[::-1] if index % 2 else pair
        listed = pair[::-1] if reverse_labels else pair
        lines.append(line(f"i{index}", "anna", "pairwise", responses(*listed), presented_order=shown,
                          choice=FLIP[choice] if reverse_labels else choice))
    return lines


# nine of ten decided choices go to the response shown first (choice "a" when shown in order, "b" when reversed)
FIRST_NINE_TIMES = ["a", "b", "a", "b", "a", "b", "a", "b", "a", "a", "tie"]


def test_nine_of_ten_choices_for_the_first_shown_response_give_p_0_0215(campaign):
    bias = campaign_report(campaign=imported(campaign, pairwise_lines(FIRST_NINE_TIMES)))["position_bias"]["pairwise"]

    overall = bias["overall"]
    assert (overall["first"], overall["n"], overall["value"]) == (9, 10, 0.9)
    assert overall["p_value"] == pytest.approx(22 / 1024, abs=1e-6)  # two-sided: P(X >= 9) + P(X <= 1)
    assert overall["ci_low"] == pytest.approx(0.5550, abs=1e-4) and overall["ci_high"] == pytest.approx(0.9975,
                                                                                                       abs=1e-4)
    assert bias["tie_share"] == pytest.approx(1 / 11, abs=1e-4)
    assert bias["per_annotator"]["anna"] == overall


def test_flipping_every_choice_mirrors_the_bias(campaign, other_campaign):
    bias = campaign_report(campaign=imported(campaign, pairwise_lines(FIRST_NINE_TIMES)))["position_bias"]
    mirrored = campaign_report(campaign=imported(other_campaign, pairwise_lines(
        [FLIP[choice] for choice in FIRST_NINE_TIMES])))["position_bias"]

    first, second = bias["pairwise"]["overall"], mirrored["pairwise"]["overall"]
    assert second["value"] == pytest.approx(1 - first["value"])
    assert second["p_value"] == first["p_value"]
    assert (second["ci_low"], second["ci_high"]) == pytest.approx((1 - first["ci_high"], 1 - first["ci_low"]))


def test_relabelling_which_response_is_a_leaves_the_bias_as_it_is(campaign, other_campaign):
    bias = campaign_report(campaign=imported(campaign, pairwise_lines(FIRST_NINE_TIMES)))["position_bias"]
    relabelled = campaign_report(campaign=imported(other_campaign, pairwise_lines(
        FIRST_NINE_TIMES, reverse_labels=True)))["position_bias"]

    assert relabelled == bias


def test_listwise_bias_is_the_mean_rank_at_each_shown_position(campaign):
    imported(campaign, [
        line("i1", "anna", "ranking", responses("r1", "r2", "r3"), presented_order=["r1", "r2", "r3"],
             ranking=[["r1"], ["r2"], ["r3"]]),
        # s2 and s3 tie for second place: both get rank 2.5
        line("i2", "anna", "ranking", responses("s1", "s2", "s3"), presented_order=["s3", "s1", "s2"],
             ranking=[["s1"], ["s2", "s3"]]),
        line("i3", "anna", "ranking", responses("t1", "t2", "t3"), ranking=[["t1"], ["t2"], ["t3"]]),  # order unknown
    ])

    listwise = campaign_report(campaign=campaign)["position_bias"]["ranking"]["mean_rank_by_shown_position"]

    assert listwise == [{"position": 1, "mean": 1.75, "expected": 2.0, "n": 2},
                        {"position": 2, "mean": 1.5, "expected": 2.0, "n": 2},
                        {"position": 3, "mean": 2.75, "expected": 2.0, "n": 2}]


def test_judgments_without_a_shown_order_give_no_pairwise_bias(campaign):
    imported(campaign, [line("i1", "anna", "pairwise", responses("r1", "r2"), choice="a")])
    assert "pairwise" not in campaign_report(campaign=campaign)["position_bias"]
