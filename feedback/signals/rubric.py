"""The 9 satisfaction and 9 dissatisfaction categories of SPUR as WildFeedback adapted them, and the Signal value.

Names follow WildFeedback's rubric; the one-line descriptions are ours. They are written as what the user's turn
does to the assistant's previous reply, because stage 2 scores them as text and a label always refers to that reply.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": "..."}

SAT: dict[str, str] = {
    "gratitude": "thanks the assistant for the previous answer",
    "learning": "says the answer taught them something or made a point clear to them",
    "compliance": "takes up the assistant's suggestion or says they will act on it",
    "praise": "compliments the answer or the assistant directly",
    "personal_details": "opens up with details of their own life or situation, trusting the assistant with them",
    "humor": "laughs or jokes in a friendly way about the answer",
    "acknowledgment": "briefly confirms they received the answer, as in ok or got it",
    "positive_closure": "ends the conversation on a pleased, friendly note",
    "getting_there": "finds the answer partly right and cooperatively builds on it toward the goal",
}
DSAT: dict[str, str] = {
    "negative_feedback": "says plainly that the answer is bad, useless or not what they wanted",
    "revision": "asks for the answer to be redone or changed, for example shorter, longer or in another form",
    "factual_error": "points out that something in the answer is factually wrong",
    "unrealistic_expectation": "is unhappy because the assistant cannot do something beyond its abilities",
    "no_engagement": "brushes the answer off or disengages without taking it up",
    "ignored": "complains that their request or instruction was not followed or was left out",
    "lower_quality": "says the answer is worse than an earlier one or below what they expected",
    "insufficient_detail": "says the answer is too shallow or vague and asks for more depth",
    "style": "objects to the tone, wording or formatting of the answer rather than its content",
}
CATEGORIES: list[str] = list(SAT) + list(DSAT)


@dataclass(frozen=True)
class Signal:
    """What one user turn says about the assistant reply just before it.

    `sat` and `dsat` can both hold ("thanks, but shorter please"). `confidence` is the probability behind the
    strongest flag raised, or of "neither" when none is; `method` names the stage and model version that decided.
    """

    sat: bool
    dsat: bool
    categories: list[str] = field(default_factory=list)
    confidence: float = 0.0
    method: str = ""
    rationale: str = ""


def user_turns(messages: list[Message]) -> list[tuple[int, list[Message]]]:
    """Each user message that follows an assistant message, as (its index, the messages up to and including it).

    Only these turns can react to a reply, and the label of each belongs to the assistant message just before it;
    the index is the one `signal_line` exports.
    """
    return [
        (i, messages[: i + 1])
        for i in range(1, len(messages))
        if messages[i]["role"] == "user" and messages[i - 1]["role"] == "assistant"
    ]


def signal_line(conversation: str | int, turn: int, signal: Signal) -> dict:
    """One line of `export_signals`: `turn` is the index of the user message in the conversation's messages."""
    return {
        "conversation": conversation,
        "turn": turn,
        "sat": signal.sat,
        "dsat": signal.dsat,
        "categories": list(signal.categories),
        "confidence": round(float(signal.confidence), 4),
        "method": signal.method,
    }
