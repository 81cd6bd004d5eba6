"""Property profile (after "Dissecting Human and LLM Preferences", Li et al., ACL 2024): which properties of a
response win pairwise choices, for people and for each AI judge side by side.

Each response gets six properties, computed locally with plain, documented heuristics (English-centred):
- length: words (whitespace-separated tokens);
- refusal: 1 when it declines ("I can't help with", "I cannot provide", "I won't", "I must decline"...);
- uncertainty: 1 when it admits uncertainty ("I'm not sure", "I don't know", "I might be wrong", "not certain"...);
- markdown: 1 when it has markdown structure (a header, a list item, a table row, a code fence or bold text);
- clarifying_question: 1 when it asks the user something (a sentence ending in "?" that says "you" or "your");
- reading_level: the Flesch-Kincaid grade, 0.39 words/sentence + 11.8 syllables/word - 15.59, syllables counted as
  groups of vowels (a final "e" after a consonant other than "l" dropped when a vowel comes before it, at least
  one per word).

A decided comparison of two responses (a pairwise choice, or two responses a ranking put in different groups;
ties are left out) is one row of a logistic regression of "the first won" on the differences first minus second:
log2 of the length ratio ((words + 1) / (words + 1): one unit is twice as long), the differences of the 0/1
properties (one unit: only the first has it) and of the grade (one unit: one grade level higher). A coefficient
is the change in log-odds of winning per unit. The fit is the maximum a posteriori estimate under a standard
normal prior on every coefficient (GAIR fit a Bayesian logistic regression too): it stays finite when a judge
always picks, say, the longer response. Intervals come from the report's item bootstrap.
"""

import re

import numpy as np

from annotate.report.metrics.style import BOLD, HEADER, LIST_ITEM, TOKEN

PROPERTIES = ("length", "refusal", "uncertainty", "markdown", "clarifying_question", "reading_level")
UNITS = {"length": "per doubling of the word count", "refusal": "refusing vs not",
         "uncertainty": "admitting uncertainty vs not", "markdown": "markdown structure vs none",
         "clarifying_question": "asking the user a question vs not", "reading_level": "per grade level"}
PRIOR_PRECISION = 1.0  # a standard normal prior on each coefficient
MAX_ITERATIONS = 50
TOLERANCE = 1e-8
ROUNDS_PER_BATCH = 50  # bootstrap rounds fitted together: bounds the (rounds x comparisons) arrays

_APOSTROPHE = "['\u2019]"
REFUSAL = re.compile(
    rf"\bI\s*(?:can{_APOSTROPHE}?t|cannot|can not|won{_APOSTROPHE}t|will not|am unable to|{_APOSTROPHE}m unable to"
    rf"|am not able to|{_APOSTROPHE}m not able to)\s+(?:help|assist|provide|do|comply|fulfil|fulfill|share|create"
    rf"|write|answer|support|engage)\b|\bI\s+must\s+(?:decline|refuse)\b|\bI{_APOSTROPHE}m sorry,? but I\b",
    re.IGNORECASE)
UNCERTAINTY = re.compile(
    rf"\b(?:I{_APOSTROPHE}m|I am)\s+(?:not\s+(?:sure|certain)|unsure|uncertain)\b|\bI\s+don{_APOSTROPHE}?t\s+know\b"
    rf"|\bI\s+(?:might|may|could)\s+be\s+(?:wrong|mistaken)\b|\bnot\s+(?:entirely|completely|fully)\s+"
    rf"(?:sure|certain)\b|\bI\s+can{_APOSTROPHE}?t\s+be\s+(?:sure|certain)\b|\bto the best of my knowledge\b",
    re.IGNORECASE)
CODE_FENCE = re.compile(r"^\s*```", re.MULTILINE)
TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$", re.MULTILINE)
SENTENCE = re.compile(r"[^.!?]+[.!?]*")
YOU = re.compile(r"\b(?:you|your)\b", re.IGNORECASE)
WORD = re.compile(r"[A-Za-z]+")
NOT_LETTERS = re.compile(r"[^a-z]+")
VOWELS = re.compile(r"[aeiouy]+")
SILENT_E = re.compile(r"[aeiouy][a-z]*[b-df-hj-km-np-tv-xz]e\b")  # make, here; not table, free, the
NO_VOWEL = re.compile(r"\b[b-df-hj-np-tv-xz]+\b")


def syllables(text: str) -> int:
    """Syllables of all words at once (a few regular-expression passes: a report measures every response):
    groups of vowels, less a silent final e, and at least one per word."""
    letters = NOT_LETTERS.sub(" ", text.lower())
    return len(VOWELS.findall(letters)) - len(SILENT_E.findall(letters)) + len(NO_VOWEL.findall(letters))


def reading_level(text: str) -> float:
    """Flesch-Kincaid grade level; 0 for a text without words."""
    words = len(WORD.findall(text))
    if not words:
        return 0.0
    sentences = max(sum(1 for sentence in SENTENCE.findall(text) if WORD.search(sentence)), 1)
    return 0.39 * words / sentences + 11.8 * syllables(text) / words - 15.59


def asks_question(text: str) -> bool:
    return any(sentence.rstrip().endswith("?") and YOU.search(sentence) for sentence in SENTENCE.findall(text))


def response_properties(text: str) -> tuple[float, ...]:
    """The PROPERTIES of one response, in order."""
    markdown = any(pattern.search(text) for pattern in (HEADER, LIST_ITEM, BOLD, CODE_FENCE, TABLE_ROW))
    return (float(len(TOKEN.findall(text))), float(bool(REFUSAL.search(text))),
            float(bool(UNCERTAINTY.search(text))), float(markdown), float(asks_question(text)), reading_level(text))


def property_differences(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """(n, 6) properties of both sides -> (n, 6) regression inputs: log2 length ratio, then plain differences."""
    differences = first - second
    differences[:, 0] = np.log2((first[:, 0] + 1) / (second[:, 0] + 1))
    return differences


def _fit(features: np.ndarray, won: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Newton's method for the MAP logistic regression with an intercept, one fit per column of `weights` (n, R):
    returns (R, 1 + f) coefficients, the intercept first."""
    design = np.column_stack([np.ones(len(won)), features])
    size = design.shape[1]
    beta = np.zeros((weights.shape[1], size))
    prior = PRIOR_PRECISION * np.eye(size)
    for _ in range(MAX_ITERATIONS):
        p = 1 / (1 + np.exp(-(beta @ design.T)))  # (R, n)
        gradient = (weights.T * (won - p)) @ design - beta * PRIOR_PRECISION
        hessian = (design.T * (weights.T * p * (1 - p))[:, None, :]) @ design + prior
        step = np.linalg.solve(hessian, gradient[..., None])[..., 0]
        beta += step
        if np.abs(step).max() < TOLERANCE:
            break
    return beta


def property_regression(features: np.ndarray, won: np.ndarray, *, item: np.ndarray | None = None,
                        item_weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Decided comparisons: (n, f) property differences and whether the first won -> {"coefficients": (1 + f,),
    intercept first}; with each comparison's item and the bootstrap's (items, rounds) weights, also
    "round_coefficients" (rounds, 1 + f)."""
    won = won.astype(np.float64)
    result = {"coefficients": _fit(features, won, np.ones((len(won), 1)))[0]}
    if item_weights is not None:
        rounds = item_weights.shape[1]
        result["round_coefficients"] = np.concatenate([
            _fit(features, won, item_weights[item, start:start + ROUNDS_PER_BATCH])
            for start in range(0, rounds, ROUNDS_PER_BATCH)])
    return result
