"""Chat-log import: our JSONL, ShareGPT and WildChat layouts, one conversation a line.

The file is read line by line twice and never held whole: the first pass checks every line (errors name their line
numbers) and the second writes, in one transaction, so a file goes in whole or not at all. A conversation is known
by the SHA-256 of its roles and texts, so a second import of the same file (or of an overlapping one) adds nothing.
Rows are written a batch of conversations at a time with their ids taken beforehand, so that every message names its
parent and all of a batch's messages go in at once (core.sql.sql_insert: COPY on PostgreSQL).
"""

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import User
from core.sql import sql_insert
from core.values import json_parse
from feedback.models import Conversation, ConversationImport, Message
from feedback.pii import scrub
from feedback.services.conversations import content_hash
from modelhost.messages import ROLES, storable

FORMATS = ("auto", "jsonl", "sharegpt", "wildchat")
SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system"}
WILDCHAT_METADATA = ("language", "toxic", "redacted", "turn")
MAX_LINE_BYTES = 10_000_000
MAX_ERRORS_SHOWN = 20
BATCH = 1000


@dataclass(frozen=True)
class Parsed:
    external_id: str
    model: str
    messages: list[dict]
    metadata: dict
    started_at: datetime | None


@dataclass(frozen=True)
class ImportResult:
    lines: int
    created: int
    duplicates: int


def _layout(record: dict, format: str) -> str:
    if format != "auto":
        return format
    for key, layout in (("messages", "jsonl"), ("conversations", "sharegpt"), ("conversation", "wildchat")):
        if key in record:
            return layout
    raise ValueError('no "messages" (ours), "conversations" (ShareGPT) or "conversation" (WildChat) list')


def _timestamp(value) -> datetime | None:
    if value in (None, ""):
        return None
    parsed = parse_datetime(str(value).replace(" ", "T", 1)) if isinstance(value, str) else None
    if parsed is None:
        raise ValueError(f"timestamp {value!r} is not an ISO date and time")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC)


def conversation_parse(record, *, format: str = "auto") -> Parsed:
    """One line's conversation in any layout as {role, content} messages; ValueError says what is wrong."""
    if not isinstance(record, dict):
        raise ValueError("a line must hold a JSON object")
    layout = _layout(record, format)
    if layout == "sharegpt":
        turns, role_key, text_key, roles = record.get("conversations"), "from", "value", SHAREGPT_ROLES
    else:
        turns = record.get("messages" if layout == "jsonl" else "conversation")
        role_key, text_key, roles = "role", "content", {role: role for role in ROLES}
    if not isinstance(turns, list) or not turns:
        raise ValueError(f"{layout}: the message list is missing or empty")
    messages = []
    for number, turn in enumerate(turns, 1):
        if not isinstance(turn, dict) or turn.get(role_key) not in roles:
            raise ValueError(f"message {number}: {role_key} must be one of {', '.join(sorted(roles))}")
        if not isinstance(turn.get(text_key), str):
            raise ValueError(f"message {number}: {text_key} must be text")
        messages.append({"role": roles[turn[role_key]], "content": turn[text_key]})
    if layout == "wildchat":
        external_id = record.get("conversation_id") or record.get("conversation_hash") or ""
        metadata = {key: record[key] for key in WILDCHAT_METADATA if key in record}
        started_at = _timestamp(record.get("timestamp"))
    else:
        external_id, started_at = record.get("id") or "", None
        metadata = record.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise ValueError("metadata must be an object")
    model = record.get("model") or ""
    if not isinstance(model, str):
        raise ValueError("model must be text")
    return Parsed(str(external_id)[:200], model[:200], messages, metadata, started_at)


def _records(path: Path, format: str) -> Iterator[tuple[int, Parsed | str]]:
    """(line number, the parsed conversation or what is wrong with the line), blank lines skipped."""
    with path.open("rb") as lines:
        for number, line in enumerate(lines, 1):
            if len(line) > MAX_LINE_BYTES:
                yield number, f"longer than {MAX_LINE_BYTES} bytes"
                continue
            if not line.strip():
                continue
            try:
                # The project's JSON rules (no NUL or lone surrogate in any string, no NaN, bounded depth and
                # integers): what passes here can be stored on both back ends.
                yield number, conversation_parse(json_parse(line.decode()), format=format)
            except ValidationError as error:
                yield number, error.messages[0]
            except (ValueError, UnicodeDecodeError) as error:
                yield number, str(error)


def conversations_check(*, path: Path, format: str = "auto",
                        on_progress: Callable[[int], None] | None = None) -> int:
    """Check every line; ValidationError lists the first errors by line number. The number of lines."""
    if format not in FORMATS:
        raise ValidationError(f"Unknown format {format!r}; use one of {', '.join(FORMATS)}.")
    errors, lines = [], 0
    for lines, parsed in _records(path, format):
        if isinstance(parsed, str):
            errors.append(f"line {lines}: {parsed}")
        if on_progress and lines % BATCH == 0:
            on_progress(lines)
    if not lines:
        raise ValidationError("The file holds no conversation.")
    if errors:
        more = f" (and {len(errors) - MAX_ERRORS_SHOWN} more)" if len(errors) > MAX_ERRORS_SHOWN else ""
        raise ValidationError([*errors[:MAX_ERRORS_SHOWN], f"{len(errors)} bad line(s){more}; nothing imported."])
    return lines


_CONVERSATION_COLUMNS = ["id", "owner_id", "model_name", "source", "external_id", "content_hash", "consent_raw",
                         "consent_research", "metadata", "pii_counts", "started_at", "created_at", "updated_at"]
_MESSAGE_COLUMNS = ["id", "conversation_id", "parent_id", "index", "role", "content", "raw_content", "model_name",
                    "finish_reason", "created_at"]


def _ids(model, count: int) -> list[int]:
    """Ids for `count` new rows of `model`, taken before the rows are written."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                           [table, count])
            return [row[0] for row in cursor.fetchall()]
        # SQLite: the import's transaction took the write lock at BEGIN (transaction_mode IMMEDIATE), so no one
        # else writes until it ends. AUTOINCREMENT's counter, not MAX(id): ids of deleted rows are never reused.
        cursor.execute("SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = %s", [table])
        last = cursor.fetchone()[0]
    return list(range(last + 1, last + 1 + count))


def _write(batch: list[tuple[Parsed, str]], *, owner: User, consent_raw: bool) -> None:
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    conversation_ids = _ids(Conversation, len(batch))
    message_ids = iter(_ids(Message, sum(len(parsed.messages) for parsed, _ in batch)))
    conversations, messages = [], []
    for conversation_id, (parsed, hash) in zip(conversation_ids, batch, strict=True):
        counts, parent = Counter(), None
        for index, message in enumerate(parsed.messages):
            raw = storable(message["content"])
            clean, found = scrub(raw)
            if found:
                counts.update(found)
            message_id = next(message_ids)
            messages.append((
                message_id, conversation_id, parent, index, message["role"], clean,
                raw if consent_raw and clean != raw else "", parsed.model if message["role"] == "assistant" else "",
                "", now,
            ))
            parent = message_id
        conversations.append((
            conversation_id, owner.pk, parsed.model, Conversation.Source.IMPORT.value, parsed.external_id, hash,
            consent_raw, True, orjson.dumps(parsed.metadata).decode(), orjson.dumps(counts).decode(),
            connection.ops.adapt_datetimefield_value(parsed.started_at), now, now,
        ))
    sql_insert(Conversation, _CONVERSATION_COLUMNS, conversations)  # COPY on PostgreSQL: ids were taken first
    sql_insert(Message, _MESSAGE_COLUMNS, messages)


def conversations_import(*, path: Path, owner: User, format: str = "auto", consent_raw: bool = False,
                         on_progress: Callable[[int], None] | None = None) -> ImportResult:
    """Import a chat log: every line checked first, then everything new written in one transaction, or nothing.
    The check reads only the file, so it runs outside the transaction and its progress can be seen."""
    lines = conversations_check(path=path, format=format, on_progress=on_progress)
    with transaction.atomic():
        return _import(path, owner, format, consent_raw, lines)


def _import(path: Path, owner: User, format: str, consent_raw: bool, lines: int) -> ImportResult:
    seen: set[str] = set()
    created = duplicates = 0
    batch: list[tuple[Parsed, str]] = []

    def flush() -> None:
        nonlocal created, duplicates
        stored = set(Conversation.objects.filter(source=Conversation.Source.IMPORT,
                                                 content_hash__in=[hash for _, hash in batch])
                     .values_list("content_hash", flat=True))
        fresh = []
        for parsed, hash in batch:
            if hash in stored or hash in seen:
                duplicates += 1
            else:
                seen.add(hash)
                fresh.append((parsed, hash))
        if fresh:
            _write(fresh, owner=owner, consent_raw=consent_raw)
        created += len(fresh)
        batch.clear()

    for number, parsed in _records(path, format):
        if isinstance(parsed, str):  # the file changed since it was checked
            raise ValidationError(f"line {number}: {parsed}; nothing imported.")
        batch.append((parsed, content_hash(parsed.messages)))
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    return ImportResult(lines=lines, created=created, duplicates=duplicates)


@transaction.atomic
def conversation_import_create(*, path: Path, filename: str, format: str, by: User) -> ConversationImport:
    """Record an uploaded file and queue its import on the default queue."""
    from feedback.tasks import conversation_import_run as task

    run = ConversationImport.objects.create(path=str(path), filename=filename, format=format, created_by=by)
    transaction.on_commit(lambda: task.delay(run.pk))
    return run


def conversation_import_run(*, import_id: int) -> None:
    """Run a recorded import. A redelivered message re-runs one whose worker died: safe, as the file goes in
    whole or not at all and what is already stored is skipped."""
    run = ConversationImport.objects.filter(pk=import_id).select_related("created_by").first()
    if run is None or run.status in (ConversationImport.Status.DONE, ConversationImport.Status.FAILED):
        return
    ConversationImport.objects.filter(pk=run.pk).update(status=ConversationImport.Status.RUNNING)

    def progress(lines: int) -> None:
        ConversationImport.objects.filter(pk=run.pk).update(lines_checked=lines)

    try:
        result = conversations_import(path=Path(run.path), owner=run.created_by, format=run.format,
                                      on_progress=progress)
    except ValidationError as error:
        Path(run.path).unlink(missing_ok=True)  # the raw log is not kept
        ConversationImport.objects.filter(pk=run.pk).update(
            status=ConversationImport.Status.FAILED, error="\n".join(error.messages), finished_at=timezone.now())
        return
    ConversationImport.objects.filter(pk=run.pk).update(
        status=ConversationImport.Status.DONE, lines_checked=result.lines, created=result.created,
        duplicates=result.duplicates, finished_at=timezone.now())
    Path(run.path).unlink(missing_ok=True)
