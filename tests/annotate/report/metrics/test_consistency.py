"""Rating-vs-ranking consistency on a toy campaign small enough to check by hand.

Ratings (items "rate-*", both by rita and rolf) and comparisons (anna's pairwise choices and one ranking) meet
through response ids, whatever items and orders they come in.

    response   rita  rolf  mean        comparison (first, second) -> anna's label   ratings imply  consistent
    r1          6     5    5.5         pair-1 (r2, r1): b                          b (4 < 5.5)    yes
    r2          3     5    4           pair-2 (r3, r4): a                          tie (2 = 2)    no, tie
    r3          2     2    2           pair-3 (r5, r6): tie                        a (7 > 1)      no, tie
    r4          1     3    2           rank-1 [[r5], [r1, r3]]: (r1, r3) tie       a (5.5 > 2)    no, tie
    r5          7     7    7                                    (r1, r5) b         b              yes
    r6          1     1    1                                    (r3, r5) b         b              yes
                                       pair-4 (r7, r1): r7 has no rating -> not compared
"""

import pytest

from annotate.models import ArmMembership
from annotate.report.metrics.report import campaign_report
from tests.annotate.report.metrics.judgments import imported, line, responses

RATINGS = {"rita": {"r1": 6, "r2": 3, "r3": 2, "r4": 1, "r5": 7, "r6": 1},
           "rolf": {"r1": 5, "r2": 5, "r3": 2, "r4": 3, "r5": 7, "r6": 1}}
PROMPT = "Which answer is better?"


@pytest.fixture
def toy(campaign):
    lines = []
    for rater, ratings in RATINGS.items():
        for group in (["r1", "r2"], ["r3", "r4"], ["r5", "r6"]):
            lines.append(line(f"rate-{group[0]}", rater, "rating", responses(*group), PROMPT,
                              ratings={response: ratings[response] for response in group}))
    for item, pair, choice in (("pair-1", ["r2", "r1"], "b"), ("pair-2", ["r3", "r4"], "a"),
                               ("pair-3", ["r5", "r6"], "tie"), ("pair-4", ["r7", "r1"], "a")):
        lines.append(line(item, "anna", "pairwise", responses(*pair), PROMPT, choice=choice))
    lines.append(line("rank-1", "anna", "ranking", responses("r1", "r3", "r5"), PROMPT,
                      ranking=[["r5"], ["r1", "r3"]]))
    return imported(campaign, lines)


def test_consistency_counts_the_comparisons_whose_ratings_imply_the_same_label(toy):
    result = campaign_report(campaign=toy)["rating_vs_ranking"]

    assert result["pairs"] == 6
    assert result["consistency"]["value"] == 0.5 and result["consistency"]["n"] == 6
    assert result["labels"] == ["a", "b", "tie"]
    assert result["confusion"] == [[0, 0, 1],  # anna a:   ratings tie once
                                   [0, 3, 0],  # anna b:   ratings agree three times
                                   [2, 0, 0]]  # anna tie: ratings a twice
    assert result["tie_driven_share"] == 1.0
    assert result["per_annotator"]["anna"]["pairs"] == 6


def test_with_each_annotators_ratings_every_rater_of_both_responses_counts_once(toy):
    result = campaign_report(campaign=toy, ratings="each")["rating_vs_ranking"]

    # rita: pair-1 b (3<6) yes, pair-2 a (2>1) yes, pair-3 a no, (r1,r3) a no, (r1,r5) b yes, (r3,r5) b yes
    # rolf: pair-1 tie (5=5) no, pair-2 b (2<3) no, pair-3 a no, (r1,r3) a no, (r1,r5) b yes, (r3,r5) b yes
    assert result["pairs"] == 12
    assert result["per_rater"]["rita"]["consistency"]["value"] == pytest.approx(4 / 6, abs=1e-4)
    assert result["per_rater"]["rolf"]["consistency"]["value"] == pytest.approx(2 / 6, abs=1e-4)
    assert result["confusion"] == [[1, 1, 0], [0, 5, 1], [4, 0, 0]]
    assert result["tie_driven_share"] == pytest.approx(5 / 6, abs=1e-4)


def test_consistency_is_reported_per_arm_of_the_comparing_annotator(toy, annotator):
    ArmMembership.objects.create(campaign=toy, annotator=annotator, arm=ArmMembership.Arm.RANKING)

    per_arm = campaign_report(campaign=toy)["rating_vs_ranking"]["per_arm"]

    assert list(per_arm) == ["ranking"] and per_arm["ranking"]["pairs"] == 6


def test_without_ratings_nothing_is_compared(campaign):
    imported(campaign, [line("pair-1", "anna", "pairwise", responses("r1", "r2"), choice="a")])

    result = campaign_report(campaign=campaign)["rating_vs_ranking"]

    assert result["pairs"] == 0 and result["consistency"]["value"] is None
    assert result["confusion"] == [[0, 0, 0]] * 3


# --- absolute ratings: each response rated alone, in items of its own -------------------------------------------
#
#     response   rita  rolf  mean      comparison (first, second) -> anna   mean implies   rita          rolf
#     r1          5     6    5.5       pair-1 (r1, r2): a                    a   yes        tie  no       a    yes
#     r2          5     4    4.5       pair-2 (r2, r3): tie                  a   no         a    no       a    no
#     r3          2     2    2         pair-3 (r3, r1): b                    b   yes        b    yes      b    yes
#     r4          4     -    4         pair-5 (r3, r6): tie                  tie yes        tie  yes      tie  yes
#     r6          2     2    2         rank-1 [[r2, r4], [r3]]: (r2, r3) a   a   yes        a    yes      a    yes
#                                                               (r2, r4) tie a   no         a    no       (no r4)
#                                                               (r3, r4) b   b   yes        b    yes      (no r4)
#                                      pair-4 (r5, r1): r5 has no rating -> not compared
#     mean: 5 of 7 agree; rita 4 of 7, rolf 4 of 5: 8 of 12.

ALONE = {"r1": {"rita": 5, "rolf": 6}, "r2": {"rita": 5, "rolf": 4}, "r3": {"rita": 2, "rolf": 2},
         "r4": {"rita": 4}, "r6": {"rita": 2, "rolf": 2}}


@pytest.fixture
def absolute(campaign):
    lines = [line(f"alone-{response}", rater, "rating", responses(response), PROMPT, ratings={response: value})
             for response, raters in ALONE.items() for rater, value in raters.items()]
    for item, pair, choice in (("pair-1", ["r1", "r2"], "a"), ("pair-2", ["r2", "r3"], "tie"),
                               ("pair-3", ["r3", "r1"], "b"), ("pair-4", ["r5", "r1"], "a"),
                               ("pair-5", ["r3", "r6"], "tie")):
        lines.append(line(item, "anna", "pairwise", responses(*pair), PROMPT, choice=choice))
    lines.append(line("rank-1", "anna", "ranking", responses("r2", "r3", "r4"), PROMPT,
                      ranking=[["r2", "r4"], ["r3"]]))
    return imported(campaign, lines)


def test_absolute_ratings_join_comparisons_through_the_mean_rating_of_each_response(absolute):
    result = campaign_report(campaign=absolute)["rating_vs_ranking"]

    assert result["pairs"] == 7
    assert result["consistency"]["value"] == pytest.approx(5 / 7, abs=1e-4)
    assert result["confusion"] == [[2, 0, 0],  # anna a:   ratings a twice
                                   [0, 2, 0],  # anna b:   ratings b twice
                                   [2, 0, 1]]  # anna tie: ratings a twice, tie once (pair-5: 2 = 2)
    assert result["tie_driven_share"] == 1.0


def test_absolute_ratings_per_rater_count_the_pairs_that_rater_rated_both_of(absolute):
    result = campaign_report(campaign=absolute, ratings="each")["rating_vs_ranking"]

    assert result["pairs"] == 12 and result["consistency"]["value"] == pytest.approx(8 / 12, abs=1e-4)
    assert (result["per_rater"]["rita"]["pairs"], result["per_rater"]["rolf"]["pairs"]) == (7, 5)
    assert result["per_rater"]["rita"]["consistency"]["value"] == pytest.approx(4 / 7, abs=1e-4)
    assert result["per_rater"]["rolf"]["consistency"]["value"] == pytest.approx(4 / 5, abs=1e-4)
    assert result["confusion"] == [[3, 0, 1], [0, 3, 0], [3, 0, 2]]
