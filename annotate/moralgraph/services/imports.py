"""Import of published moral-graph data: values and raw votes as JSONL.

    values: {"id": 17 | "v17", "title": "...", "description": "...", "policies": ["...", ...]}
    votes:  {"participant": "...", "from": <value id>, "to": <value id>, "context": "When ...",
             "relationship": "upgrade" | "no_upgrade" | "not_sure", "comment": "...", "created_at": "ISO 8601"}

Both files are checked line by line first; then all of it is written, or nothing. Values keep their ids (7 and
"7" are different ids, as in JSON). Importing the same files again changes nothing; a value or vote that already
exists with other content is an error, never an overwrite. Published cards are taken as they are (their policies
are not held to this app's card rules), contexts are created approved, participants are kept as opaque ids.
"""

import json
from collections.abc import Iterable
from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from annotate.moralgraph.models import CardVersion, Context, Deliberation, Participant, ValuesCard, Vote
from annotate.services.imports import LineError, LineErrors

VALUE_KEYS = {"id", "title", "description", "policies"}
VOTE_KEYS = {"participant", "from", "to", "context", "relationship", "comment", "created_at"}


def _objects(lines: Iterable[str], keys: set[str], errors: LineErrors, name: str):
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise LineError("a line is one JSON object")
            if unknown := set(record) - keys:
                raise LineError(f"unknown keys {sorted(unknown)}")
            yield number, record
        except (ValueError, LineError) as error:
            errors.add(number, f"{name}: {error}")


def _id(value, name: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        raise LineError(f"{name} must be a number or a non-empty string")
    return json.dumps(value)


def _text(record: dict, name: str, *, required: bool = True, limit: int = 0) -> str:
    value = record.get(name, "")
    if not isinstance(value, str) or (required and not value.strip()) or "\x00" in value:
        raise LineError(f"{name} must be a {'non-empty ' if required else ''}string")
    if limit and len(value) > limit:
        raise LineError(f"{name} is longer than {limit} characters")
    return value.strip()


def _value_clean(record: dict) -> dict:
    policies = record.get("policies")
    if not isinstance(policies, list) or not policies or not all(isinstance(p, str) and p.strip() for p in policies):
        raise LineError("policies must be a non-empty list of texts")
    return {"external_id": _id(record.get("id"), "id"), "title": _text(record, "title", limit=100),
            "description": _text(record, "description", required=False, limit=300),
            "policies": [policy.strip() for policy in policies]}


def _created_at(value) -> datetime:
    if value is None:
        return timezone.now()
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise LineError("created_at must be an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _vote_clean(record: dict, known: set[str]) -> dict:
    participant = record.get("participant")
    if isinstance(participant, bool) or not isinstance(participant, int | str) or participant == "":
        raise LineError("participant must be a number or a non-empty string")
    from_id, to_id = _id(record.get("from"), "from"), _id(record.get("to"), "to")
    for name, key in (("from", from_id), ("to", to_id)):
        if key not in known:
            raise LineError(f"{name} {key} is not a value of the values file or of the deliberation")
    if from_id == to_id:
        raise LineError("from and to are the same value")
    if record.get("relationship") not in Vote.Relationship.values:
        raise LineError(f"relationship must be one of {', '.join(Vote.Relationship.values)}")
    context = _text(record, "context", limit=200)
    return {"participant": str(participant), "from": from_id, "to": to_id, "context": context,
            "relationship": record["relationship"], "comment": _text(record, "comment", required=False),
            "created_at": _created_at(record.get("created_at"))}


@transaction.atomic
def moral_votes_import(*, deliberation: Deliberation, values: Iterable[str], votes: Iterable[str]) -> dict:
    errors = LineErrors()
    existing = {card.external_id: card for card in deliberation.cards.all()}
    new_values: dict[str, dict] = {}
    for number, record in _objects(values, VALUE_KEYS, errors, "values"):
        try:
            value = _value_clean(record)
            key = value["external_id"]
            if key in new_values:
                raise LineError(f"id {key} appears twice")
            old = existing.get(key)
            if old and (old.title, old.description, old.policies) != (value["title"], value["description"],
                                                                       value["policies"]):
                raise LineError(f"value {key} already exists with other content")
            new_values[key] = value
        except LineError as error:
            errors.add(number, f"values: {error}")
    known = set(existing) | set(new_values)
    seen: dict[tuple, tuple[int, dict]] = {}
    for number, record in _objects(votes, VOTE_KEYS, errors, "votes"):
        try:
            vote = _vote_clean(record, known)
            key = (vote["participant"], vote["from"], vote["to"], vote["context"])
            if key in seen and seen[key][1]["relationship"] != vote["relationship"]:
                raise LineError(f"the same vote as line {seen[key][0]} with another answer")
            seen.setdefault(key, (number, vote))
        except LineError as error:
            errors.add(number, f"votes: {error}")
    if errors.found:
        errors.raise_if_any()
    return _write(deliberation, existing, new_values, list(seen.values()))


def _write(deliberation: Deliberation, existing: dict, new_values: dict, votes: list[tuple[int, dict]]) -> dict:
    cards = dict(existing)
    for key, value in new_values.items():
        if key not in cards:
            cards[key] = ValuesCard.objects.create(deliberation=deliberation, **value)
            CardVersion.objects.create(card=cards[key], source=CardVersion.Source.IMPORT, title=value["title"],
                                       description=value["description"], policies=value["policies"])
    contexts = {context.text: context for context in deliberation.contexts.all()}
    participants = {p.external_id: p for p in deliberation.participants.exclude(external_id="")}
    created = skipped = 0
    conflicts = LineErrors()
    for number, vote in votes:
        if vote["context"] not in contexts:
            contexts[vote["context"]] = Context.objects.create(
                deliberation=deliberation, text=vote["context"], source=Context.Source.IMPORT)
        if vote["participant"] not in participants:
            participants[vote["participant"]] = Participant.objects.create(
                deliberation=deliberation, external_id=vote["participant"])
        key = {"participant": participants[vote["participant"]], "from_card": cards[vote["from"]],
               "to_card": cards[vote["to"]], "context": contexts[vote["context"]]}
        old = Vote.objects.filter(**key).first()
        if old is None:
            Vote.objects.create(**key, relationship=vote["relationship"], comment=vote["comment"],
                                created_at=vote["created_at"])
            created += 1
        elif old.relationship == vote["relationship"]:
            skipped += 1
        else:
            conflicts.add(number, f"votes: participant {vote['participant']} already voted {old.relationship} "
                                  f"on {vote['from']} -> {vote['to']} {vote['context']!r}")
    conflicts.raise_if_any()  # inside the transaction: nothing of this import stays
    return {"values": len(new_values) - len(set(new_values) & set(existing)), "votes": created,
            "skipped": skipped}
