"""Human vs AI: an AI judge's verdicts against people's on the same items, figures computed by hand."""

import json

import pytest
from django.core.management import call_command

from accounts.models import User
from annotate.judges import entropy_bits
from annotate.models import Judgment
from annotate.report.metrics.report import campaign_report, file_report
from annotate.services.exchange import judgments_read
from tests.annotate.report.metrics.judgments import imported, line, mixed_lines, responses

# item: (people's choices by h1, h2, h3; the judge's choice; the order the judge was shown)
HAND_MADE = {
    "i1": (("a", "a", "b"), "a", ["i1-r1", "i1-r2"]),  # majority a; judge a, shown first
    "i2": (("b", "b", "b"), "a", ["i2-r2", "i2-r1"]),  # majority b; judge a, shown second
    "i3": (("tie", "tie", "a"), "tie", ["i3-r1", "i3-r2"]),  # majority tie; judge tie
    "i4": (("a", "b", "tie"), "b", ["i4-r2", "i4-r1"]),  # no majority; judge b, shown first
    "i5": (("b", "b", "a"), "b", ["i5-r1", "i5-r2"]),  # majority b; judge b, shown second
}


def hand_made_lines(*, judge: bool = True) -> list[str]:
    found = []
    for item, (people, verdict, shown) in HAND_MADE.items():
        listed = responses(f"{item}-r1", f"{item}-r2", models={f"{item}-r1": "m1", f"{item}-r2": "m2"})
        found += [line(item, person, "pairwise", listed, choice=choice)
                  for person, choice in zip(("h1", "h2", "h3"), people, strict=True)]
        if judge:
            found.append(line(item, "ai:gpt-4", "pairwise", listed, choice=verdict, presented_order=shown))
    return found


def report_of(lines: list[str], **settings) -> dict:
    return file_report(judgments=judgments_read(lines=lines), name="hand-made", min_shared_units=2, **settings)


def test_the_figures_of_a_hand_made_set_match_those_computed_by_hand():
    section = report_of(hand_made_lines())["human_vs_ai"]
    assert section["items_with_majority"] == 4
    judge = section["judges"]["ai:gpt-4"]
    # Items i1, i2, i3, i5 have a majority (a, b, tie, b); the judge said a, a, tie, b.
    assert judge["items_with_majority"] == 4 and judge["judgments"] == 5
    assert judge["accuracy"]["value"] == 0.75 and judge["accuracy"]["n"] == 4
    assert judge["confusion"] == [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
    # F1: a 2/3 (one false a), b 2/3 (one missed b), tie 1
    assert judge["macro_f1"]["value"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3, abs=1e-4)
    # observed 3/4; expected (1*2 + 2*1 + 1*1) / 16
    assert judge["kappa_vs_majority"]["value"] == pytest.approx((0.75 - 5 / 16) / (1 - 5 / 16), abs=1e-4)
    # h1 said a, b, tie, a, b against the judge's a, a, tie, b, b: observed 3/5, expected (2*2 + 2*2 + 1*1) / 25
    assert judge["kappa_vs_people"]["h1"]["value"] == pytest.approx((0.6 - 9 / 25) / (1 - 9 / 25), abs=1e-4)
    assert judge["kappa_vs_people"]["h1"]["n"] == 5
    # Decided verdicts: i1 and i4 for the response shown first, i2 and i5 for the second
    assert judge["position_bias"]["value"] == 0.5 and judge["position_bias"]["n"] == 4
    assert judge["swap_conflict_rate"] == {"value": None, "n": 0, "ci_low": None, "ci_high": None}  # one order only
    for name in ("accuracy", "macro_f1", "kappa_vs_majority"):
        assert judge[name]["ci_low"] <= judge[name]["value"] <= judge[name]["ci_high"]


def test_ai_judgments_never_change_the_human_figures():
    lines = mixed_lines(seed=2)
    judge = [json.dumps({**record, "annotator": "ai:judge", "choice": "a"})
             for record in map(json.loads, lines) if record["protocol"] == "pairwise" and record["annotator"] == "anna"]
    without, beside = report_of(lines), report_of(lines + judge)
    assert beside["human_vs_ai"]["judges"]["ai:judge"]["judgments"] == len(judge) > 0
    for key in without:
        if key not in ("human_vs_ai", "judgments"):
            assert beside[key] == without[key], key


def test_the_campaign_report_keeps_ai_judges_out_of_human_metrics_and_shows_one_judge_on_request(campaign):
    imported(campaign, hand_made_lines())
    judge = User.objects.get(username="ai:gpt-4")
    assert not judge.is_active and not judge.has_usable_password()
    assert set(campaign.items.values_list("judgment_count", flat=True)) == {3}  # people's judgments only
    report = campaign_report(campaign=campaign, min_shared_units=2)
    assert "ai:gpt-4" not in report["annotators"] and report["judgments"] == 15
    assert not any("ai:" in pair for pair in report["agreement"]["pairwise"]["cohen_kappa"])
    assert report["human_vs_ai"]["judges"]["ai:gpt-4"]["accuracy"]["value"] == 0.75
    alone = campaign_report(campaign=campaign, annotators="ai:gpt-4")
    assert list(alone["annotators"]) == ["ai:gpt-4"] and alone["judgments"] == 5
    assert alone["bradley_terry"] and alone["settings"]["annotators"] == "ai:gpt-4"
    # Re-importing the same file changes nothing; the judge's lines came in as judgments like any other
    imported(campaign, hand_made_lines())
    assert Judgment.objects.filter(annotator=judge).count() == 5


def test_routing_reports_the_accuracy_kept_for_each_share_of_items_sent_to_people(campaign):
    imported(campaign, hand_made_lines())
    # As a judge run writes them: the verdict of each order. i2 and i5 flip with the order (a draw, so a tie:
    # wrong against their majority b); i1 and i3 hold (right). i4 has no human majority.
    steady = {"i1": ("a", "a"), "i2": ("a", "b"), "i3": ("tie", "tie"), "i4": ("b", "b"), "i5": ("a", "b")}
    for judgment in Judgment.objects.filter(annotator__username="ai:gpt-4").select_related("item"):
        first, second = (f"{judgment.item.external_id}-r{n}" for n in (1, 2))
        verdicts = steady[judgment.item.external_id]
        judgment.metadata = {"entropy": entropy_bits(list(verdicts)), "orders": [
            {"shown": shown, "probs": [[0.8 if choice == verdict else 0.1 for choice in ("a", "b", "tie")]]}
            for shown, verdict in zip(([first, second], [second, first]), verdicts, strict=True)]}
        judgment.save()
    campaign.routing, campaign.routing_threshold = "share", 0.5
    campaign.save()
    routing = campaign_report(campaign=campaign, min_shared_units=2)["human_vs_ai"]["routing"]
    assert routing["items"] == 4
    # most uncertain first (i2, i5), each sent to people counts as right; one point per count of items
    assert [(point["to_people"], point["accuracy"]["value"]) for point in routing["curve"]] == [
        (0, 0.5), (1, 0.75), (2, 1.0), (3, 1.0), (4, 1.0)]
    setting = routing["setting"]
    assert (setting["to_people"], setting["work_saved"], setting["accuracy"]["value"]) == (2, 0.5, 1.0)


def test_an_ai_judges_name_is_checked_like_any_other(campaign):
    from django.core.exceptions import ValidationError

    bad = line("i1", "ai:not a name", "pairwise", responses("r1", "r2"), choice="a")
    with pytest.raises(ValidationError, match="not a valid username"):
        imported(campaign, [bad])


def test_the_command_prints_the_section_as_json(campaign, capsys):
    imported(campaign, hand_made_lines())
    call_command("report", campaign.name, "--format", "json")
    printed = json.loads(capsys.readouterr().out)
    assert printed["human_vs_ai"]["judges"]["ai:gpt-4"]["items_with_majority"] == 4


def test_the_api_serves_the_section_and_one_judges_report_to_managers_only(campaign, manager, annotator,
                                                                          api_client):
    from accounts.services.tokens import token_create

    imported(campaign, hand_made_lines())
    url = f"/api/v1/campaigns/{campaign.pk}/report"

    def get(user, **params):
        return api_client.get(url, params, HTTP_AUTHORIZATION=f"Token {token_create(user=user, name='t')[1]}")

    report = get(manager).json()
    assert report["human_vs_ai"]["judges"]["ai:gpt-4"]["confusion"] == [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
    assert "ai:gpt-4" not in report["annotators"]
    assert list(get(manager, annotators="ai:gpt-4").json()["annotators"]) == ["ai:gpt-4"]
    assert "ai:gpt-4" not in get(manager, annotators="h1").json()["annotators"]  # not a judge: people's report
    assert get(annotator).status_code == 403
