"""The Bradley-Terry leaderboard is the maximum likelihood fit, with ties as half wins."""

import numpy as np
import pytest

from annotate.report.metrics.bootstrap import ItemResampler
from annotate.report.metrics.leaderboard import battle_matrices, battles, win_rates


def fit(first, second, score, n_models):
    statistic = battles(np.arange(len(score)), np.asarray(first), np.asarray(second), np.asarray(score, float),
                        n_models)
    return statistic, statistic.value()


def test_a_model_that_wins_three_of_four_is_400_log10_3_points_ahead():
    _, scores = fit([0, 0, 0, 0], [1, 1, 1, 1], [1, 1, 1, 0], 2)
    # 190.8 points for odds of 3:1; the 0.01 pseudo-tie per pair moves it by well under a point
    assert scores[0] - scores[1] == pytest.approx(400 * np.log10(3), abs=1)
    assert scores.mean() == pytest.approx(1000)


def test_a_tie_counts_as_half_a_win_for_each_side():
    _, with_tie = fit([0, 0], [1, 1], [1, 0.5], 2)  # 1.5 wins of 2
    _, three_of_four = fit([0, 0, 0, 0], [1, 1, 1, 1], [1, 1, 1, 0], 2)  # the same 3:1 odds
    assert with_tie[0] - with_tie[1] == pytest.approx(three_of_four[0] - three_of_four[1], abs=1)


def test_the_scores_solve_the_likelihood_equations():
    # at the maximum, every model's expected wins equal its observed wins (ties as halves)
    rng = np.random.default_rng(3)
    first = rng.integers(0, 4, 400)
    second = (first + rng.integers(1, 4, 400)) % 4
    strength = np.array([0.0, 0.5, 1.0, 2.0])
    won = rng.random(400) < 1 / (1 + np.exp(strength[second] - strength[first]))
    score = np.where(rng.random(400) < 0.1, 0.5, won.astype(float))
    statistic, scores = fit(first, second, score, 4)

    wins, games = battle_matrices(statistic.sums(), 4)
    odds = 10 ** (scores / 400)
    expected = (games * odds[:, None] / (odds[:, None] + odds[None, :])).sum(axis=1)
    assert expected == pytest.approx(wins.sum(axis=1), rel=1e-3)
    assert list(np.argsort(-scores)) == [3, 2, 1, 0]


def test_a_model_that_never_wins_gets_a_finite_score_at_the_bottom():
    _, scores = fit([0, 0, 1, 1], [2, 2, 2, 2], [1, 1, 1, 1], 3)
    assert np.isfinite(scores).all() and scores.argmin() == 2


def test_bootstrap_intervals_are_per_model_and_bracket_the_scores():
    rng = np.random.default_rng(5)
    first = rng.integers(0, 3, 300)
    second = (first + 1) % 3
    statistic, scores = fit(first, second, (rng.random(300) < 0.7).astype(float), 3)

    low, high = ItemResampler(300).interval(statistic)

    assert low.shape == high.shape == (3,)
    assert (low < scores).all() and (scores < high).all()


def test_the_win_rate_matrix_counts_ties_as_halves_and_leaves_unplayed_pairs_empty():
    statistic, _ = fit([0, 0, 1], [1, 1, 0], [1, 0.5, 1], 3)  # model 0: a win and a tie against 1, then a loss
    rates = win_rates(*battle_matrices(statistic.sums(), 3))
    assert rates[0, 1] == pytest.approx(1.5 / 3) and rates[1, 0] == pytest.approx(1.5 / 3)
    assert np.isnan(rates[0, 2]) and np.isnan(rates[2, 1])
