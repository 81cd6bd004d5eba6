"""Validation of answers, shared by the UI, the API and the judgment importer.

Answers are checked against the item's candidates and the protocol; a bad answer raises a
ValidationError naming the field, and nothing is written. Every writer of judgments also calls `judgment_writes_hold`
(see annotate.selectors.snapshot).
"""

from django.core.exceptions import ValidationError
from django.db import connection

from annotate.protocols import (
    ATTRIBUTE_RANGE,
    ATTRIBUTES,
    MIN_RESPONSES,
    RATING_RANGE,
    SAFETY,
    STRENGTH_RANGE,
    Protocol,
)


def _int_in(value, low: int, high: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError({field: f"must be an integer from {low} to {high}, got {value!r}."})
    return value


def answer_clean(*, protocol: str, candidate_ids: list[str], answer: dict) -> dict:
    """Return the judgment fields for `answer` (choice/strength/ranking/ratings/attributes/rationale)."""
    fields = {"choice": "", "strength": None, "ranking": None, "ratings": None, "attributes": None,
              "rationale": str(answer.get("rationale") or "").strip()}
    ids = set(candidate_ids)
    if len(candidate_ids) < MIN_RESPONSES.get(protocol, 1):
        raise ValidationError({"protocol": f"{protocol} judgments need at least {MIN_RESPONSES[protocol]} responses."})
    if protocol == Protocol.PAIRWISE:
        if len(candidate_ids) != 2:
            raise ValidationError({"protocol": "pairwise judgments need exactly two responses."})
        choice = answer.get("choice")
        if choice not in ("a", "b", "tie"):
            raise ValidationError({"choice": f'must be "a", "b" or "tie", got {choice!r}.'})
        strength = answer.get("strength")
        if strength is not None:
            strength = _int_in(strength, *STRENGTH_RANGE, "strength")
            expected = {"a": strength < 0, "b": strength > 0, "tie": strength == 0}[choice]
            if not expected:
                raise ValidationError({"strength": "negative means A is better, positive B, 0 a tie; it must "
                                                   f"agree with the choice {choice!r}."})
        fields.update(choice=choice, strength=strength)
    elif protocol == Protocol.RANKING:
        ranking = answer.get("ranking")
        if not isinstance(ranking, list) or not all(isinstance(group, list) and group for group in ranking):
            raise ValidationError({"ranking": "must be a list of non-empty groups of response ids, best first."})
        flat = [response for group in ranking for response in group]
        if sorted(map(str, flat)) != sorted(ids) or len(flat) != len(ids):
            raise ValidationError({"ranking": f"must rank each response exactly once: {sorted(ids)}."})
        fields["ranking"] = [[str(response) for response in group] for group in ranking]
    elif protocol == Protocol.RATING:
        ratings = answer.get("ratings")
        if not isinstance(ratings, dict) or set(map(str, ratings)) != ids:
            raise ValidationError({"ratings": f"must rate every response: {sorted(ids)}."})
        fields["ratings"] = {str(k): _int_in(v, *RATING_RANGE, f"ratings.{k}") for k, v in ratings.items()}
    elif protocol == Protocol.ATTRIBUTES:
        attributes = answer.get("attributes")
        if not isinstance(attributes, dict) or set(map(str, attributes)) != ids:
            raise ValidationError({"attributes": f"must score every response: {sorted(ids)}."})
        cleaned = {}
        for response, scores in attributes.items():
            if not isinstance(scores, dict) or set(scores) - {*ATTRIBUTES, SAFETY} or set(ATTRIBUTES) - set(scores):
                raise ValidationError({"attributes": f"{response}: score each of {', '.join(ATTRIBUTES)} "
                                                     f"(and optionally {SAFETY})."})
            cleaned[str(response)] = {name: _int_in(scores[name], *ATTRIBUTE_RANGE, f"attributes.{response}.{name}")
                                      for name in ATTRIBUTES}
            cleaned[str(response)][SAFETY] = _int_in(scores.get(SAFETY, 0), 0, 1, f"attributes.{response}.{SAFETY}")
        fields["attributes"] = cleaned
    else:
        raise ValidationError({"protocol": f"unknown protocol {protocol!r}; use one of {', '.join(Protocol.values)}."})
    return fields


def gold_check(*, protocol: str, gold: dict, fields: dict) -> bool | None:
    """Whether an answer matches the gold answer: same choice, or same best response. None if not comparable."""
    if not gold:
        return None
    if protocol == Protocol.PAIRWISE and "choice" in gold:
        return fields["choice"] == gold["choice"]
    if protocol == Protocol.RANKING and gold.get("ranking"):
        return set(fields["ranking"][0]) == set(gold["ranking"][0])
    return None


JUDGMENT_WRITES_LOCK = 0x4A554447  # the advisory lock key ("JUDG")


def judgment_writes_hold() -> None:
    """Call in a transaction that adds judgments, before it adds them: a snapshot waits for it to commit."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [JUDGMENT_WRITES_LOCK])
