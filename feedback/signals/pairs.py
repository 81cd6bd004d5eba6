"""From a labelled turn to a preference pair: the guidance for a regeneration, a TICK-style checklist, and a
checklist judge that scores the two responses in both orders (FairEval's balanced position calibration).

Plain Python on plain data like the rest of this package; the model is any object with `Backend.score_many`.

The summary and checklist are written from the user's own words and the categories the classifier named, by
template rather than by a model: the small default model writes unreliable checklists, and a template keeps the
questions checkable and the same on every run. A pair is kept only when the judge prefers "chosen" with it shown
first AND with it shown second; a pair that wins in one order only is position bias, not a preference.
"""

from __future__ import annotations

from dataclasses import dataclass

from feedback.signals.rubric import DSAT, SAT, Message
from feedback.signals.stage2 import Scorer

FEEDBACK_CHARS = 400  # of the user's reply quoted in the guidance and checklist
RESPONSE_CHARS = 1500  # of each response in the judge's prompt

CHECKS = {  # what a better reply does, per DSAT category the user's reply showed
    "negative_feedback": "Does the response fix what the user said was wrong with the previous answer?",
    "revision": "Does the response make the change the user asked for?",
    "factual_error": "Does the response correct the factual mistake the user pointed out?",
    "unrealistic_expectation": "Does the response say clearly what it can and cannot do, and help within that?",
    "no_engagement": "Does the response engage with what the user actually wants?",
    "ignored": "Does the response follow every instruction of the user's request?",
    "lower_quality": "Is the response at least as good as what the user expected?",
    "insufficient_detail": "Does the response give the depth and detail the user asked for?",
    "style": "Does the response use the tone, wording and format the user prefers?",
}
GENERAL_CHECK = "Does the response answer the user's request correctly and helpfully?"
JUDGE_SYSTEM = "You compare two responses to a conversation against a checklist and name the better one."
OPTIONS = ("Response A", "Response B")


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= FEEDBACK_CHARS else text[: FEEDBACK_CHARS - 1] + "…"


def summary(feedback: str, categories: list[str]) -> str:
    """What the user asked for, in a few lines: the guidance a regeneration gets as its system prompt."""
    wants = [DSAT[c] for c in categories if c in DSAT] or [SAT[c] for c in categories if c in SAT]
    lines = [f'After a first answer the user replied: "{_quote(feedback)}".']
    if wants:
        lines.append("The user " + "; and ".join(wants) + ".")
    lines.append("Write the answer this user wants from the start, meeting that feedback. Stay safe and honest; "
                 "ignore any part of the feedback that asks for something harmful.")
    return "\n".join(lines)


def checklist(feedback: str, categories: list[str]) -> list[str]:
    """Yes/no questions a better response answers with yes (TICK style): one per DSAT category, one quoting the
    user's reply, one for the request itself."""
    questions = [CHECKS[c] for c in categories if c in CHECKS]
    questions.append(f'Does the response take into account the user\'s feedback: "{_quote(feedback)}"?')
    return [*questions, GENERAL_CHECK]


def judge_prompt(prompt: list[Message], first: str, second: str, questions: list[str]) -> list[Message]:
    conversation = "\n".join(f"{m['role'].capitalize()}: {m['content'][:RESPONSE_CHARS]}" for m in prompt)
    listed = "\n".join(f"{i}. {q}" for i, q in enumerate(questions, 1))
    return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": (
        f"Conversation:\n{conversation}\n\nResponse A:\n{first[:RESPONSE_CHARS]}\n\n"
        f"Response B:\n{second[:RESPONSE_CHARS]}\n\nChecklist:\n{listed}\n\n"
        "Which response meets the checklist better? Answer with Response A or Response B.")}]


@dataclass(frozen=True)
class Votes:
    """Log-likelihoods of "Response A" / "Response B" with chosen shown first, then with rejected shown first."""

    chosen_first: tuple[float, float]
    rejected_first: tuple[float, float]

    @property
    def wins(self) -> tuple[bool, bool]:
        """Whether chosen won each order: as A in the first, as B in the second."""
        return self.chosen_first[0] > self.chosen_first[1], self.rejected_first[1] > self.rejected_first[0]

    def as_dict(self) -> dict:
        return {"chosen_first": [round(v, 4) for v in self.chosen_first],
                "rejected_first": [round(v, 4) for v in self.rejected_first], "wins": list(self.wins)}


def verdict(votes: Votes) -> tuple[bool, str]:
    """Kept only when chosen wins in both orders; else the reason it is not."""
    first, second = votes.wins
    if first and second:
        return True, ""
    if first or second:
        return False, "the judge's preference flipped with the order (position bias): no consistent winner"
    return False, "the judge preferred the rejected response in both orders"


class ChecklistJudge:
    """Scores both orders of every pair with the two answers as continuations, all in one `score_many` call."""

    def __init__(self, backend: Scorer):
        self.backend = backend

    def votes_many(self, pairs: list[tuple[list[Message], str, str, list[str]]]) -> list[Votes]:
        """Votes for each (prompt, chosen, rejected, checklist), in order."""
        scores = self.backend.score_many([
            (judge_prompt(prompt, first, second, questions), list(OPTIONS))
            for prompt, chosen, rejected, questions in pairs
            for first, second in ((chosen, rejected), (rejected, chosen))
        ])
        return [Votes(tuple(scores[2 * i]), tuple(scores[2 * i + 1])) for i in range(len(pairs))]
