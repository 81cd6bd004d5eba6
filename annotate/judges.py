"""What an AI judge is asked and how its answers become verdicts: prompts and pure functions, no database.

Pairwise items are judged in both orders (FairEval's balanced position calibration); each order's verdict is read
from the likelihood of the labels after the judge prompt. With evidence, the judge first writes its reasons
(k samples per order) and the verdict after each is scored the same way (multiple-evidence calibration). A verdict
that changes with the order is a tie and a conflict; the entropy of all an item's verdicts (BPDE) says how sure the
judges are. Optionally the judge first writes a checklist of yes/no questions per prompt (TICK), answers each
question for each response by the likelihood of "Yes" against "No", and sees which questions each answer meets
beside the answers it judges. The services (annotate.services.judges) and bench/ai_judge.py use these alike.
"""

import math
import re

from annotate.protocols import CHOICES, RATING_RANGE

PROMPT_VERSION = "concord-judge-v1"
ITEMS_PER_BATCH = 64  # items judged (both orders scored in one call) and committed together
LABELS = ("A", "B", "tie")  # shown first, shown second, tie
ORDERS = ((0, 1), (1, 0))  # slots shown first and second
CHECKLIST_VERSION = "concord-checklist-v1"
CHECKLIST_MAX_QUESTIONS = 6
QUESTION_MAX_LENGTH = 300
YES_NO = ("Yes", "No")
SYSTEM = ("You are a careful, impartial judge of AI assistants' answers. Judge helpfulness, relevance, accuracy and "
          "level of detail. The order in which the answers are shown must not affect your verdict.")


# --- prompts ------------------------------------------------------------------------------------------------------

def _conversation(messages: list[dict]) -> str:
    return "\n".join(f"{message['role'].upper()}: {message['content']}" for message in messages)


def judge_messages(*, guidelines: str, messages: list[dict], answers: list[str], evidence: bool,
                   checklist: str = "") -> list[dict]:
    """The judge prompt of one comparison, answers in the order shown (and `checklist` of checklist_evidence
    written for that order)."""
    parts = [f"[Guidelines]\n{guidelines.strip()}\n"] if guidelines.strip() else []
    parts.append(f"[Conversation]\n{_conversation(messages)}\n")
    for label, answer in zip("AB", answers, strict=True):
        parts.append(f"[Answer {label}]\n{answer}\n[End of answer {label}]\n")
    if checklist:
        parts.append(checklist)
    if evidence:
        parts.append("First explain briefly which answer is better and why. Then end with one line: "
                     "'Verdict: A', 'Verdict: B' or 'Verdict: tie'.")
    else:
        parts.append("Which answer is better? Reply with one word: A, B or tie.")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(parts)}]


def rating_messages(*, guidelines: str, messages: list[dict], answer: str, checklist: str = "") -> list[dict]:
    low, high = RATING_RANGE
    parts = [f"[Guidelines]\n{guidelines.strip()}\n"] if guidelines.strip() else []
    parts += [f"[Conversation]\n{_conversation(messages)}\n", f"[Answer]\n{answer}\n[End of answer]\n"]
    if checklist:
        parts.append(checklist)
    parts += [f"Rate the answer from {low} (very poor) to {high} (excellent). Reply with the number only."]
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(parts)}]


def checklist_messages(*, messages: list[dict]) -> list[dict]:
    """Ask for the checklist of one prompt (TICK): yes/no questions that a good answer must satisfy."""
    return [{"role": "system", "content": "You write checklists for judging AI assistants' answers."},
            {"role": "user", "content": (
                f"[Conversation]\n{_conversation(messages)}\n\nWrite a checklist of 2 to {CHECKLIST_MAX_QUESTIONS} "
                "yes/no questions, specific to this request, that a good answer to its last message must satisfy "
                "(\"Yes\" always meaning better). One question a line, nothing else.")}]


def checklist_parse(text: str) -> list[str]:
    """The questions of a generated checklist: one a line, list marks and numbers dropped, repeats and blank lines
    left out, the first CHECKLIST_MAX_QUESTIONS kept."""
    questions: list[str] = []
    for line in text.splitlines():
        question = re.sub(r"^\s*(?:[-*\u2022]|\d+[.)])\s*", "", line).strip()[:QUESTION_MAX_LENGTH]
        if question and question not in questions:
            questions.append(question)
    return questions[:CHECKLIST_MAX_QUESTIONS]


def question_messages(*, messages: list[dict], answer: str, question: str) -> list[dict]:
    """Ask whether one answer meets one checklist question; read as the likelihood of YES_NO."""
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": (
        f"[Conversation]\n{_conversation(messages)}\n\n[Answer]\n{answer}\n[End of answer]\n\n"
        f"[Question]\n{question}\n\nDoes the answer meet this? Reply with one word: Yes or No.")}]


def checklist_evidence(questions: list[str], answers: list[tuple[str, list[float]]]) -> str:
    """The checklist and the questions each answer meets (P(yes) at least a half), for a judge prompt; `answers`
    are (name, P(yes) per question) in the order the answers are shown."""
    lines = ["[Checklist]", *(f"{number}. {question}" for number, question in enumerate(questions, 1))]
    for name, yes in answers:
        met = [str(number) for number, p in enumerate(yes, 1) if p >= 0.5]
        lines.append(f"{name} meets {len(met)} of {len(questions)}" + (f": {', '.join(met)}." if met else "."))
    return "\n".join(lines) + "\n"


def checklist_score(yes: list[float]) -> float:
    """TICK's pass rate: the share of the questions answered yes."""
    return round(sum(p >= 0.5 for p in yes) / len(yes), 6)


# --- verdicts ----------------------------------------------------------------------------------------------

def label_probabilities(scores: list[float]) -> list[float]:
    """Log-likelihoods of the labels -> their probabilities, normalised over the labels."""
    top = max(scores)
    weights = [math.exp(score - top) for score in scores]
    return [weight / sum(weights) for weight in weights]


def canonical(probabilities: list[float], shown: tuple[int, int]) -> list[float]:
    """Probabilities of (shown first, shown second, tie) -> of (a, b, tie): slot 0 is a."""
    by_slot = [0.0, 0.0]
    by_slot[shown[0]], by_slot[shown[1]] = probabilities[0], probabilities[1]
    return [*by_slot, probabilities[2]]


def entropy_bits(verdicts: list[str]) -> float:
    """Entropy of the verdicts' distribution over a, b and tie (FairEval's BPDE): 0 when all agree."""
    shares = [verdicts.count(choice) / len(verdicts) for choice in CHOICES]
    return -sum(share * math.log2(share) for share in shares if share) + 0.0


def pairwise_verdict(orders: list[dict]) -> dict:
    """The judgment of both orders' evaluations: {"shown": slots, "probs": [[a, b, tie] per sample]} each.

    Each order's verdict is the choice with the highest mean probability over its samples. Orders that disagree
    are a conflict and the recorded choice is a tie; the entropy is that of every sample's verdict."""
    verdicts, order_verdicts = [], []
    for order in orders:
        samples = order["probs"]
        verdicts += [CHOICES[max(range(3), key=probs.__getitem__)] for probs in samples]
        mean = [sum(probs[index] for probs in samples) / len(samples) for index in range(3)]
        order_verdicts.append(CHOICES[max(range(3), key=mean.__getitem__)])
    conflict = len(set(order_verdicts)) > 1
    return {"choice": "tie" if conflict else order_verdicts[0], "order_verdicts": order_verdicts,
            "verdicts": verdicts, "conflict": conflict, "entropy": round(entropy_bits(verdicts), 6)}


