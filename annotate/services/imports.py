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
"""

import csv
import io
import json
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from annotate.models import Campaign, Candidate, Prompt
from core.sql import sql_insert, sql_now
from core.values import json_check, json_parse
from modelhost.messages import messages_validate, text_check

MAX_ID_LENGTH = 200
MAX_REPORTED_ERRORS = 50  # a file that is wrong throughout would otherwise make a message of megabytes
CSV_RESPONSE = re.compile(r"^response_(\d+)$")
CSV_MODEL = re.compile(r"^model_(\d+)$")


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
    try:
        text_check(value, name)
    except ValidationError as error:
        raise LineError(error.messages[0]) from None
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


def keys_check(record: dict, allowed: set[str], name: str = "") -> None:
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
    keys_check(value, {"id", "text", "model", "metadata"}, name)
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
    keys_check(record, {"id", "prompt", "metadata", "responses"})
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


def _jsonl_records(content: str, errors: LineErrors):
    # split("\n"), not splitlines(): JSON strings may hold U+2028 and other characters splitlines breaks on
    for number, line in enumerate(content.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield number, json_parse(line)  # every string, number and depth checked, metadata included
        except ValidationError as error:
            errors.add(number, error.messages[0])


def _csv_records(content: str, errors: LineErrors):
    reader = csv.reader(io.StringIO(content, newline=""))
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
    if not campaign.prompts.exists():
        return prompt_pks, set()  # a first import: nothing to look up, chunk by chunk
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
def prompts_import(*, campaign: Campaign, content: str, filename: str) -> int:
    """Add the prompts (and responses) of a JSONL or CSV file to the campaign; returns how many prompts are new."""
    errors = LineErrors()
    suffix = filename.lower().rsplit(".", 1)[-1]
    if suffix not in {"jsonl", "ndjson", "csv"}:
        raise ValidationError(f"{filename}: use a .jsonl or .csv file.")
    content = content.removeprefix("\ufeff")
    records = _csv_records(content, errors) if suffix == "csv" else _jsonl_records(content, errors)
    prompts: list[_Prompt] = []
    prompt_lines: dict[str, int] = {}
    response_lines: dict[str, int] = {}
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
        prompts.append(prompt)
    if not prompts and not errors.found:
        errors.add(1, "the file holds no prompts")
    errors.raise_if_any()
    prompt_pks, known_responses = _existing_check(campaign, prompts, errors)
    errors.raise_if_any()

    new = [prompt for prompt in prompts if prompt.id not in prompt_pks]
    now = sql_now()
    sql_insert(Prompt, ["campaign_id", "external_id", "messages", "metadata", "created_at"],
               ((campaign.pk, prompt.id, json.dumps(prompt.messages), json.dumps(prompt.metadata), now)
                for prompt in new))
    if new:
        prompt_pks = dict(campaign.prompts.values_list("external_id", "pk"))
    sql_insert(Candidate, ["prompt_id", "external_id", "text", "model", "metadata", "created_at"],
               ((prompt_pks[prompt.id], response.id, response.text, response.model, json.dumps(response.metadata), now)
                for prompt in prompts for response in prompt.responses if response.id not in known_responses))
    return len(new)
