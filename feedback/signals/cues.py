"""Hand-written cues on a user turn in context, as features for stage 1.

An embedding of the user's words alone cannot see the context: "No, aisle please" answers the assistant's question,
"No, that's wrong" rejects its answer; a request sent twice means the first reply missed it. These cues read the
previous messages, are cheap regular expressions, and each returns 0 or 1 except `repeat`, a word overlap.
"""

from __future__ import annotations

import re

from feedback.signals.rubric import Message

THANKS = re.compile(r"\b(thanks?|thank (you|u)|thx|ty|cheers|appreciated?|danke|merci|gracias|much obliged)\b", re.I)
ACCEPT = re.compile(
    r"(?<!almost )(?<!nearly )(?<!not )(?<!n't )\b(perfect|great|awesome|excellent|brilliant|exactly|nailed|"
    r"love (it|this)|works|worked|that did it|spot on|sounds good|good idea|will do|makes sense|got it)\b",
    re.I,
)
NEGATION = re.compile(
    r"^\W*(no|nope|nah|wrong|incorrect|not)\b(?!\s+(worries|rush|problem|pressure|hurry|need|stress)\b)|"
    r"\b(that'?s|this is|it'?s|is) (not|wrong|incorrect|false|outdated|off)\b|"
    r"\b(not (what|it|true|right|correct)|doesn'?t (work|help|exist|add up|make sense)|didn'?t (work|answer|help)|"
    r"you (said|wrote|gave|forgot|missed|ignored|skipped|didn'?t)|makes no sense|useless|nonsense)\b",
    re.I,
)
CORRECTION = re.compile(r"\b(actually|should be|in fact|is really)\b|,\s*not\b|\bnot\s+(the\s+)?\d", re.I)
SELF_CORRECTION = re.compile(
    r"(^\s*\*\w)|\b(typo|i meant|my (bad|mistake)|autocorrect|misspel\w*|i wrote the wrong|correction to what i|"
    r"wrong (button|chat|window|tab|thread|message)|i (had|got) (it|this|that)( all| completely)? wrong|i was wrong)\b",
    re.I,
)
# The reply was partly right and the user builds on it (SPUR's cooperative correction, WildFeedback's getting there):
# satisfaction with the direction, though the turn asks for a change.
PARTIAL = re.compile(
    r"\b(almost|nearly|closer|halfway|getting (there|somewhere|closer)|most of it|(that'?s|an?) improvement|"
    r"on the right track|this direction)\b|\bbetter[!,.]",
    re.I,
)
NEW_REQUEST = re.compile(
    r"\b(and now|now (can|could|translate|how|what|i)|next( question)?[:,]|also,|one more|another thing|different "
    r"(topic|question|thing)|unrelated|new question|switching topics|something else)\b",
    re.I,
)
POSITIVE = re.compile(
    r"\b(good|great|nice|cool|love|lovely|best|amazing|wonderful|fantastic|impressive|helpful|useful|clear|"
    r"well (done|written|put)|beautiful|adorable|funny|fun|happy|glad|enjoy\w*|haha\w*|lol|lmao)\b|[😂😄😊👍🙏]",
    re.I,
)
NEGATIVE = re.compile(
    r"\b(bad|worse|worst|terrible|awful|poor|useless|pointless|annoying|boring|generic|vague|confusing|wrong|"
    r"disappointing|disappointed|frustrat\w*|ridiculous|lazy|garbage|rubbish|meh|ugh|too (long|short|formal|"
    r"casual|much|many|complicated|simple))\b",
    re.I,
)
QUESTION = re.compile(r"\?\s*$|^\W*(what|which|when|where|who|why|how|is|are|does|do|can|could|would|will)\b", re.I)
WORD = re.compile(r"[a-z0-9']+")
STOP = set(
    "a an the i you me my to for of in on at and or is it this that be can could please with from do how what "
    "so but just".split()
)


def previous(messages: list[Message], role: str) -> list[str]:
    """Contents of the earlier messages with this role, oldest first (the last message is the turn itself)."""
    return [m["content"] for m in messages[:-1] if m["role"] == role]


def asked_question(messages: list[Message]) -> float:
    """The assistant's last reply ended on a question, so a "no" or a bare choice answers it rather than rejects it."""
    replies = previous(messages, "assistant")
    return float(bool(replies) and replies[-1].rstrip().endswith("?"))


def negation(messages: list[Message]) -> float:
    """The turn denies or rejects what came before ("no, that's wrong", "that doesn't work")."""
    return float(bool(NEGATION.search(messages[-1]["content"])))


def rejects_answer(messages: list[Message]) -> float:
    """A negation that neither answers the assistant's question nor fixes the user's own words ("wrong button,
    sorry"): the strongest single DSAT cue."""
    return negation(messages) * (1.0 - asked_question(messages)) * (1.0 - self_correction(messages))


def correction(messages: list[Message]) -> float:
    """The turn sets a fact straight ("actually it leaves at 9:40", "it's X, not Y")."""
    return float(bool(CORRECTION.search(messages[-1]["content"])))


def self_correction(messages: list[Message]) -> float:
    """The user fixes their own earlier words (a typo, "I meant"), which says nothing about the reply."""
    return float(bool(SELF_CORRECTION.search(messages[-1]["content"])))


def content_words(text: str) -> set[str]:
    return {w for w in WORD.findall(text.lower()) if w not in STOP}


def repeat(messages: list[Message]) -> float:
    """Largest word overlap (Jaccard) with an earlier user turn: a request sent again because the reply missed it."""
    words = content_words(messages[-1]["content"])
    if not words:
        return 0.0
    earlier = [content_words(text) for text in previous(messages, "user")]
    return max((len(words & other) / len(words | other) for other in earlier if other), default=0.0)


def thanks(messages: list[Message]) -> float:
    """Thanks in any of the usual short forms."""
    return float(bool(THANKS.search(messages[-1]["content"])))


def partial(messages: list[Message]) -> float:
    """The answer was partly right ("nearly", "closer", "that's an improvement"): the user builds on it."""
    return float(bool(PARTIAL.search(messages[-1]["content"])))


def acceptance(messages: list[Message]) -> float:
    """Words that accept the answer ("perfect", "works", "sounds good"), not when qualified ("almost perfect")."""
    return float(bool(ACCEPT.search(messages[-1]["content"])))


def new_request(messages: list[Message]) -> float:
    """A marker of a new, different request ("and now", "unrelated", "one more"): not a revision of the last one."""
    return float(bool(NEW_REQUEST.search(messages[-1]["content"])))


def positive(messages: list[Message]) -> float:
    """General positive words and emoji: sentiment the small embedding model encodes only weakly."""
    return float(bool(POSITIVE.search(messages[-1]["content"])))


def negative(messages: list[Message]) -> float:
    """General negative words, including "too long" and the like."""
    return float(bool(NEGATIVE.search(messages[-1]["content"])))


def question(messages: list[Message]) -> float:
    """The turn asks something: questions are mostly follow-ups or clarifications, not verdicts on the answer."""
    return float(bool(QUESTION.search(messages[-1]["content"])))


def short(messages: list[Message]) -> float:
    """Three words or fewer: acknowledgments and brush-offs are short, so length separates them from requests."""
    return float(len(messages[-1]["content"].split()) <= 3)


CUES = {
    fn.__name__: fn
    for fn in (asked_question, negation, rejects_answer, correction, self_correction, repeat, thanks, acceptance,
               partial, new_request, positive, negative, question, short)
}


def cue_vector(messages: list[Message]) -> list[float]:
    """All cues of one turn, in CUES order."""
    return [fn(messages) for fn in CUES.values()]


def fired_in(vector) -> list[str]:
    """Names of the cues that fire in a vector already computed by `cue_vector` (a feature row's tail, say)."""
    return [name for name, value in zip(CUES, vector, strict=True) if value >= 0.5]
