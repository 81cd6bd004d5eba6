"""Stage 2: a model-host backend re-judges the turns stage 1 flagged, by how likely it finds each rubric option.

Two judges, each scoring the 18 categories and a "no reaction" option through `Backend.score_many`:
- `LikelihoodJudge` (the default): "The user <description>." for each option scored as the judge's answer after
  the turn, 19 continuations of about 15 tokens (run on the turn's cached keys and values);
- `ChoiceJudge`: the options listed once, lettered, in the instructions, and the answer read as the next-token
  distribution over the letters: one forward pass per turn over its own messages (the instructions are the same
  for every turn, and `score_many` runs those shared tokens once per batch). About 3.5 times cheaper on CPU, but
  SmolLM2-135M cannot read lettered options (below-chance ROC AUC on the train split), so it is for an endpoint
  that can, measured first (`bench/feedback_eval.py`).
Raw log-likelihoods favour short, common sentences and small models favour some letters, so each option is
calibrated by its likelihood after a content-free conversation (domain-conditional PMI): what the conversation
adds to the option is what counts.

Stage 2 only confirms: a flag stays when its best category beats "no reaction" by `margin`, so stage 1 sets recall
and stage 2 can only buy precision. Any backend works (the SmolLM2 default, a vLLM endpoint): nothing here knows
which, and a judge can be swapped for any object with the same `judge` method (constrained JSON, say).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Protocol

from feedback.signals.rubric import DSAT, SAT, Message, Signal

NONE = "none"
NONE_DESCRIPTION = "asks or tells something new without reacting to the previous reply"
SYSTEM = "You read conversations between a user and an AI assistant and describe the user's reaction."
QUESTION = "How does the user's last message react to the assistant's previous reply? Answer in one sentence."
CHOICE = ("Which option describes how the user's last message reacts to the assistant's previous reply? "
          "Answer with its letter only.")
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CONTENT_FREE = [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."},
                {"role": "user", "content": "..."}]
MAX_CHARS = 600  # per message in the judge's prompt: the reaction is in the last turn, older text is only context
CONTEXT_MESSAGES = 3  # the request, the reply and the reaction: older messages rarely decide and cost tokens


# FLR's follow-ups (Zhang et al. 2025, one of its positive and negative templates per facet; reference notes 6.4).
FLR_POSITIVE = ["That makes perfect sense!", "That answers my question perfectly.", "That's the right answer.",
                "I enjoyed reading your response.", "I learned a lot from your response.",
                "You did exactly as I instructed."]
FLR_NEGATIVE = ["That's not what I was asking.", "That's off-topic from what I asked.", "Your information is wrong.",
                "That was a really boring response.", "Your answer lacks the details I need.",
                "You didn't follow my instructions."]


class Scorer(Protocol):
    """What the judge needs of a model: any model-host backend (`modelhost.registry.backend_for`) is one."""

    def score(self, messages: list[Message], completions: list[str]) -> list[float]: ...

    def score_many(
        self, items: list[tuple[list[Message], list[str]]], *, role: str = "assistant"
    ) -> list[list[float]]: ...


class Judge(Protocol):
    name: str

    def judge(self, turns: list[list[Message]], sides: list[set[str]] | None = None) -> list[Signal]:
        """A signal for each turn, in order; with `sides`, only those flags ("sat", "dsat") of each turn are judged
        (the others come back unraised), which lets a judge skip work that `refine` would throw away."""
        ...


def render(turn: list[Message]) -> str:
    """The end of the conversation as plain text, each message clipped, the user's last message marked."""
    lines = [f"{m['role'].capitalize()}: {m['content'][:MAX_CHARS]}" for m in turn[-CONTEXT_MESSAGES:-1]]
    return "\n".join(lines + [f"User (last message): {turn[-1]['content'][:MAX_CHARS]}"])


def judge_prompt(turn: list[Message]) -> list[Message]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": f"{render(turn)}\n\n{QUESTION}"}]


class _OptionJudge(ABC):
    """Verdicts from calibrated option scores; a subclass says how the options are scored (`scores_many`)."""

    options = {**SAT, **DSAT, NONE: NONE_DESCRIPTION}

    def __init__(self, backend: Scorer, name: str, margin: float = 0.0):
        self.backend, self.name, self.margin = backend, name, margin

    @abstractmethod
    def scores_many(self, turns: list[list[Message]], sides: list[set[str]] | None = None) -> list[dict[str, float]]:
        """Calibrated log-likelihood of each option (category name or "none") for each turn, in one `score_many`
        call; with `sides`, only the options of those sides (and "none")."""

    def scores(self, turn: list[Message]) -> dict[str, float]:
        return self.scores_many([turn])[0]

    def judge(self, turns: list[list[Message]], sides: list[set[str]] | None = None) -> list[Signal]:
        signals = []
        for score in self.scores_many(turns, sides):
            best = {
                side: max(names, key=score.get)
                for side, names in (("sat", SAT), ("dsat", DSAT))
                if any(name in score for name in names)
            }
            raised = {side: side in best and score[best[side]] > score[NONE] + self.margin for side in ("sat", "dsat")}
            categories = [best[side] for side in ("sat", "dsat") if raised[side]]
            top = max(score, key=score.get)
            margin = score[top] - score[NONE]  # squashed to (0, 1) below, so it reads like stage 1's probabilities
            signals.append(Signal(
                raised["sat"], raised["dsat"], categories, confidence=1 / (1 + math.exp(-margin)),
                method=f"stage2:{self.name}", rationale=f"best option {top} ({score[top]:+.2f} vs none)",
            ))
        return signals


class LikelihoodJudge(_OptionJudge):
    """Scores "The user <description>." for every option (only the flagged sides' and "none" with `sides`)."""

    def __init__(self, backend: Scorer, name: str, margin: float = 0.0):
        super().__init__(backend, name, margin)
        self.texts = [f"The user {description}." for description in self.options.values()]
        (self.baseline,) = backend.score_many([(judge_prompt(CONTENT_FREE), self.texts)])

    def scores_many(self, turns: list[list[Message]], sides: list[set[str]] | None = None) -> list[dict[str, float]]:
        names = list(self.options)
        chosen = [[i for i, name in enumerate(names) if name in _options(side)] for side in sides] if sides \
            else [range(len(names))] * len(turns)
        raws = self.backend.score_many(
            [(judge_prompt(turn), [self.texts[i] for i in index]) for turn, index in zip(turns, chosen, strict=True)]
        )
        return [
            {names[i]: r - self.baseline[i] for i, r in zip(index, raw, strict=True)}
            for index, raw in zip(chosen, raws, strict=True)
        ]


class ChoiceJudge(_OptionJudge):
    """Reads the lettered options as the next token after one prompt per turn (all letters from the same pass)."""

    def __init__(self, backend: Scorer, name: str, margin: float = 0.0):
        super().__init__(backend, name, margin)
        self.letters = list(LETTERS[: len(self.options)])
        rubric = "\n".join(f"{letter}. The user {text}." for letter, text in zip(self.letters, self.options.values(),
                                                                                  strict=True))
        self.system = f"{SYSTEM}\n\nOptions:\n{rubric}\n\n{CHOICE}"
        (self.baseline,) = backend.score_many([(self.prompt(CONTENT_FREE), self.letters)])

    def prompt(self, turn: list[Message]) -> list[Message]:
        """The same instructions for every turn first (the shared tokens), then this turn's messages."""
        return [{"role": "system", "content": self.system}, {"role": "user", "content": render(turn)}]

    def scores_many(self, turns: list[list[Message]], sides: list[set[str]] | None = None) -> list[dict[str, float]]:
        raws = self.backend.score_many([(self.prompt(turn), self.letters) for turn in turns])
        wanted = [_options(side) for side in sides] if sides else [set(self.options)] * len(turns)
        return [{name: r - b for name, r, b in zip(self.options, raw, self.baseline, strict=True) if name in keep}
                for raw, keep in zip(raws, wanted, strict=True)]


def _options(sides: set[str]) -> set[str]:
    return {NONE} | {name for side, names in (("sat", SAT), ("dsat", DSAT)) if side in sides for name in names}


def follow_up_likelihood(backend: Scorer, turns: list[list[Message]]) -> list[float]:
    """FLR of the reply each turn reacts to: how much likelier the model finds a pleased follow-up than an unhappy
    one after that reply (mean log-likelihood of FLR's positive minus negative follow-ups, as the user's message).

    It reads only the conversation up to the reply, never the user's actual reaction, so it is a prior on the reply's
    quality: low values should go with DSAT turns. Backends that cannot score a user message raise NotSupported.
    """
    follow_ups = FLR_POSITIVE + FLR_NEGATIVE
    scores = backend.score_many([(turn[:-1], follow_ups) for turn in turns], role="user")
    half = len(FLR_POSITIVE)
    return [sum(s[:half]) / half - sum(s[half:]) / (len(s) - half) for s in scores]


def refine(turns: list[list[Message]], first: list[Signal], judge: Judge) -> list[Signal]:
    """Stage 1's signals with its flagged turns re-judged: a flag stays only where the judge raises it too.

    The kept categories are stage 1's (measured against the labels; the small judge's names were worse, e.g.
    "getting there" for "Perfect, thanks"); the judge's pick is in the rationale, and the method names both.
    Only the flagged sides are judged.
    """
    candidates = [i for i, signal in enumerate(first) if signal.sat or signal.dsat]
    sides = [{side for side in ("sat", "dsat") if getattr(first[i], side)} for i in candidates]
    verdicts = dict(zip(candidates, judge.judge([turns[i] for i in candidates], sides), strict=True))
    out = list(first)
    for i, verdict in verdicts.items():
        sat, dsat = first[i].sat and verdict.sat, first[i].dsat and verdict.dsat
        kept = [c for c in first[i].categories if (c in SAT and sat) or (c in DSAT and dsat)]
        out[i] = Signal(sat, dsat, kept, verdict.confidence, f"{first[i].method}+{verdict.method}",
                        f"{first[i].rationale}; {verdict.rationale}")
    return out

