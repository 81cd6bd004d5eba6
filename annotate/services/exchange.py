"""The judgment exchange format: JSONL, one judgment a line, to move judgments into and out of a campaign.

    {"item": "i1", "prompt": "text" | [{"role": "user", "content": "..."}],
     "responses": [{"id": "r1", "text": "...", "model": "m1"}, {"id": "r2", "text": "..."}],  (one or more)
     "annotator": "anna", "protocol": "pairwise" | "ranking" | "rating" | "attributes",
     "choice": "a" | "b" | "tie", "strength": -3..3,                  (pairwise; "a" is responses[0])
     "ranking": [["r2"], ["r1", "r3"]],                                (ranking: best first, ties grouped)
     "ratings": {"r1": 1..7, ...},                                     (rating)
     "attributes": {"r1": {"helpfulness": 0..4, ..., "unsafe": 0|1}},  (attributes)
     "rationale": "...", "presented_order": ["r2", "r1"], "created_at": "2025-01-31T12:00:00+00:00"}

- `pairwise` and `ranking` lines list two or more responses; `rating` and `attributes` lines one or more: a line
  of one response is an absolute rating (each response rated on its own, as Bansal et al. and HelpSteer2 do).
- An item id groups the judgments of one item: every line of an item repeats its prompt and responses, in the
  same order (the order defines "a" and "b").
- A response id names one response in the whole campaign: the same id on several lines is the same response,
  which is how ratings and rankings of one response join across items. It must have the same text and model
  everywhere; a new response is stored under the prompt of the first item it appears in.
- Prompts are stored once per distinct text: items asking the same thing share one Prompt (an existing one of
  the campaign when its text matches, else a new one with the id `prompt-<hash of the text>`).
- Annotators are users found by username, or created as annotators without a password (an invite lets them in).
  An annotator starting with `ai:` (`ai:gpt-4`) is an AI judge, such as an outside judge's verdicts from a paper:
  created as a judge that never logs in, its judgments kept out of people's metrics and set beside them.
- `created_at` without a time zone is UTC; without `created_at` a judgment gets the time of the import.

An import checks every line, then writes all of it or nothing. A line that repeats a judgment already present
(same item and annotator, same answer) is skipped, so importing a file twice changes nothing; a different answer
by the same annotator to the same item is an error. An export writes each judgment in that format, keys in the
order above, optional fields left out when empty, so that exporting an import of an export gives the same lines.
"""

import hashlib
import json
import math
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, OuterRef, Prefetch, Subquery
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone

from accounts.models import User
from accounts.services.users import user_create
from annotate.models import Campaign, Candidate, Item, ItemCandidate, Judgment, Prompt
from annotate.protocols import AI_PREFIX, ATTRIBUTES, MIN_RESPONSES, SAFETY, Protocol, design_for, is_ai_judge
from annotate.protocols import EXCHANGE_ANSWERS as ANSWERS
from annotate.protocols import EXCHANGE_KEYS as KEYS
from annotate.protocols import EXCHANGE_REQUIRED as REQUIRED
from annotate.services.assignments import items_added
from annotate.services.campaigns import campaign_ensure
from annotate.services.imports import (
    LineError,
    LineErrors,
    ResponseRecord,
    chunks,
    id_clean,
    keys_check,
    messages_clean,
    response_clean,
    text_clean,
)
from annotate.services.judges import judge_user_ensure
from annotate.services.judging import answer_clean, judgment_writes_hold
from core.values import json_parse

# What an answer is compared on when the same judgment is met twice.
COMPARED = ("protocol", "choice", "strength", "ranking", "ratings", "attributes", "rationale", "presented_order")
KEY_SET, REQUIRED_SET = set(KEYS), set(REQUIRED)
RESPONSE_KEYS = {"id", "text", "model"}
OTHER_ANSWERS = {protocol: set().union(*ANSWERS.values()) - keys for protocol, keys in ANSWERS.items()}
EXPORT_CHUNK = 1000
BATCH = 500
USERNAME_MAX_LENGTH = User._meta.get_field("username").max_length


@dataclass(slots=True)
class _Line:
    number: int
    item: str
    messages: list[dict]
    responses: list[ResponseRecord]
    annotator: str
    fields: dict  # the Judgment fields named in COMPARED
    created_at: datetime | None

    @property
    def response_ids(self) -> list[str]:
        return [response.id for response in self.responses]

    def same_answer(self, fields: dict, created_at: datetime | None) -> bool:
        times_agree = self.created_at is None or created_at is None or self.created_at == created_at
        return times_agree and all(self.fields[name] == fields[name] for name in COMPARED)


def _error_text(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in error.message_dict.items())
    return " ".join(error.messages)


def _created_at(value) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)  # refuses what is not a string, NULs and lone surrogates too
    except (TypeError, ValueError):
        raise LineError(f"created_at must be an ISO 8601 date and time, got {value!r}") from None
    return moment.replace(tzinfo=UTC) if timezone.is_naive(moment) else moment


def _annotator(value) -> str:
    username = id_clean(value, "annotator")
    try:  # an AI judge is "ai:" and a name of the same characters (annotate.protocols.AI_PREFIX)
        UnicodeUsernameValidator()(username.removeprefix(AI_PREFIX) if is_ai_judge(username) else username)
    except ValidationError:
        raise LineError(f"annotator {username!r} is not a valid username (letters, digits and @.+-_)") from None
    if len(username) > USERNAME_MAX_LENGTH:
        raise LineError(f"annotator is longer than {USERNAME_MAX_LENGTH} characters")
    return username


def _responses_clean(value, protocol: str) -> list[ResponseRecord]:
    least = MIN_RESPONSES[protocol]
    if not isinstance(value, list) or len(value) < least:
        raise LineError(f"responses must list at least {'two' if least == 2 else 'one'} {{id, text, model?}} for "
                        f"a {protocol} judgment")
    responses = []
    for index, response in enumerate(value):
        if isinstance(response, dict):
            keys_check(response, {"id", "text", "model"}, f"responses[{index}]")
        responses.append(response_clean(response, index))
    ids = [response.id for response in responses]
    if len(set(ids)) != len(ids):
        raise LineError(f"responses list an id twice: {ids}")
    return responses


def _as_written(prompt, responses, messages: list[dict], records: list[ResponseRecord]) -> bool:
    """Whether a line's prompt and responses are those an item's checked messages and responses came from."""
    if isinstance(prompt, str):
        if len(messages) != 1 or messages[0]["content"] != prompt or messages[0]["role"] != "user":
            return False
    elif prompt != messages:
        return False
    if not isinstance(responses, list) or len(responses) != len(records):
        return False
    for raw, record in zip(responses, records, strict=True):  # a loop: all() of a generator cost a third more
        if not (isinstance(raw, dict) and raw.keys() <= RESPONSE_KEYS and raw.get("id") == record.id
                and raw.get("text") == record.text and (raw.get("model") or "") == record.model):
            return False
    return True


class _LineReader:
    """Checks lines one by one. Every line of an item repeats its prompt and responses: when a line repeats them
    as the item's first line wrote them, that line's checked messages and responses are reused (checking them
    again was most of the time an import spent per line), and so are checked annotator names."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[list[dict], list[ResponseRecord]]] = {}  # item id -> messages, responses
        self.names: dict[str, str] = {}
        self.annotators: dict[str, str] = {}

    def read(self, number: int, text: str) -> _Line:
        try:
            record = json_parse(text)  # every string, number and depth checked
        except ValidationError as error:
            raise LineError(error.messages[0]) from None
        if not isinstance(record, dict):
            raise LineError("must be a JSON object")
        keys = record.keys()
        if not keys <= KEY_SET:
            keys_check(record, KEY_SET)
        if not keys >= REQUIRED_SET:
            raise LineError(f"missing key(s) {', '.join(key for key in REQUIRED if key not in record)}")
        protocol = record["protocol"]
        if protocol not in ANSWERS:
            raise LineError(f"unknown protocol {protocol!r}; use one of {', '.join(ANSWERS)}")
        if not keys.isdisjoint(OTHER_ANSWERS[protocol]):
            raise LineError(f"{', '.join(sorted(keys & OTHER_ANSWERS[protocol]))} does not belong to a {protocol} "
                            "judgment")
        item = record["item"]
        if not (isinstance(item, str) and item in self.names):  # an id met before was checked then
            item = id_clean(item, "item")
        item = self.names.setdefault(item, item)  # one string per item, however many lines
        known = self.items.get(item)
        if known is not None and _as_written(record["prompt"], record["responses"], *known):
            messages, responses = known
            if len(responses) < MIN_RESPONSES[protocol]:
                raise LineError(f"responses must list at least two {{id, text, model?}} for a {protocol} judgment")
        else:
            responses = _responses_clean(record["responses"], protocol)
            messages = messages_clean(record["prompt"])
            self.items.setdefault(item, (messages, responses))
        ids = [response.id for response in responses]
        if record.get("rationale") is not None:
            text_clean(record["rationale"], "rationale")
        try:
            fields = answer_clean(protocol=protocol, candidate_ids=ids, answer=record)
        except ValidationError as error:
            raise LineError(_error_text(error)) from None
        presented = record.get("presented_order")
        if presented is not None:
            if not isinstance(presented, list) or sorted(map(str, presented)) != sorted(ids) \
                    or len(presented) != len(ids):
                raise LineError(f"presented_order must list each response id once: {sorted(ids)}")
            presented = [str(response) for response in presented]
        raw = record["annotator"]
        annotator = self.annotators.get(raw) if isinstance(raw, str) else None  # a name as written, checked before
        if annotator is None:
            annotator = _annotator(raw)  # an integer becomes its decimal string; anything else not a name is refused
            if isinstance(raw, str):
                self.annotators[raw] = annotator
        return _Line(
            number=number, item=item, messages=messages, responses=responses, annotator=annotator,
            fields={"protocol": protocol, **fields, "presented_order": presented},
            created_at=_created_at(record.get("created_at")),
        )


@dataclass
class _Plan:
    """What an import will write, worked out while checking."""

    lines: list[_Line]  # the judgments to create
    unchanged: int
    items: dict[str, _Line]  # first line of every item in the file
    existing_items: dict[str, tuple[int, int]]  # item id -> (item pk, prompt pk)
    existing_responses: dict[str, int]  # response id -> candidate pk
    first_use: dict[str, _Line]  # response id -> first line that lists it


class _FileCheck:
    """Lines must agree with each other on items, responses and answers; a judgment repeated exactly counts once.
    Of the first line of each item it keeps what later lines are compared with (not the answer), of the others a
    fingerprint of the answer, so that a file report can pass a million lines through it."""

    def __init__(self, errors: LineErrors) -> None:
        self.errors = errors
        self.plan = _Plan(lines=[], unchanged=0, items={}, existing_items={}, existing_responses={}, first_use={})
        self.judged: dict[tuple[str, str], int] = {}  # -> index into the three arrays below
        self.numbers, self.answers, self.times = array("q"), array("q"), array("d")  # line, answer hash, created_at

    def add(self, line: _Line) -> bool:
        """Whether the line is a judgment not met before in the file."""
        plan, errors = self.plan, self.errors
        first = plan.items.get(line.item)
        if first is None:
            first = plan.items[line.item] = _Line(line.number, line.item, line.messages, line.responses,
                                                  line.annotator, fields={}, created_at=None)  # replace() is slow
            self._responses_check(first)
        elif first.messages != line.messages:
            errors.add(line.number, f"item {line.item!r} has a different prompt on line {first.number}")
        elif line.responses is not first.responses:  # the same objects were checked with the first
            if first.response_ids != line.response_ids:
                errors.add(line.number, f"item {line.item!r} lists the responses {first.response_ids} on line "
                                        f"{first.number}, here {line.response_ids} (the order defines a and b)")
            else:
                self._responses_check(line)
        # keys sorted: the same answer with its keys in another order; orjson: a fifth of the time of hash(repr())
        answer = hash(orjson.dumps([line.fields[name] for name in COMPARED], option=orjson.OPT_SORT_KEYS))
        moment = line.created_at.timestamp() if line.created_at else math.nan
        index = self.judged.setdefault((line.item, line.annotator), len(self.numbers))
        if index == len(self.numbers):
            self.numbers.append(line.number)
            self.answers.append(answer)
            self.times.append(moment)
            return True
        if self.answers[index] == answer and (math.isnan(moment) or math.isnan(self.times[index])
                                              or moment == self.times[index]):
            plan.unchanged += 1
        else:
            errors.add(line.number, f"{line.annotator} judged item {line.item!r} differently on line "
                                    f"{self.numbers[index]}")
        return False

    def _responses_check(self, line: _Line) -> None:
        for response in line.responses:
            seen = self.plan.first_use.setdefault(response.id, line)
            earlier = next(r for r in seen.responses if r.id == response.id)
            if (earlier.text, earlier.model) != (response.text, response.model):
                self.errors.add(line.number, f"response {response.id!r} has a different text or model on line "
                                             f"{seen.number}")


def _file_check(lines: Iterable[_Line], errors: LineErrors) -> _Plan:
    check = _FileCheck(errors)
    check.plan.lines = [line for line in lines if check.add(line)]
    return check.plan


def _lines_read(lines: Iterable[str], errors: LineErrors) -> Iterator[_Line]:
    """The lines that are judgments, checked one by one; a line that is not is added to the errors."""
    reader = _LineReader()
    for number, text in enumerate(lines, start=1):
        text = text.removeprefix("\ufeff") if number == 1 else text
        if not text or text.isspace():  # strip() would copy every line
            continue
        try:
            line = reader.read(number, text)
        except LineError as error:
            errors.add(number, str(error))
            continue
        yield line


def judgments_read(*, lines: Iterable[str]) -> Iterator[_Line]:
    """The judgments of an exchange file, checked as an import checks them, one at a time and kept nowhere (for a
    report of a file): each has item, responses, annotator, fields (the Judgment fields) and created_at. A judgment
    repeated exactly comes once. Problems raise one ValidationError that lists them, once the lines are read."""
    errors = LineErrors()
    check = _FileCheck(errors)
    found = False
    for line in _lines_read(lines, errors):
        if check.add(line):
            found = True
            yield line
    if not found and not errors.found:
        raise ValidationError("The file holds no judgments.")
    errors.raise_if_any()


def _database_check(campaign: Campaign, plan: _Plan, errors: LineErrors) -> None:
    """Lines must agree with what the campaign already holds; judgments it has already are not written again."""
    slots: dict[int, list[str]] = {}
    for ids in chunks(plan.items):
        found = Item.objects.filter(campaign=campaign, external_id__in=ids).values_list(
            "external_id", "pk", "prompt_id", "prompt__messages")
        for external_id, pk, prompt_pk, messages in found:
            plan.existing_items[external_id] = (pk, prompt_pk)
            slots[pk] = []
            line = plan.items[external_id]
            if messages != line.messages:
                errors.add(line.number, f"item {external_id!r} already exists in this campaign with another prompt")
    for pks in chunks(slots):
        for item_pk, response_id in ItemCandidate.objects.filter(item__in=pks).order_by("item", "position") \
                .values_list("item_id", "candidate__external_id"):
            slots[item_pk].append(response_id)
    for external_id, (pk, _) in plan.existing_items.items():
        line = plan.items[external_id]
        if slots[pk] != line.response_ids:
            errors.add(line.number, f"item {external_id!r} already exists in this campaign with the responses "
                                    f"{slots[pk]}")

    for ids in chunks(plan.first_use):
        for response_id, pk, text, model in Candidate.objects.filter(
                prompt__campaign=campaign, external_id__in=ids).values_list("external_id", "pk", "text", "model"):
            line = plan.first_use[response_id]
            response = next(r for r in line.responses if r.id == response_id)
            if response_id in plan.existing_responses:
                errors.add(line.number, f"response id {response_id!r} belongs to several prompts of this campaign")
            elif (text, model) != (response.text, response.model):
                errors.add(line.number, f"response {response_id!r} already exists in this campaign with a different "
                                        "text or model")
            plan.existing_responses[response_id] = pk

    known = {}
    item_pks = [pk for pk, _ in plan.existing_items.values()]
    for pks in chunks(item_pks):
        for row in Judgment.objects.filter(item__in=pks).values(
                "item__external_id", "annotator__username", "created_at", *COMPARED):
            known[row.pop("item__external_id"), row.pop("annotator__username")] = row
    lines, plan.lines = plan.lines, []
    for line in lines:
        existing = known.get((line.item, line.annotator))
        if existing is None:
            plan.lines.append(line)
        elif line.same_answer(existing, existing["created_at"]):
            plan.unchanged += 1
        else:
            errors.add(line.number, f"{line.annotator} already has a different judgment of item {line.item!r} "
                                    "in this campaign")


def _users_check(lines: list[_Line], errors: LineErrors) -> dict[str, int]:
    """Annotators by username; a name that differs from an existing one only in case would be a second person."""
    names = {line.annotator for line in lines}
    existing = {}
    for batch in chunks(names):
        lowered = [name.lower() for name in batch]
        existing.update(User.objects.annotate(lowered=Lower("username")).filter(lowered__in=lowered)
                        .values_list("username", "pk"))
    lower_names = {name.lower(): name for name in existing}
    for line in lines:
        other = lower_names.get(line.annotator.lower())
        if line.annotator not in existing and other is not None:
            errors.add(line.number, f"annotator {line.annotator!r}: the user {other!r} exists; usernames differ "
                                    "only in case")
    return {name: pk for name, pk in existing.items() if name in names}


def _prompt_key(messages: list[dict]) -> str:
    return json.dumps(messages, ensure_ascii=False, sort_keys=True)


def _write(campaign: Campaign, plan: _Plan, users: dict[str, int]) -> dict:
    counts = {"judgments": len(plan.lines), "unchanged": plan.unchanged, "items": 0, "prompts": 0, "responses": 0,
              "annotators": 0}
    for name in sorted({line.annotator for line in plan.lines} - set(users)):
        user = judge_user_ensure(name=name) if is_ai_judge(name) else user_create(username=name,
                                                                                 role=User.Role.ANNOTATOR)
        users[name] = user.pk
        counts["annotators"] += 1

    new_items = [line for item, line in plan.items.items() if item not in plan.existing_items]
    prompt_pks = {}
    if new_items:
        for pk, messages in campaign.prompts.order_by("-pk").values_list("pk", "messages").iterator():
            prompt_pks[_prompt_key(messages)] = pk  # the oldest prompt of a text wins
    new_prompts = {}
    for line in new_items:
        key = _prompt_key(line.messages)
        if key not in prompt_pks and key not in new_prompts:
            external_id = "prompt-" + hashlib.sha256(key.encode()).hexdigest()[:16]
            new_prompts[key] = Prompt(campaign=campaign, external_id=external_id, messages=line.messages)
    Prompt.objects.bulk_create(new_prompts.values(), batch_size=BATCH)
    prompt_pks.update((key, prompt.pk) for key, prompt in new_prompts.items())
    counts["prompts"] = len(new_prompts)

    item_rows = {line.item: Item(campaign=campaign, prompt_id=prompt_pks[_prompt_key(line.messages)],
                                 external_id=line.item) for line in new_items}
    Item.objects.bulk_create(item_rows.values(), batch_size=BATCH)
    if item_rows:
        items_added()
    item_pks = {item: pk for item, (pk, _) in plan.existing_items.items()}
    item_pks.update((item, row.pk) for item, row in item_rows.items())
    item_prompts = {item: prompt for item, (_, prompt) in plan.existing_items.items()}
    item_prompts.update((item, row.prompt_id) for item, row in item_rows.items())
    counts["items"] = len(item_rows)

    candidates = {}
    for response_id, line in plan.first_use.items():
        if response_id not in plan.existing_responses:
            response = next(r for r in line.responses if r.id == response_id)
            candidates[response_id] = Candidate(prompt_id=item_prompts[line.item], external_id=response_id,
                                                text=response.text, model=response.model)
    Candidate.objects.bulk_create(candidates.values(), batch_size=BATCH)
    candidate_pks = dict(plan.existing_responses)
    candidate_pks.update((response_id, row.pk) for response_id, row in candidates.items())
    counts["responses"] = len(candidates)

    ItemCandidate.objects.bulk_create(
        (ItemCandidate(item_id=item_pks[line.item], candidate_id=candidate_pks[response_id], position=position)
         for line in new_items for position, response_id in enumerate(line.response_ids)),
        batch_size=BATCH,
    )
    now = timezone.now()
    judgment_writes_hold()
    Judgment.objects.bulk_create(
        (Judgment(item_id=item_pks[line.item], annotator_id=users[line.annotator], created_at=line.created_at or now,
                  **line.fields) for line in plan.lines),
        batch_size=BATCH,
    )
    judged = (Judgment.objects.filter(item=OuterRef("pk")).exclude(annotator__username__startswith=AI_PREFIX)
              .values("item").annotate(n=Count("pk")).values("n"))  # the queue's count is of people's judgments
    Item.objects.filter(pk__in={item_pks[line.item] for line in plan.lines}).update(
        judgment_count=Coalesce(Subquery(judged), 0))
    return counts


@transaction.atomic
def judgments_import(*, campaign: Campaign, lines: Iterable[str]) -> dict:
    """Import exchange-format lines into the campaign, all or nothing. Returns what was created (judgments, items,
    prompts, responses, annotators) and how many lines repeated a judgment already there (unchanged)."""
    errors = LineErrors()
    parsed = list(_lines_read(lines, errors))
    if not parsed and not errors.found:
        raise ValidationError("The file holds no judgments.")
    plan = _file_check(parsed, errors)
    errors.raise_if_any()
    _database_check(campaign, plan, errors)
    users = _users_check(plan.lines, errors)
    errors.raise_if_any()
    return _write(campaign, plan, users)


def _file_protocols(lines: list[str]) -> tuple[set[str], bool]:
    """The protocols of a file's judgments, and whether a rating line lists several responses (side by side).
    Lines that are not valid are left to the import to report."""
    protocols, side_by_side = set(), False
    for text in lines:
        try:
            record = json.loads(text)
            protocol, responses = record["protocol"], record["responses"]
        except (ValueError, TypeError, KeyError):
            continue
        if protocol in ANSWERS:
            protocols.add(protocol)
            side_by_side |= protocol in (Protocol.RATING, Protocol.ATTRIBUTES) and len(responses) > 1
    return protocols, side_by_side


@transaction.atomic
def campaign_import(*, creator: User, name: str, lines: Iterable[str],
                    design: str | None = None) -> tuple[Campaign, dict]:
    """Import judgments into the campaign of this name, made first when missing (`campaign_ensure`) with the design
    the file implies unless one is given. All or nothing, the campaign included."""
    lines = list(lines)
    protocols, side_by_side = _file_protocols(lines)
    design = design or design_for(protocols)
    if design is None:
        raise ValidationError(f"No one campaign design holds {', '.join(sorted(protocols)) or 'no'} judgments; "
                              "name the design.")
    campaign, _ = campaign_ensure(creator=creator, name=name, design=design, defaults={"rate_alone": not side_by_side})
    return campaign, judgments_import(campaign=campaign, lines=lines)


def _ordered(mapping: dict, order: Iterable[str]) -> dict:
    """A JSON object's keys in a fixed order (PostgreSQL's jsonb does not keep the order they were written in)."""
    keys = [key for key in order if key in mapping]
    return {key: mapping[key] for key in [*keys, *sorted(set(mapping) - set(keys))]}


def _record(judgment: Judgment) -> dict:
    item = judgment.item
    candidates = [slot.candidate for slot in item.slots.all()]
    ids = [candidate.external_id for candidate in candidates]
    messages = [{"role": message["role"], "content": message["content"]} for message in item.prompt.messages]
    one_question = len(messages) == 1 and messages[0]["role"] == "user"
    record = {
        "item": item.external_id,
        "prompt": messages[0]["content"] if one_question else messages,
        "responses": [{"id": c.external_id, "text": c.text, **({"model": c.model} if c.model else {})}
                      for c in candidates],
        "annotator": judgment.annotator.username,
        "protocol": judgment.protocol,
    }
    if judgment.choice:
        record["choice"] = judgment.choice
    if judgment.strength is not None:
        record["strength"] = judgment.strength
    if judgment.ranking is not None:
        record["ranking"] = judgment.ranking
    if judgment.ratings is not None:
        record["ratings"] = _ordered(judgment.ratings, ids)
    if judgment.attributes is not None:
        record["attributes"] = {response: _ordered(scores, (*ATTRIBUTES, SAFETY))
                                for response, scores in _ordered(judgment.attributes, ids).items()}
    if judgment.rationale:
        record["rationale"] = judgment.rationale
    if judgment.presented_order is not None:
        record["presented_order"] = judgment.presented_order
    record["created_at"] = judgment.created_at.astimezone(UTC).isoformat()
    return record


def judgments_export_jsonl(*, campaign: Campaign) -> Iterator[str]:
    """Every judgment of the campaign as an exchange-format line ending in a newline, in id order.

    Rows are read in chunks (responses prefetched per chunk), so memory stays bounded for any campaign size."""
    slots = ItemCandidate.objects.select_related("candidate").order_by("position")
    judgments = (
        Judgment.objects.filter(item__campaign=campaign).order_by("pk")
        .select_related("annotator", "item__prompt")
        .prefetch_related(Prefetch("item__slots", queryset=slots))
    )
    for judgment in judgments.iterator(chunk_size=EXPORT_CHUNK):
        yield _line(_record(judgment))


def _line(record: dict) -> str:
    """One JSON line as UTF-8 can carry it. Text stored before the doors refused lone surrogates is written escaped
    (`\\ud800`): the line stays valid JSON, an import refuses that line alone, and the download goes on."""
    line = json.dumps(record, ensure_ascii=False)
    try:
        line.encode()
    except UnicodeEncodeError:
        line = json.dumps(record)
    return line + "\n"
