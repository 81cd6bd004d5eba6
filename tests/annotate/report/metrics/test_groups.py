"""Whose preferences: the groups section shows profile groups only in aggregate, at the minimum size, and its
within/between agreement and majority alignment match a small set worked out by hand."""

import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command

from accounts.models import User
from annotate.profiles.services import profile_save
from annotate.report.metrics.groups import OTHER, partition
from annotate.report.metrics.report import campaign_report
from tests.annotate.report.metrics.judgments import imported, line, responses
from tests.annotate.report.metrics.test_report import auth

pytestmark = pytest.mark.django_db


def pairwise_lines(choices: dict[str, list[str]]) -> list[str]:
    """annotator -> their choice on item 0, 1, ... (each item a pair of responses by two models)."""
    lines = []
    for name, row in choices.items():
        for index, choice in enumerate(row):
            listed = responses(f"i{index}-0", f"i{index}-1", models={f"i{index}-0": "model-x",
                                                                     f"i{index}-1": "model-y"})
            lines.append(line(f"item-{index}", name, "pairwise", listed, choice=choice))
    return lines


def profiles(**regions: str | None) -> None:
    for name, region in regions.items():
        if region is not None:
            profile_save(user=User.objects.get(username=name), consent=True, region=region)


def test_small_groups_are_merged_into_other_or_not_shown():
    assert partition(["x"] * 5 + ["y"] * 2 + [None] * 3, 5) == (["x", OTHER], pytest.approx([0] * 5 + [1] * 5))
    names, group = partition(["x"] * 5 + ["y"] * 6 + ["z"], 5)
    assert names == ["y", OTHER] and list(group) == [1] * 5 + [0] * 6 + [1]  # the smallest group keeps z company
    names, group = partition(["x"] * 6 + ["y"], 5)
    assert names == [] and (group == -1).all()  # "other" would be y alone, and x with y is everyone
    assert partition(["x"] * 5, 5)[0] == ["x"]


def test_within_and_between_agreement_and_alignment_match_a_hand_made_set(campaign):
    # Europe: anna, bob; Asia: cid, dan. Worked out by hand:
    #   within Europe 3 agreeing pairs of 4 (items 0, 1, 2 agree; 3 not), within Asia 2 of 4, so within 5/8;
    #   between 2 + 0 + 2 + 2 agreeing of 16 cross pairs = 3/8; gap 1/4.
    #   majority: item 0 a, item 1 none (2 a, 2 b), item 2 b, item 3 b (a=1, b=0). Europe's means 1, 0, 0.5 give
    #   r = sqrt(3)/2 with it; Asia's 0.5, 0.5, 0 give r = 0.5. Europe aligns most.
    imported(campaign, pairwise_lines({"anna": ["a", "b", "b", "a"], "bob": ["a", "b", "b", "b"],
                                       "cid": ["b", "a", "b", "b"], "dan": ["a", "a", "a", "b"]}))
    profiles(anna="Europe", bob="Europe", cid="Asia", dan="Asia")

    section = campaign_report(campaign=campaign, min_group_size=2)["groups"]
    pairwise = section["attributes"]["region"]["agreement"]["pairwise"]

    assert section["with_profile"] == 4 and section["annotators"] == 4
    assert pairwise["within"]["value"] == 0.625 and pairwise["within"]["n"] == 8
    assert pairwise["between"]["value"] == 0.375 and pairwise["between"]["n"] == 16
    assert pairwise["gap"]["value"] == 0.25
    matrix = pairwise["matrix"]
    assert matrix["groups"] == ["Asia", "Europe"]
    assert [[cell["value"] for cell in row] for row in matrix["agreement"]] == [[0.5, 0.375], [0.375, 0.75]]
    assert pairwise["alignment"]["Europe"]["value"] == pytest.approx(np.sqrt(3) / 2, abs=1e-4)
    assert pairwise["alignment"]["Asia"]["value"] == 0.5
    assert pairwise["alignment"]["Europe"]["n"] == 3
    assert pairwise["most_aligned"] == "Europe"
    assert pairwise["groups"]["Europe"]["annotators"] == 2
    assert "cohen_kappa" not in pairwise["groups"]["Europe"]  # nothing that names a person
    leaderboard = section["attributes"]["region"]["leaderboard"]
    assert set(leaderboard) == {"Asia", "Europe"} and leaderboard["Europe"]["bradley_terry"][0]["battles"] == 8


def test_ai_judges_are_left_out_of_the_groups(campaign):
    imported(campaign, pairwise_lines({"anna": ["a", "b"], "bob": ["a", "b"], "judge": ["b", "a"]}))
    User.objects.filter(username="judge").update(username="ai:judge")  # as the AI judges' import names them
    profiles(anna="Europe", bob="Europe")
    section = campaign_report(campaign=campaign, min_group_size=2)["groups"]
    assert section["annotators"] == 2
    pairwise = section["attributes"]["region"]["agreement"]["pairwise"]
    assert pairwise["everyone"]["annotators"] == 2 and pairwise["everyone"]["percent_agreement"]["value"] == 1.0


@pytest.fixture
def seven_and_one(campaign):
    """Six people in Europe, one in Oceania (also the only one from Portugal), four without a profile."""
    rng = np.random.default_rng(0)
    names = [f"eu{k}" for k in range(6)] + ["solo"] + [f"np{k}" for k in range(4)]
    imported(campaign, pairwise_lines({name: list(rng.choice(["a", "b", "tie"], 12)) for name in names}))
    profiles(**{f"eu{k}": "Europe" for k in range(6)})
    profile_save(user=User.objects.get(username="solo"), consent=True, region="Oceania", country="Portugal",
                 age_band="65+")
    return campaign


def test_a_group_under_the_minimum_is_never_shown_by_the_api_or_the_command(seven_and_one, manager, api_client):
    response = api_client.get(f"/api/v1/campaigns/{seven_and_one.pk}/report", **auth(manager))
    out = StringIO()
    call_command("report", seven_and_one.name, "--format", "json", stdout=out)

    for report in (response.json(), json.loads(out.getvalue())):
        text = json.dumps(report["groups"])
        assert "Oceania" not in text and "portugal" not in text.lower() and "65+" not in text
        region = report["groups"]["attributes"]["region"]
        assert set(region["agreement"]["pairwise"]["groups"]) == {"Europe", OTHER}
        assert region["agreement"]["pairwise"]["groups"][OTHER]["annotators"] == 5
        assert set(region["leaderboard"]) == {"Europe", OTHER}
        assert report["groups"]["attributes"]["age_band"]["agreement"]["pairwise"]["groups"] == {}
        assert report["settings"]["min_group_size"] == 5


def test_the_text_report_names_the_groups_shown_only(seven_and_one):
    out = StringIO()
    call_command("report", seven_and_one.name, stdout=out)
    text = out.getvalue()
    assert "Whose preferences: 7 of 11 people keep a profile" in text and "Europe" in text
    assert "Oceania" not in text


def test_the_page_shows_groups_in_aggregate_only(seven_and_one, client, manager):
    client.force_login(manager)
    html = client.get(f"/annotate/reports/{seven_and_one.pk}/").content.decode()
    assert 'id="groups"' in html and "Europe" in html
    assert "Oceania" not in html and "Portugal" not in html


def test_no_profile_is_shown_to_an_annotator_or_an_outsider(seven_and_one, client, api_client, annotator, outsider):
    for person in (annotator, outsider):
        assert api_client.get(f"/api/v1/campaigns/{seven_and_one.pk}/report", **auth(person)).status_code == 403
        client.force_login(person)
        assert client.get(f"/annotate/reports/{seven_and_one.pk}/").status_code == 403
