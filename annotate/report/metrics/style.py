"""Style-controlled Bradley-Terry, as Chatbot Arena's "style control" fits it.

Length and markdown move human votes. Each battle gets four covariates, the normalised differences of the two
responses' token counts, markdown headers, list items and bold spans: (a - b) / (a + b + 1), then standardised over
the battles. Bradley-Terry is then a logistic regression of the first response's score (1, 0.5 for a tie, 0) on
the model difference (+1 for the first model, -1 for the second) and the covariates. The model coefficients are
the style-controlled strengths, shown on the Elo scale like the plain leaderboard; a covariate's coefficient says
how many log-odds one standard deviation of that difference is worth. Intervals come from the same item
bootstrap, each round refitted from the point estimate with the round's item weights.
"""

import re

import numpy as np

from annotate.report.metrics.leaderboard import BASE, CENTRE, SCALE

FEATURES = ("length", "headers", "lists", "bold")
TOKEN = re.compile(r"\S+")
HEADER = re.compile(r"^ {0,3}#{1,6}\s", re.MULTILINE)
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s", re.MULTILINE)
BOLD = re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__")
RIDGE = 1e-6  # per battle: keeps the fit defined when a model only ever wins, negligible otherwise
MAX_ITERATIONS = 50
TOLERANCE = 1e-9


def style_counts(text: str) -> tuple[int, int, int, int]:
    """Tokens (whitespace-separated), markdown headers, list items and bold spans of a response."""
    return (len(TOKEN.findall(text)), len(HEADER.findall(text)), len(LIST_ITEM.findall(text)),
            len(BOLD.findall(text)))


def style_features(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """(n, 4) counts of both sides -> (n, 4) standardised normalised differences (a constant column stays 0)."""
    first, second = first.astype(np.float64), second.astype(np.float64)
    difference = (first - second) / (first + second + 1)
    spread = difference.std(axis=0)
    return (difference - difference.mean(axis=0)) / np.where(spread > 0, spread, 1)


def _fit(first, second, score, features, weight, n_models, start) -> np.ndarray:
    """Newton's method on the weighted logistic loss. The design is sparse (two model entries a row), so the
    Hessian's model block is built with bincount instead of a dense (n, m) matrix."""
    n_features = features.shape[1]
    beta = start.copy()
    ridge = RIDGE * weight.sum()
    cells = n_models * n_models
    for _ in range(MAX_ITERATIONS):
        logit = beta[first] - beta[second] + features @ beta[n_models:]
        p = 1 / (1 + np.exp(-logit))
        residual = weight * (score - p)
        curvature = weight * p * (1 - p)
        gradient = np.concatenate([
            np.bincount(first, residual, n_models) - np.bincount(second, residual, n_models),
            features.T @ residual]) - ridge * beta
        hessian = np.empty((n_models + n_features, n_models + n_features))
        cross = np.bincount(first * n_models + second, curvature, cells).reshape(n_models, n_models)
        cross = cross + cross.T
        hessian[:n_models, :n_models] = np.diag(cross.sum(axis=1)) - cross
        side = np.empty((n_models, n_features))
        for column in range(n_features):
            weighted = curvature * features[:, column]
            side[:, column] = np.bincount(first, weighted, n_models) - np.bincount(second, weighted, n_models)
        hessian[:n_models, n_models:] = side
        hessian[n_models:, :n_models] = side.T
        hessian[n_models:, n_models:] = (features * curvature[:, None]).T @ features
        hessian += ridge * np.eye(len(beta))
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.abs(step).max() < TOLERANCE:
            break
    return beta


def _elo(beta: np.ndarray, played: np.ndarray) -> np.ndarray:
    scores = SCALE * beta / np.log(BASE)
    scores = np.where(played, scores, np.nan)
    return scores - np.nanmean(scores) + CENTRE


def style_controlled(first: np.ndarray, second: np.ndarray, score: np.ndarray, features: np.ndarray,
                     n_models: int, *, item: np.ndarray | None = None,
                     item_weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Battles (model indices, score of the first, (n, f) covariates) -> {"scores": (m,) Elo-scale strengths (NaN
    for a model without battles), "coefficients": (f,)}. With the battles' items and the bootstrap's (items,
    rounds) weights, also "round_scores" (rounds, m) and "round_coefficients" (rounds, f)."""
    played = np.bincount(np.concatenate([first, second]), minlength=n_models) > 0
    start = np.zeros(n_models + features.shape[1])
    beta = _fit(first, second, score, features, np.ones(len(score)), n_models, start)
    result = {"scores": _elo(beta[:n_models], played), "coefficients": beta[n_models:]}
    if item_weights is not None:
        rounds = [_fit(first, second, score, features, item_weights[item, r], n_models, beta)
                  for r in range(item_weights.shape[1])]
        result["round_scores"] = np.array([_elo(fitted[:n_models], played) for fitted in rounds])
        result["round_coefficients"] = np.array([fitted[n_models:] for fitted in rounds])
    return result
