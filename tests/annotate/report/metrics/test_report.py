"""The report of an imported campaign: its numbers against values computed here from the file itself, and the
same report from the command line, the API and the page."""

import json
from collections import Counter, defaultdict
from io import StringIO
from itertools import combinations

import krippendorff
import numpy as np
import pytest
from django.core.management import CommandError, call_command
from scipy.stats import binomtest

from accounts.services.tokens import token_create
from annotate.models import Campaign, Judgment
from annotate.report.metrics.report import campaign_report
from tests.annotate.report.metrics.judgments import ANNOTATORS, imported, mixed_lines

CHOICES = ["a", "b", "tie"]


def auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {token_create(user=user, name='t')[1]}"}


def naive_quadratic_cohen(first: list, second: list) -> float:
    """1 - mean squared difference of the pairs / mean squared difference of all first-second combinations."""
    observed = np.mean([(a - b) ** 2 for a, b in zip(first, second, strict=True)])
    expected = np.mean([(a - b) ** 2 for a in first for b in second])
    return 1 - observed / expected


@pytest.fixture
def lines():
    return mixed_lines(seed=1)


@pytest.fixture
def mixed(campaign, lines):
    return imported(campaign, lines)


def records(lines, protocol: str) -> list[dict]:
    return [record for record in map(json.loads, lines) if record["protocol"] == protocol]


def reliability(values: dict[tuple, dict[str, int]]) -> np.ndarray:
    """annotators x units, NaN where an annotator gave no value."""
    return np.array([[unit.get(name, np.nan) for unit in values.values()] for name in ANNOTATORS], dtype=float)


def naive_cohen(first: list, second: list) -> float:
    n = len(first)
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    expected = sum(first.count(value) * second.count(value) for value in set(first) | set(second)) / n ** 2
    return (observed - expected) / (1 - expected)


def test_the_report_counts_items_and_judgments(mixed, lines):
    report = campaign_report(campaign=mixed)
    assert report["judgments"] == len(lines) and report["items"] == len({json.loads(li)["item"] for li in lines})
    assert report["judgments_by_protocol"] == dict(Counter(json.loads(li)["protocol"] for li in lines))


def test_pairwise_agreement_equals_values_computed_from_the_file(mixed, lines):
    choices = defaultdict(dict)
    for record in records(lines, "pairwise"):
        choices[record["item"]][record["annotator"]] = CHOICES.index(record["choice"])

    block = campaign_report(campaign=mixed)["agreement"]["pairwise"]

    agreeing = [np.mean([a == b for a, b in combinations(unit.values(), 2)]) for unit in choices.values()]
    shares = np.bincount([v for unit in choices.values() for v in unit.values()], minlength=3) / (3 * len(choices))
    fleiss = (np.mean(agreeing) - (shares ** 2).sum()) / (1 - (shares ** 2).sum())  # 3 raters on every item
    alpha = krippendorff.alpha(reliability_data=reliability(choices), level_of_measurement="nominal")
    assert block["units"] == len(choices) == 30
    assert block["percent_agreement"]["value"] == pytest.approx(np.mean(agreeing), abs=1e-4)
    assert block["fleiss_kappa"]["value"] == pytest.approx(fleiss, abs=1e-4)
    assert block["krippendorff_alpha"]["value"] == pytest.approx(alpha, abs=1e-4)
    for first, second in combinations(ANNOTATORS, 2):
        shared = [unit for unit in choices.values() if first in unit and second in unit]
        kappa = naive_cohen([unit[first] for unit in shared], [unit[second] for unit in shared])
        pair = block["cohen_kappa"][f"{first}|{second}"]
        assert (pair["value"], pair["n"]) == (pytest.approx(kappa, abs=1e-4), len(shared))
    for estimate in (block["percent_agreement"], block["fleiss_kappa"], block["krippendorff_alpha"]):
        assert estimate["ci_low"] <= estimate["value"] <= estimate["ci_high"]


def test_rating_and_attribute_agreement_use_ordinal_alpha_per_response(mixed, lines):
    ratings, helpfulness = defaultdict(dict), defaultdict(dict)
    for record in records(lines, "rating"):
        for response, value in record["ratings"].items():
            ratings[record["item"], response][record["annotator"]] = value
    for record in records(lines, "attributes"):
        for response, scores in record["attributes"].items():
            helpfulness[record["item"], response][record["annotator"]] = scores["helpfulness"]

    agreement = campaign_report(campaign=mixed)["agreement"]

    assert agreement["rating"]["level"] == "ordinal" and agreement["rating"]["units"] == len(ratings)
    assert agreement["rating"]["krippendorff_alpha"]["value"] == pytest.approx(krippendorff.alpha(
        reliability_data=reliability(ratings), value_domain=range(1, 8), level_of_measurement="ordinal"), abs=1e-4)
    assert agreement["attributes"]["helpfulness"]["krippendorff_alpha"]["value"] == pytest.approx(krippendorff.alpha(
        reliability_data=reliability(helpfulness), value_domain=range(5), level_of_measurement="ordinal"), abs=1e-4)
    assert set(agreement["attributes"]) == {"helpfulness", "correctness", "coherence", "complexity", "verbosity",
                                            "unsafe"}
    assert agreement["attributes"]["unsafe"]["level"] == "nominal"
    assert {"kendall_tau", "spearman", "quadratic_kappa"} <= set(agreement["ranking"])


def test_rating_agreement_has_a_quadratic_weighted_kappa_for_every_pair_of_annotators(mixed, lines):
    ratings = defaultdict(dict)
    for record in records(lines, "rating"):
        for response, value in record["ratings"].items():
            ratings[record["item"], response][record["annotator"]] = value

    block = campaign_report(campaign=mixed)["agreement"]["rating"]

    assert len(block["cohen_quadratic_kappa"]) == len(block["cohen_kappa"]) == 6
    for first, second in combinations(ANNOTATORS, 2):
        shared = [unit for unit in ratings.values() if first in unit and second in unit]
        kappa = naive_quadratic_cohen([unit[first] for unit in shared], [unit[second] for unit in shared])
        pair = block["cohen_quadratic_kappa"][f"{first}|{second}"]
        assert (pair["value"], pair["n"]) == (pytest.approx(kappa, abs=1e-4), len(shared))
        assert pair["ci_low"] <= pair["value"] <= pair["ci_high"]
    assert "cohen_quadratic_kappa" not in campaign_report(campaign=mixed)["agreement"]["pairwise"]


def test_consistency_and_position_bias_equal_values_computed_from_the_file(mixed, lines):
    rated = defaultdict(list)
    for record in records(lines, "rating"):
        for response, value in record["ratings"].items():
            rated[response].append(value)
    mean = {response: np.mean(values) for response, values in rated.items()}
    labels = []  # (ranking label, ratings label) for every compared pair
    for record in records(lines, "pairwise"):
        first, second = (response["id"] for response in record["responses"])
        labels.append((record["choice"], "a" if mean[first] > mean[second] else "b" if mean[first] < mean[second]
                       else "tie"))
    for record in records(lines, "ranking"):
        place = {response: group for group, members in enumerate(record["ranking"]) for response in members}
        ids = [response["id"] for response in record["responses"]]
        for first, second in combinations(ids, 2):
            if first in mean and second in mean:
                ranked = "a" if place[first] < place[second] else "b" if place[first] > place[second] else "tie"
                labels.append((ranked, "a" if mean[first] > mean[second] else "b" if mean[first] < mean[second]
                               else "tie"))
    decided = [record for record in records(lines, "pairwise") if record["choice"] != "tie"]
    first_shown = sum(record["presented_order"][0] == record["responses"][CHOICES.index(record["choice"])]["id"]
                      for record in decided)

    report = campaign_report(campaign=mixed)

    consistency = report["rating_vs_ranking"]
    assert consistency["pairs"] == len(labels)
    assert consistency["consistency"]["value"] == pytest.approx(np.mean([a == b for a, b in labels]), abs=1e-4)
    assert consistency["confusion"] == [[sum(1 for pair in labels if pair == (row, column)) for column in CHOICES]
                                        for row in CHOICES]
    bias = report["position_bias"]["pairwise"]["overall"]
    assert (bias["first"], bias["n"]) == (first_shown, len(decided))
    assert bias["p_value"] == pytest.approx(binomtest(first_shown, len(decided)).pvalue, abs=1e-6)


def test_the_leaderboard_lists_every_model_strongest_first_with_its_interval(mixed):
    report = campaign_report(campaign=mixed)

    board = report["bradley_terry"]
    assert sorted(row["model"] for row in board) == ["model-x", "model-y", "model-z"]
    assert [row["score"] for row in board] == sorted((row["score"] for row in board), reverse=True)
    assert all(row["ci_low"] <= row["score"] <= row["ci_high"] for row in board)
    rates = report["win_rates"]
    assert rates["models"] == [row["model"] for row in board]
    games = np.array(rates["games"])
    assert (games == games.T).all() and games.trace() == 0
    assert rates["win_rate"][0][1] + rates["win_rate"][1][0] == pytest.approx(1)


def test_renaming_annotators_or_reordering_the_file_leaves_agreement_unchanged(campaign, other_campaign, lines):
    rename = dict(zip(ANNOTATORS, ["zed", "yan", "xia", "wes"], strict=True))
    shuffled = [json.dumps({**record, "annotator": rename[record["annotator"]]})
                for record in map(json.loads, lines[::-1])]
    first = campaign_report(campaign=imported(campaign, lines))["agreement"]
    second = campaign_report(campaign=imported(other_campaign, shuffled))["agreement"]

    def values(block: dict) -> dict:
        """Point estimates; pair maps as sorted values (the names differ). Intervals move with item numbering."""
        found = {}
        for key, value in block.items():
            if isinstance(value, dict) and "value" in value:
                found[key] = value["value"]
            elif key in ("cohen_kappa", "cohen_quadratic_kappa"):
                found[key] = sorted((estimate["value"] for estimate in value.values()), key=str)
            elif isinstance(value, dict):
                found[key] = values(value)
            else:
                found[key] = value
        return found

    assert values(first) == values(second)


def test_the_command_prints_the_same_json_as_the_api(mixed, manager, api_client):
    out = StringIO()
    call_command("report", mixed.name, "--format", "json", stdout=out)

    response = api_client.get(f"/api/v1/campaigns/{mixed.pk}/report", **auth(manager))

    assert response.status_code == 200
    assert json.loads(out.getvalue()) == response.json()


def test_the_command_prints_text_and_refuses_an_unknown_campaign(mixed):
    out = StringIO()
    call_command("report", str(mixed.pk), stdout=out)
    text = out.getvalue()
    for heading in ("Agreement", "Rating vs ranking", "Position bias", "Gold", "Annotators", "Bradley-Terry"):
        assert heading in text
    with pytest.raises(CommandError, match="No campaign"):
        call_command("report", "No such campaign", stdout=StringIO())


def test_the_api_serves_the_campaigns_managers_only(mixed, api_client, annotator, outsider, admin_user):
    url = f"/api/v1/campaigns/{mixed.pk}/report"
    assert api_client.get(url).status_code == 401
    assert api_client.get(url, **auth(annotator)).status_code == 403  # a member, not a manager
    assert api_client.get(url, **auth(outsider)).status_code == 403
    assert api_client.get(url, **auth(admin_user)).status_code == 200
    assert api_client.get("/api/v1/campaigns/999999/report", **auth(admin_user)).status_code == 404
    bad = api_client.get(url + "?ratings=median", **auth(admin_user))
    assert bad.status_code == 400 and "ratings" in bad.json()


def test_the_api_takes_the_ratings_option_and_is_documented(mixed, api_client, manager):
    each = api_client.get(f"/api/v1/campaigns/{mixed.pk}/report?ratings=each&gold_threshold=0.5", **auth(manager))
    assert each.json()["rating_vs_ranking"]["ratings"] == "each" and "per_rater" in each.json()["rating_vs_ranking"]
    assert each.json()["settings"]["gold_threshold"] == 0.5

    schema = api_client.get("/api/schema/?format=json", **auth(manager)).json()
    operation = schema["paths"]["/api/v1/campaigns/{campaign_id}/report"]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} >= {"ratings", "gold_threshold"}


def test_the_report_page_shows_every_section_with_plots(mixed, client, manager):
    client.force_login(manager)

    page = client.get(f"/annotate/reports/{mixed.pk}/")

    assert page.status_code == 200
    html = page.content.decode()
    for section in ("agreement", "consistency", "position-bias", "leaderboard", "annotators"):
        assert f'id="{section}"' in html
    for title in ("Krippendorff&#x27;s alpha per protocol and attribute", "Quadratic-weighted kappa per attribute",
                  "Ranking label against the label the ratings imply", "Share of decided choices for the response",
                  "Mean rank by shown position", "Bradley-Terry scores with 95% intervals", "Win rate of row"):
        assert f"<title>{title}" in html
    assert html.count("<svg") == 7 and "model-x" in html


def test_the_report_page_is_for_managers_only(mixed, client, annotator):
    assert client.get(f"/annotate/reports/{mixed.pk}/").status_code == 302  # to the login page
    client.force_login(annotator)
    assert client.get(f"/annotate/reports/{mixed.pk}/").status_code == 403


def test_an_empty_campaign_reports_nothing_without_failing(campaign, client, manager):
    report = campaign_report(campaign=campaign)
    assert (report["judgments"], report["agreement"], report["bradley_terry"]) == (0, {}, [])
    out = StringIO()
    call_command("report", campaign.name, stdout=out)
    assert "no unit was judged by two annotators" in out.getvalue()
    client.force_login(manager)
    assert client.get(f"/annotate/reports/{campaign.pk}/").status_code == 200


# --- report --from: a file to numbers, kept nowhere --------------------------------------------------------------

def test_the_report_of_a_file_equals_the_report_of_the_file_imported(campaign, lines, tmp_path):
    path = tmp_path / "judgments.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = StringIO()

    call_command("report", "--from", str(path), "--format", "json", "--style-control", stdout=out)

    from_file = json.loads(out.getvalue())
    assert not Judgment.objects.exists() and Campaign.objects.count() == 1  # nothing kept
    from_campaign = campaign_report(campaign=imported(campaign, lines), style_control=True)
    assert from_file.pop("campaign") == {"id": None, "name": "judgments.jsonl", "design": "mixed"}
    from_campaign.pop("campaign")
    assert from_file == json.loads(json.dumps(from_campaign))


def test_report_from_a_file_prints_text_and_names_the_bad_lines(tmp_path, lines):
    path = tmp_path / "judgments.jsonl"
    path.write_text("\n".join(lines[:40]) + "\n", encoding="utf-8")
    out = StringIO()
    call_command("report", "--from", str(path), stdout=out)
    assert out.getvalue().startswith("Campaign judgments.jsonl (") and "Bradley-Terry" in out.getvalue()

    path.write_text(lines[0] + "\n" + lines[0].replace('"pairwise"', '"likert"') + "\n", encoding="utf-8")
    with pytest.raises(CommandError, match="line 2: unknown protocol 'likert'"):
        call_command("report", "--from", str(path), stdout=StringIO())
    with pytest.raises(CommandError, match="Name a campaign or give --from FILE, not both"):
        call_command("report", "Helpfulness", "--from", str(path), stdout=StringIO())
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("report", "--from", str(tmp_path / "missing.jsonl"), stdout=StringIO())
