"""The property profile: the heuristics on examples, and the regression recovering preferences planted in votes."""

import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command

from accounts.models import User
from annotate.report.metrics.properties import (
    PROPERTIES,
    property_differences,
    property_regression,
    reading_level,
    response_properties,
    syllables,
)
from annotate.report.metrics.report import campaign_report
from tests.annotate.report.metrics.judgments import imported, line
from tests.annotate.report.metrics.test_report import auth

REFUSAL, UNCERTAINTY, MARKDOWN, QUESTION = (PROPERTIES.index(name) for name in (
    "refusal", "uncertainty", "markdown", "clarifying_question"))


@pytest.mark.parametrize(("text", "flags"), [
    ("I'm sorry, but I can't help with that request.", {REFUSAL}),
    ("I cannot provide instructions for that.", {REFUSAL}),
    ("You can't go wrong with a good map.", set()),
    ("I'm not sure, but the answer is probably 4.", {UNCERTAINTY}),
    ("I might be wrong here: check the manual.", {UNCERTAINTY}),
    ("## Steps\n\n1. Boil water\n2. Add pasta", {MARKDOWN}),
    ("Use **bold** sparingly.", {MARKDOWN}),
    ("| a | b |\n|---|---|\n| 1 | 2 |", {MARKDOWN}),
    ("Which version of Python are you using?", {QUESTION}),
    ("Why is the sky blue? Because of Rayleigh scattering.", set()),
    ("The answer is 42.", set()),
])
def test_the_heuristics_flag_what_a_reader_would(text, flags):
    found = response_properties(text)
    assert {index for index in (REFUSAL, UNCERTAINTY, MARKDOWN, QUESTION) if found[index]} == flags


def test_length_counts_words_and_reading_level_is_the_flesch_kincaid_grade():
    assert response_properties("one two  three\nfour")[0] == 4
    # 6 words, 1 sentence, 6 syllables: 0.39 * 6 + 11.8 * 1 - 15.59
    assert reading_level("The cat sat on the mat.") == pytest.approx(0.39 * 6 + 11.8 - 15.59)
    # 4 words, 2 sentences, 8 syllables (beau-ti-ful 3, an-i-mals 3, run 1, fast 1)
    assert reading_level("Beautiful animals. Run fast.") == pytest.approx(0.39 * 2 + 11.8 * 8 / 4 - 15.59)
    assert reading_level("") == 0.0
    assert [syllables(word) for word in ("make", "here", "the", "table", "free", "nth", "rhythm", "beautiful")] \
        == [1, 1, 1, 2, 1, 1, 1, 3]


def test_length_enters_the_regression_as_log2_of_the_ratio():
    first, second = np.array([[31.0, 1, 0, 0, 0, 8]]), np.array([[15.0, 0, 0, 1, 0, 10]])
    assert property_differences(first, second).tolist() == [[1.0, 1, 0, -1, 0, -2]]


def test_the_regression_recovers_planted_coefficients():
    rng = np.random.default_rng(3)
    features = np.column_stack([rng.normal(0, 1.5, 6000), rng.integers(-1, 2, 6000)])
    won = rng.random(6000) < 1 / (1 + np.exp(-(1.0 * features[:, 0] - 1.5 * features[:, 1])))
    weights = np.stack([np.bincount(rng.integers(0, 6000, 6000), minlength=6000) for _ in range(100)], axis=1)

    fitted = property_regression(features, won, item=np.arange(6000), item_weights=weights.astype(float))

    assert fitted["coefficients"][1:] == pytest.approx([1.0, -1.5], abs=0.12)
    low, high = np.percentile(fitted["round_coefficients"], [2.5, 97.5], axis=0)
    assert low[1] < 1.0 < high[1] and low[2] < -1.5 < high[2]


def synthetic_votes(items: int = 300, seed: int = 0) -> list[str]:
    """Pairs of responses of random lengths. Three people prefer the longer one (log-odds +1 per doubling), an AI
    judge the shorter one (-1 per doubling)."""
    rng = np.random.default_rng(seed)
    lines = []
    for index in range(items):
        lengths = rng.integers(4, 90, 2)
        listed = [{"id": f"r{index}-{k}", "text": " ".join(["word"] * lengths[k]) + ".", "model": f"m{k}"}
                  for k in range(2)]
        ratio = np.log2((lengths[0] + 1) / (lengths[1] + 1))
        for name, slope in (("anna", 1.0), ("bob", 1.0), ("cid", 1.0), ("judge", -1.0)):
            choice = "a" if rng.random() < 1 / (1 + np.exp(-slope * ratio)) else "b"
            lines.append(line(f"item-{index}", name, "pairwise", listed, choice=choice))
    return lines


@pytest.fixture
def voted(campaign):
    imported(campaign, synthetic_votes())
    User.objects.filter(username="judge").update(username="ai:judge")  # as the AI judges' import names them
    return campaign


def test_the_profile_recovers_a_planted_length_preference_for_people_and_a_judge(voted):
    profile = campaign_report(campaign=voted, properties=True)["properties"]

    people, judge = profile["fits"]["people"], profile["fits"]["ai:judge"]
    assert (people["comparisons"], judge["comparisons"]) == (900, 300)
    length = people["coefficients"]["length"]
    assert length["value"] == pytest.approx(1.0, abs=0.3) and length["ci_low"] < 1.0 < length["ci_high"]
    assert judge["coefficients"]["length"]["ci_high"] < 0
    assert people["coefficients"]["refusal"]["value"] is None  # nobody refused: nothing to learn


def test_the_profile_is_asked_for_by_the_api_the_command_and_the_page(voted, api_client, client, manager,
                                                                      annotator):
    url = f"/api/v1/campaigns/{voted.pk}/report"
    assert "properties" not in api_client.get(url, **auth(manager)).json()
    from_api = api_client.get(url + "?properties=true", **auth(manager)).json()["properties"]
    out = StringIO()
    call_command("report", voted.name, "--format", "json", "--properties", stdout=out)
    assert json.loads(out.getvalue())["properties"] == from_api
    out = StringIO()
    call_command("report", voted.name, "--properties", stdout=out)
    assert "Property profile" in out.getvalue() and "ai:judge: 300 decided comparisons" in out.getvalue()
    client.force_login(manager)
    html = client.get(f"/annotate/reports/{voted.pk}/?properties=1").content.decode()
    assert 'id="properties"' in html and "<title>Log-odds of winning per unit" in html and "length · ai:judge" in html
    assert api_client.get(url + "?properties=true", **auth(annotator)).status_code == 403
