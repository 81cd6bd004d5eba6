"""Annotator statistics, gold accuracy and the sequential outlier test, on judgments made through the services."""

import numpy as np
import pytest

from annotate.models import Item
from annotate.report.metrics.annotators import majority_agreement
from annotate.report.metrics.report import campaign_report
from annotate.services.assignments import assignment_next, assignment_skip, judgment_submit
from tests.annotate.report.metrics.judgments import imported, line, responses
from tests.factories import campaign_with_items


def judge(campaign, annotator, choice: str, time_on_task_ms: int | None = None):
    assignment = assignment_next(campaign=campaign, annotator=annotator)
    return judgment_submit(assignment_id=assignment.pk, annotator=annotator, answer={"choice": choice},
                           time_on_task_ms=time_on_task_ms)[0]


def test_each_annotator_gets_judgments_skip_rate_median_time_and_agreement_with_the_others(
        manager, annotator, other_annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator, other_annotator], prompts=3, overlap=2)
    judge(campaign, annotator, "a", 4000)  # items come in id order: anna judges items 1 and 2, skips item 3
    judge(campaign, annotator, "a", 6000)
    assignment_skip(assignment_id=assignment_next(campaign=campaign, annotator=annotator).pk, annotator=annotator,
                    reason="off-topic")
    for choice in ("a", "b", "a"):
        judge(campaign, other_annotator, choice, 1000)

    stats = campaign_report(campaign=campaign)["annotators"]

    anna, otto = stats["anna"], stats["otto"]
    assert (anna["judgments"], anna["skipped"], anna["skip_rate"]) == (2, 1, pytest.approx(1 / 3, abs=1e-4))
    assert anna["median_time_on_task_ms"] == 5000 and otto["median_time_on_task_ms"] == 1000
    # item 1: both "a"; item 2: "a" against "b"; item 3 was judged by otto alone
    assert anna["majority_agreement"]["value"] == 0.5 and anna["majority_agreement"]["n"] == 2
    assert otto["majority_agreement"]["value"] == 0.5 and otto["majority_agreement"]["n"] == 2
    assert (otto["judgments"], otto["skip_rate"]) == (3, 0.0)


def test_the_majority_is_the_single_most_common_value_of_the_other_raters():
    # unit 0 (a, a, b): each a sees the others {a, b}, no single most common value; b sees {a, a} and disagrees.
    # unit 1 (a, b): each sees the other's different value.
    agrees = majority_agreement(unit=np.array([0, 0, 0, 1, 1]), value=np.array([0, 0, 1, 0, 1]), n_units=2,
                                n_values=2)
    np.testing.assert_array_equal(agrees, [np.nan, np.nan, 0, 0, 0])


def test_annotators_below_the_gold_threshold_are_flagged(manager, annotator, other_annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator, other_annotator], prompts=4, overlap=1,
                                   gold_rate=1.0)
    Item.objects.filter(campaign=campaign).update(is_gold=True, gold={"choice": "a"})
    for choice in ("b", "b", "a", "b"):
        judge(campaign, annotator, choice)
    for _ in range(4):
        judge(campaign, other_annotator, "a")

    gold = campaign_report(campaign=campaign, gold_threshold=0.7)["gold"]

    assert gold["items"] == 4 and gold["flagged"] == ["anna"]
    assert gold["per_annotator"]["anna"]["value"] == 0.25 and gold["per_annotator"]["anna"]["correct"] == 1
    assert gold["per_annotator"]["otto"]["value"] == 1.0 and not gold["per_annotator"]["otto"]["flagged"]
    assert campaign_report(campaign=campaign, gold_threshold=0.2)["gold"]["flagged"] == []


def test_the_sequential_test_flags_an_annotator_who_keeps_voting_against_everyone(campaign):
    lines = []
    for index in range(20):
        strong, weak = f"s{index}", f"w{index}"
        listed = responses(*([strong, weak] if index % 2 else [weak, strong]),
                           models={strong: "model-strong", weak: "model-weak"})
        strong_label = "a" if index % 2 else "b"
        for number, name in enumerate(["anna", "bob", "cid", "dan", "eve"]):
            choice = strong_label if (index + number) % 10 else {"a": "b", "b": "a"}[strong_label]  # 90% strong
            lines.append(line(f"i{index}", name, "pairwise", listed, choice=choice,
                              created_at=f"2025-01-01T00:{index:02d}:{number:02d}+00:00"))
        lines.append(line(f"i{index}", "carl", "pairwise", listed, choice={"a": "b", "b": "a"}[strong_label],
                          created_at=f"2025-01-01T00:{index:02d}:59+00:00"))

    report = campaign_report(campaign=imported(campaign, lines))

    flagged = {name for name, row in report["annotators"].items() if row["outlier"]["flagged"]}
    assert flagged == {"carl"}
    assert report["annotators"]["carl"]["outlier"]["votes_tested"] == 20
    assert [row["model"] for row in report["bradley_terry"]] == ["model-strong", "model-weak"]
