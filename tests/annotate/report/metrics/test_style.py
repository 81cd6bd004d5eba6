"""Style control: Bradley-Terry with length and markdown covariates finds a planted length effect and takes the
wins it explains away from the model that is only longer; on votes that ignore style it changes nothing."""

from io import StringIO

import numpy as np
from django.core.management import call_command

from accounts.services.tokens import token_create
from annotate.report.metrics.bootstrap import ItemResampler, percentile_interval
from annotate.report.metrics.leaderboard import battles
from annotate.report.metrics.report import campaign_report
from annotate.report.metrics.style import style_controlled, style_counts, style_features
from tests.annotate.report.metrics.judgments import imported, line, responses

STRENGTH = np.array([0.6, 0.0, 0.0, -0.6])  # model 2 is as good as model 1, but writes twice as long
VERBOSE = 2


def test_style_counts_tokens_headers_list_items_and_bold_spans():
    text = "# Plan\n\nDo **this** first:\n\n- one\n- two\n1. __three__\n\nNot #a header, not *bold*."

    assert style_counts(text) == (16, 1, 3, 2)


def test_style_features_are_standardised_normalised_differences():
    first = np.array([[9, 0, 0, 0], [1, 0, 0, 0]])
    second = np.array([[0, 0, 0, 0], [1, 0, 0, 0]])

    # (a - b) / (a + b + 1): 0.9 and 0.0, standardised to +1 and -1; a column without variation stays 0
    assert style_features(first, second).tolist() == [[1, 0, 0, 0], [-1, 0, 0, 0]]


def votes(*, length_effect: float, seed: int = 0, n: int = 6000):
    """Battles between four models, one per item; each side's length varies, the verbose model's twice as much."""
    rng = np.random.default_rng(seed)
    first = rng.integers(0, 4, n)
    second = (first + rng.integers(1, 4, n)) % 4
    lengths = [rng.poisson(100, n) * np.where(side == VERBOSE, 2, 1) for side in (first, second)]
    counts = [np.column_stack([length, np.zeros((n, 3), np.int64)]) for length in lengths]
    features = style_features(*counts)
    logit = STRENGTH[first] - STRENGTH[second] + length_effect * features[:, 0]
    score = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    return first, second, score, features


def both_boards(first, second, score, features):
    item = np.arange(len(score))
    resampler = ItemResampler(len(score), rounds=50)
    plain = battles(item, first, second, score, 4)
    controlled = style_controlled(first, second, score, features, 4, item=item, item_weights=resampler.weights)
    return (plain.value(), *resampler.interval(plain)), controlled


def test_a_model_that_wins_only_by_being_longer_drops_under_style_control():
    (plain, _, _), controlled = both_boards(*votes(length_effect=1.0))
    low, high = percentile_interval(controlled["round_coefficients"])

    assert plain.argmax() == VERBOSE  # its length wins it the plain board
    assert controlled["scores"][VERBOSE] < plain[VERBOSE] - 50
    assert abs(controlled["scores"][VERBOSE] - controlled["scores"][1]) < 25  # as good as model 1, no better
    assert list(np.argsort(-controlled["scores"])[[0, 3]]) == [0, 3]
    assert 0.8 < controlled["coefficients"][0] < 1.2 and low[0] > 0.5  # the planted effect, recovered


def test_votes_that_ignore_style_keep_their_leaderboard_within_its_intervals():
    (plain, low, high), controlled = both_boards(*votes(length_effect=0.0, seed=1))
    coefficient_low, coefficient_high = percentile_interval(controlled["round_coefficients"])

    assert ((low <= controlled["scores"]) & (controlled["scores"] <= high)).all()
    assert coefficient_low[0] < 0 < coefficient_high[0]


# --- the switch in the report, the command, the API and the page ----------------------------------------------------

def test_the_report_adds_a_style_controlled_board_when_asked(campaign, manager, api_client, client):
    listed = responses("short", "long", models={"short": "model-x", "long": "model-y"})
    listed[1]["text"] = "# Long\n\n- a **very** thorough\n- answer " + "word " * 40
    imported(campaign, [line(f"pair-{n}", name, "pairwise", listed, prompt=f"Question {n}?",
                             choice="b" if (n + index) % 3 else "a")
                        for n in range(12) for index, name in enumerate(("anna", "bob"))])

    assert "style_control" not in campaign_report(campaign=campaign)
    board = campaign_report(campaign=campaign, style_control=True)["style_control"]
    assert [row["model"] for row in board["bradley_terry"]] and set(board["coefficients"]) == {
        "length", "headers", "lists", "bold"}

    out = StringIO()
    call_command("report", campaign.name, "--style-control", stdout=out)
    assert "Style-controlled leaderboard" in out.getvalue() and "length" in out.getvalue()
    token = token_create(user=manager, name="t")[1]
    body = api_client.get(f"/api/v1/campaigns/{campaign.pk}/report?style_control=1",
                          HTTP_AUTHORIZATION=f"Token {token}").json()
    assert body["style_control"] == board
    client.force_login(manager)
    page = client.get(f"/annotate/reports/{campaign.pk}/?style_control=1").content.decode()
    assert 'id="style-control"' in page and "Style-controlled scores with 95% intervals" in page
    assert "Style coefficients" in page
