"""Bradley-Terry leaderboard of the models behind the candidates, as Chatbot Arena computes it.

A battle is one comparison of two responses by different models: a pairwise choice, a pair from a ranking, or a
pair of ratings given in one judgment. A tie counts as half a win for each side. Strengths are the maximum
likelihood estimate, found with Hunter's (2004) MM iteration, and shown on the Elo scale (400 points = 10:1
odds) around 1000. Intervals come from the item bootstrap, which resamples whole items with their battles.
"""

import numpy as np

from annotate.report.metrics.bootstrap import Statistic

SCALE, BASE, CENTRE = 400, 10, 1000
# Every pair of models that met also plays this many tied pseudo-games, so that a model without a single win
# gets a finite (very low) score instead of minus infinity; against real counts it is negligible.
PRIOR_GAMES = 0.01
MAX_ITERATIONS = 5000
TOLERANCE = 1e-10


def battle_matrices(sums: np.ndarray, n_models: int) -> tuple[np.ndarray, np.ndarray]:
    """(..., 2 m^2) sums -> wins (..., m, m) (ties as halves) and games (..., m, m)."""
    square = sums.reshape(*sums.shape[:-1], 2, n_models, n_models)
    return square[..., 0, :, :], square[..., 1, :, :]


def battles(item: np.ndarray, first: np.ndarray, second: np.ndarray, score: np.ndarray, n_models: int) -> Statistic:
    """Battles of model `first` against model `second` with `score` 1 (first won), 0.5 (tie) or 0; the sums are
    win and game counts per ordered pair of models."""
    cells = n_models * n_models
    column = np.concatenate([first * n_models + second, second * n_models + first,
                             cells + first * n_models + second, cells + second * n_models + first])
    amount = np.concatenate([score, 1 - score, np.ones(len(score)), np.ones(len(score))])
    return Statistic(item=np.tile(item, 4), column=column, amount=amount, width=2 * cells,
                     combine=lambda s: bradley_terry_scores(*battle_matrices(s, n_models)), n=len(item))


def bradley_terry_scores(wins: np.ndarray, games: np.ndarray) -> np.ndarray:
    """Elo-scale scores (..., m) from win and game counts (..., m, m); the scores of each leading index have mean
    1000. A model without games gets NaN."""
    met = games > 0
    wins = wins + PRIOR_GAMES / 2 * met
    games = games + PRIOR_GAMES * met
    played = games.sum(axis=-1) > 0
    total_wins = wins.sum(axis=-1)
    strength = np.ones(wins.shape[:-1])
    for _ in range(MAX_ITERATIONS):
        denominator = (games / (strength[..., :, None] + strength[..., None, :])).sum(axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            updated = np.where(played, total_wins / denominator, 1.0)
        updated /= np.exp(np.log(updated).mean(axis=-1, keepdims=True))
        change = np.abs(np.log(updated) - np.log(strength)).max()
        strength = updated
        if change < TOLERANCE:
            break
    scores = CENTRE + SCALE * np.log(strength) / np.log(BASE)
    played_scores = np.where(played, scores, np.nan)
    with np.errstate(invalid="ignore"):
        centre = np.nanmean(played_scores, axis=-1, keepdims=True)
    return played_scores - centre + CENTRE


def win_rates(wins: np.ndarray, games: np.ndarray) -> np.ndarray:
    """Share of games the row model won against the column model (ties as halves); NaN where they never met."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(games > 0, wins / games, np.nan)
