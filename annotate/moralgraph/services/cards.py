"""Values cards: the rules a card must meet, reading a card out of a model reply, and every edit of a card."""

import json
import re

from django.core.exceptions import ValidationError
from django.db import transaction

from annotate.moralgraph.models import CardVersion, Interview, ValuesCard

MIN_POLICIES, MAX_POLICIES = 2, 10
MAX_TITLE, MAX_DESCRIPTION, MAX_POLICY = 100, 300, 300
# A policy opens with a capitalised noun phrase ("MOMENTS", "SMALL ACTS") and goes on with a qualifier.
POLICY = re.compile(r"^((?:[A-Z][A-Z'’-]+\s+)+)(\S.*)$")
IRREGULAR_PLURALS = {"PEOPLE", "CHILDREN", "MEN", "WOMEN", "CRITERIA", "PHENOMENA", "DATA", "FEET", "TEETH"}
FENCED = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.DOTALL)


def _policy_problem(policy: str) -> str:
    match = POLICY.match(policy)
    if not match:
        return "must start with a capitalised plural noun, e.g. \"MOMENTS where ...\""
    noun = match.group(1).split()[-1].strip("'’-")
    if not (noun.endswith("S") or noun in IRREGULAR_PLURALS):
        return f"must start with a plural noun (\"{noun}\" is not)"
    if len(match.group(2).split()) < 2:
        return "needs a qualifier saying which ones, e.g. \"MOMENTS where a new kind of trust opens up\""
    return ""


def card_validate(*, title, description, policies) -> dict:
    """The card cleaned (stripped, empty policy lines dropped), or a ValidationError naming each bad field."""
    errors: dict[str, list[str]] = {}
    title = title.strip() if isinstance(title, str) else ""
    description = description.strip() if isinstance(description, str) else ""
    if not title:
        errors["title"] = ["A card needs a title."]
    elif len(title) > MAX_TITLE or "\n" in title:
        errors["title"] = [f"The title is one line of at most {MAX_TITLE} characters."]
    if not description:
        errors["description"] = ["A card needs a one-line description."]
    elif len(description) > MAX_DESCRIPTION or "\n" in description:
        errors["description"] = [f"The description is one line of at most {MAX_DESCRIPTION} characters."]
    if not isinstance(policies, list) or not all(isinstance(policy, str) for policy in policies):
        errors["policies"] = ["Attention policies are a list of texts."]
        policies = []
    policies = [" ".join(policy.split()) for policy in policies if policy.strip()]
    problems = []
    if not MIN_POLICIES <= len(policies) <= MAX_POLICIES:
        problems.append(f"A card has {MIN_POLICIES} to {MAX_POLICIES} attention policies, not {len(policies)}.")
    if len({policy.casefold() for policy in policies}) < len(policies):
        problems.append("Two attention policies are the same.")
    for number, policy in enumerate(policies, 1):
        if len(policy) > MAX_POLICY:
            problems.append(f"Policy {number} is longer than {MAX_POLICY} characters.")
        elif problem := _policy_problem(policy):
            problems.append(f"Policy {number} {problem}.")
    if problems:
        errors.setdefault("policies", []).extend(problems)
    if errors:
        raise ValidationError(errors)
    return {"title": title, "description": description, "policies": policies}


def _json_objects(text: str) -> list[dict]:
    """JSON objects in the text: fenced blocks first, then any bare object, last ones first."""
    found = [match.group(1) for match in FENCED.finditer(text)]
    decoder = json.JSONDecoder()
    bare = []
    for start in (index for index, char in enumerate(text) if char == "{"):
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            continue
        bare.append(value)
    objects = []
    for block in found:
        try:
            objects.append(json.loads(block))
        except ValueError:
            continue
    return [value for value in reversed(objects + bare) if isinstance(value, dict)]


def card_parse(text: str) -> dict | None:
    """The last valid card the model wrote as JSON ({"title", "description", "policies"}), else None."""
    for value in _json_objects(text):
        try:
            return card_validate(title=value.get("title"), description=value.get("description"),
                                 policies=value.get("policies"))
        except ValidationError:
            continue
    return None


def card_text_strip(text: str) -> str:
    """A reply as the participant reads it: the card's JSON lives in the card panel, not in the chat."""
    return FENCED.sub("(see the card)", text).strip()


@transaction.atomic
def card_update(*, interview: Interview, title, description, policies, source: str) -> ValuesCard:
    """Set the interview's card (created on first use); every change is kept as a version."""
    if interview.status != Interview.Status.OPEN:
        raise ValidationError("This interview is submitted; its card can no longer change.")
    cleaned = card_validate(title=title, description=description, policies=policies)
    card = ValuesCard.objects.select_for_update().filter(interview=interview).first()
    if card is None:
        card = ValuesCard.objects.create(deliberation=interview.participant.deliberation, interview=interview,
                                         external_id=f"pending-{interview.pk}", **cleaned)
        card.external_id = json.dumps(f"c{card.pk}")
        card.save(update_fields=["external_id"])
    elif {"title": card.title, "description": card.description, "policies": card.policies} == cleaned:
        return card
    else:
        for name, value in cleaned.items():
            setattr(card, name, value)
        card.save()
    CardVersion.objects.create(card=card, source=source, **cleaned)
    return card
