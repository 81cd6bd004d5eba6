"""Prompt import from JSONL or CSV files: every line is checked first, then all of it is written or none.

JSONL, one object a line:
    {"id": "p1", "prompt": "text" | [{"role": "user", "content": "..."}], "metadata": {...},
     "responses": [{"id": "r1", "text": "...", "model": "...", "metadata": {...}}]}
`metadata` and `responses` are optional, and so are a response's `model` and `metadata`.

CSV, with a header row: `id`, `prompt` (one user message), and optionally `response_1` .. `response_N` with
`model_1` .. `model_N`; a response gets the id `<id>-r<N>` and an empty cell means no response. Any other column
goes into the prompt's metadata.

Response ids are unique within a campaign: the judgment exchange format joins ratings and rankings of one
response across items by its id. Importing the same file again changes nothing; a prompt or response that
already exists with a different text is an error, never an overwrite.

The file is read once, line by line, and never held whole (a million prompts are a few hundred MB of text): each
chunk of checked prompts is written as it comes, in one transaction that any bad line rolls back. After the first
bad line the rest is still checked, not written, so that the error lists every bad line.
"""

import codecs
import csv
import re
from collections.abc import Iterator, Set
from dataclasses import dataclass, field
from typing import IO

import orjson
from django.core.exceptions import ValidationError
from django.db import transaction

from annotate.models import Campaign, Candidate, Prompt
from core.sql import sql_insert, sql_now
from core.values import json_check, json_parse
from modelhost.messages import messages_validate

MAX_ID_LENGTH = 200
MAX_REPORTED_ERRORS = 50  # a file that is wrong throughout would otherwise make a message of megabytes
PROMPTS_PER_CHUNK = 50_000  # checked and written at once (chunks of 5,000 cost PostgreSQL a quarter more CPU)
CSV_RESPONSE = re.compile(r"^response_(\d+)$")
CSV_MODEL = re.compile(r"^model_(\d+)$")
PROMPT_KEYS = frozenset({"id", "prompt", "metadata", "responses"})
RESPONSE_KEYS = frozenset({"id", "text", "model", "metadata"})


class LineError(ValueError):
    """What is wrong with one line; the caller adds the line number."""


class LineErrors:
    """Collects the problems of a whole file, so that one ValidationError reports every bad line."""

    def __init__(self) -> None:
        self.found: list[tuple[int, str]] = []

    def add(self, line: int, message: str) -> None:
        self.found.append((line, message))

    def raise_if_any(self) -> None:
        if not self.found:
            return
        ordered = sorted(self.found, key=lambda error: error[0])
        messages = [f"line {line}: {message}" for line, message in ordered[:MAX_REPORTED_ERRORS]]
        if len(ordered) > MAX_REPORTED_ERRORS:
            messages.append(f"... and {len(ordered) - MAX_REPORTED_ERRORS} more errors.")
        raise ValidationError(messages)


def text_clean(value, name: str, *, allow_empty: bool = True) -> str:
    """A string of a record: every string of one has passed text_check already (json_parse, json_check)."""
    if not isinstance(value, str):
        raise LineError(f"{name} must be a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise LineError(f"{name} is empty")
    return value


def id_clean(value, name: str) -> str:
    """An id is a non-empty string; integers are taken as their decimal string."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    value = text_clean(value, name, allow_empty=False)
    if len(value) > MAX_ID_LENGTH:
        raise LineError(f"{name} is longer than {MAX_ID_LENGTH} characters")
    return value


def messages_clean(value) -> list[dict]:
    """A prompt as files give it, checked by the model host's rules (modelhost.messages)."""
    try:
        return messages_validate(value, name="prompt")
    except ValidationError as error:
        raise LineError(error.messages[0]) from None


def keys_check(record: dict, allowed: Set[str], name: str = "") -> None:
    if record.keys() <= allowed:  # the usual case, without building a set
        return
    unknown = sorted(set(record) - allowed)
    if unknown:
        raise LineError(f"unknown key(s) {', '.join(unknown)}{f' in {name}' if name else ''}; "
                        f"allowed: {', '.join(sorted(allowed))}")


@dataclass(slots=True)  # a file report holds every response of a file: slots halve its memory
class ResponseRecord:
    id: str
    text: str
    model: str = ""
    metadata: dict = field(default_factory=dict)


@dataclass
class _Prompt:
    line: int
    id: str
    messages: list[dict]
    metadata: dict
    responses: list[ResponseRecord]


def _metadata(value, name: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise LineError(f"{name} must be an object")
    return value


def response_clean(value, index: int) -> ResponseRecord:
    name = f"responses[{index}]"
    if not isinstance(value, dict):
        raise LineError(f"{name} must be an object with id and text")
    keys_check(value, RESPONSE_KEYS, name)
    if "text" not in value:
        raise LineError(f"{name}.text is missing")
    return ResponseRecord(
        id=id_clean(value.get("id"), f"{name}.id"), text=text_clean(value["text"], f"{name}.text"),
        model=text_clean(value.get("model") or "", f"{name}.model"),
        metadata=_metadata(value.get("metadata"), f"{name}.metadata"),
    )


def _prompt_clean(line: int, record) -> _Prompt:
    if not isinstance(record, dict):
        raise LineError("must be a JSON object")
    keys_check(record, PROMPT_KEYS)
    responses = record.get("responses") or []
    if not isinstance(responses, list):
        raise LineError("responses must be a list of {id, text, model?}")
    cleaned = [response_clean(response, index) for index, response in enumerate(responses)]
    seen = set()
    for response in cleaned:
        if response.id in seen:
            raise LineError(f"response id {response.id!r} appears twice")
        seen.add(response.id)
    return _Prompt(line=line, id=id_clean(record.get("id"), "id"), messages=messages_clean(record.get("prompt")),
                   metadata=_metadata(record.get("metadata"), "metadata"), responses=cleaned)


def _lines(file: IO[bytes], errors: LineErrors) -> Iterator[str]:
    """The file's lines as text, split at "\n" only: JSON strings may hold U+2028 and other characters that
    splitlines breaks on. A line that is not UTF-8 is an error; it is read on with its bad bytes replaced."""
    for number, raw in enumerate(iter(file.readline, b""), start=1):
        if number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        try:
            line = raw.decode()
        except UnicodeDecodeError as error:
            errors.add(number, f"is not UTF-8 text (byte {error.start + 1} of the line)")
            line = raw.decode(errors="replace")
        yield line


def _jsonl_records(lines: Iterator[str], errors: LineErrors):
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, json_parse(line)  # every string, number and depth checked, metadata included
        except ValidationError as error:
            errors.add(number, error.messages[0])


def _csv_records(lines: Iterator[str], errors: LineErrors):
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        return
    header = [name.strip() for name in header]
    missing = {"id", "prompt"} - set(header)
    if missing:
        errors.add(1, f"the header needs the columns id and prompt (missing: {', '.join(sorted(missing))})")
        return
    if len(set(header)) != len(header):
        errors.add(1, "the header names a column twice")
        return
    numbers = sorted(int(match[1]) for name in header if (match := CSV_RESPONSE.match(name)))
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader, None)
        except csv.Error as error:  # a cell over csv.field_size_limit(), say: the rest cannot be read reliably
            errors.add(start, f"cannot be read as CSV ({error}); the file is read no further")
            return
        if row is None:
            return
        number, start = start, reader.line_num + 1  # a quoted cell may span lines: report where the row starts
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            errors.add(number, f"has {len(row)} cells, the header has {len(header)}")
            continue
        cells = dict(zip(header, row, strict=True))
        responses = [{"id": f"{cells['id']}-r{n}", "text": cells[f"response_{n}"], "model": cells.get(f"model_{n}", "")}
                     for n in numbers if cells[f"response_{n}"] != ""]
        metadata = {name: value for name, value in cells.items()
                    if name not in {"id", "prompt"} and not CSV_RESPONSE.match(name) and not CSV_MODEL.match(name)}
        try:
            yield number, json_check({"id": cells["id"], "prompt": cells["prompt"], "metadata": metadata,
                                      "responses": responses})
        except ValidationError as error:
            errors.add(number, error.messages[0])


def chunks(values, size: int = 500):
    """Slices small enough for an `IN (...)` on any database (SQLite caps the number of parameters)."""
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _existing_check(campaign: Campaign, prompts: list[_Prompt], errors: LineErrors) -> tuple[dict, set]:
    """Existing rows may be met again, but only as they are. Returns their prompt pks by id and their response ids."""
    prompt_pks, prompt_messages = {}, {}
    for ids in chunks(prompt.id for prompt in prompts):
        for external_id, pk, messages in campaign.prompts.filter(external_id__in=ids).values_list(
                "external_id", "pk", "messages"):
            prompt_pks[external_id], prompt_messages[external_id] = pk, messages
    candidates = {}
    for ids in chunks(response.id for prompt in prompts for response in prompt.responses):
        for external_id, *known in Candidate.objects.filter(prompt__campaign=campaign, external_id__in=ids) \
                .values_list("external_id", "prompt__external_id", "text", "model"):
            candidates[external_id] = known
    for prompt in prompts:
        if prompt.id in prompt_messages and prompt_messages[prompt.id] != prompt.messages:
            errors.add(prompt.line, f"prompt {prompt.id!r} already exists in this campaign with a different text")
        for response in prompt.responses:
            if response.id not in candidates:
                continue
            owner, text, model = candidates[response.id]
            if owner != prompt.id:
                errors.add(prompt.line, f"response id {response.id!r} is already used by prompt {owner!r}; "
                                        "response ids are unique in a campaign")
            elif (text, model) != (response.text, response.model):
                errors.add(prompt.line, f"response {response.id!r} already exists with a different text or model")
    return prompt_pks, set(candidates)


@transaction.atomic
def prompts_import(*, campaign: Campaign, file: IO[bytes], filename: str) -> int:
    """Add the prompts (and responses) of a JSONL or CSV file, opened for reading bytes, to the campaign; returns
    how many prompts are new."""
    suffix = filename.lower().rsplit(".", 1)[-1]
    if suffix not in {"jsonl", "ndjson", "csv"}:
        raise ValidationError(f"{filename}: use a .jsonl or .csv file.")
    errors = LineErrors()
    lines = _lines(file, errors)
    records = _csv_records(lines, errors) if suffix == "csv" else _jsonl_records(lines, errors)
    updating = campaign.prompts.exists()  # else nothing is there to compare with
    prompt_lines: dict[str, int] = {}
    response_lines: dict[str, int] = {}
    chunk: list[_Prompt] = []
    created = 0
    for number, record in records:
        try:
            prompt = _prompt_clean(number, record)
        except LineError as error:
            errors.add(number, str(error))
            continue
        if prompt.id in prompt_lines:
            errors.add(number, f"prompt id {prompt.id!r} already appears on line {prompt_lines[prompt.id]}")
            continue
        prompt_lines[prompt.id] = number
        for response in prompt.responses:
            if response.id in response_lines:
                errors.add(number, f"response id {response.id!r} already appears on line {response_lines[response.id]}")
            response_lines.setdefault(response.id, number)
        chunk.append(prompt)
        if len(chunk) == PROMPTS_PER_CHUNK:
            created += _chunk_write(campaign, chunk, errors, updating=updating)
            chunk = []
    created += _chunk_write(campaign, chunk, errors, updating=updating)
    if not prompt_lines and not errors.found:
        errors.add(1, "the file holds no prompts")
    errors.raise_if_any()  # rolls back what was written
    return created


def _chunk_write(campaign: Campaign, prompts: list[_Prompt], errors: LineErrors, *, updating: bool) -> int:
    """Write a chunk of checked prompts and their responses, unless the file has had an error (the rest is only
    checked); returns how many prompts are new."""
    prompt_pks, known_responses = _existing_check(campaign, prompts, errors) if updating else ({}, set())
    if errors.found or not prompts:
        return 0
    new = [prompt for prompt in prompts if prompt.id not in prompt_pks]
    if new:
        before = Prompt.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        now = sql_now()
        sql_insert(Prompt, ["campaign_id", "external_id", "messages", "metadata", "created_at"],
                   ((campaign.pk, prompt.id, _json(prompt.messages), _json(prompt.metadata), now) for prompt in new))
        # ours are this campaign's rows after `before` (our ids were drawn later); a range of ids is an index scan
        # whatever the statistics, which know nothing of rows this transaction wrote
        prompt_pks.update((external_id, pk) for campaign_id, external_id, pk in Prompt.objects.filter(pk__gt=before)
                          .values_list("campaign_id", "external_id", "pk") if campaign_id == campaign.pk)
    now = sql_now()
    sql_insert(Candidate, ["prompt_id", "external_id", "text", "model", "metadata", "created_at"],
               ((prompt_pks[prompt.id], response.id, response.text, response.model, _json(response.metadata), now)
                for prompt in prompts for response in prompt.responses if response.id not in known_responses))
    return len(new)


def _json(value) -> str:
    """A checked JSON value as column text (orjson: several times as fast as json.dumps)."""
    return orjson.dumps(value).decode()
