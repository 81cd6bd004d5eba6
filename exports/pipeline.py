"""One export from a checked spec to files: read the snapshot in chunks, aggregate, filter, lay out, split, write.

Called by `exports.services.export_run`; it writes only into the directory it is given.
"""

import hashlib
import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils.crypto import salted_hmac

from annotate.protocols import is_ai_judge
from annotate.selectors.snapshot import (
    ItemRecord,
    JudgmentRecord,
    gold_failing_annotators,
    items_read,
    judgments_count,
    snapshot_exchange_lines,
    snapshot_judgments_total,
)
from core.heap import collector_paused
from core.values import canonical_json, json_check
from exports.aggregation import item_verdicts, judgment_scores
from exports.card import card_write
from exports.clock import StageClock
from exports.formats import FORMAT_CLASSES, Format, Rows
from exports.read_ahead import read_ahead
from exports.writers import SplitWriter, content_hash, file_entry, files_manifest, hf_save, writer_open

logger = logging.getLogger(__name__)
ROWS_PER_BATCH = 5000
CARD = "README.md"
Progress = Callable[[int, int], None]


class ExportEmpty(ValidationError):
    """No judgment passed the filters: there is nothing to write."""


@dataclass
class ExportStats:
    judgments_selected: int = 0
    judgments_used: int = 0
    items_judged: int = 0
    items_exported: int = 0
    dropped: dict = field(default_factory=lambda: {"min_agreement": 0, "max_spread": 0, "no_rows": 0})
    annotators: set = field(default_factory=set)
    gold_failing_annotators: int = 0
    agreement_sum: float = 0.0
    agreement_items: int = 0
    unanimous_items: int = 0
    rows: dict = field(default_factory=dict)  # split -> rows
    prompts: dict = field(default_factory=dict)  # split -> set of prompt hashes

    @property
    def mean_agreement(self) -> float | None:
        return round(self.agreement_sum / self.agreement_items, 4) if self.agreement_items else None


@dataclass
class ExportResult:
    rows: int
    files: list[dict]
    content_hash: str
    stages: StageClock


def pseudonymizer(salt: str) -> Callable[[int], str]:
    """Annotator pk -> a pseudonym: HMAC keyed by the server secret and this export's salt, never a name."""
    known: dict[int, str] = {}

    def pseudonym(annotator: int) -> str:
        if annotator not in known:
            digest = salted_hmac(f"concord.exports.annotator.{salt}", str(annotator), algorithm="sha256")
            known[annotator] = "annotator-" + digest.hexdigest()[:16]
        return known[annotator]

    return pseudonym


def prompt_split(messages: list[dict], *, seed: str, test_size: float) -> tuple[str, int]:
    """The split of a prompt, from a hash of its text: the same prompt is in the same split in every campaign."""
    text = canonical_json([{"role": m["role"], "content": m["content"]} for m in messages]).encode()
    value = int.from_bytes(hashlib.sha256(seed.encode() + b"\0" + text).digest()[:8], "big")
    return ("test" if value / 2 ** 64 < test_size else "train"), value


class SplitFiles:
    """Rows (or, for raw, lines) per split, handed to the split's writer every ROWS_PER_BATCH rows as one table;
    a writer is opened with its first batch, so an empty split leaves no file."""

    def __init__(self, spec: dict, directory: Path, scratch: Path, layout: Format | None, clock: StageClock):
        self.spec, self.directory, self.scratch, self.layout, self.clock = spec, directory, scratch, layout, clock
        self.writers: dict[str, SplitWriter] = {}
        self.pending: dict[str, Rows | list[str]] = {}

    def rows(self, split: str) -> Rows:
        return self.pending.setdefault(split, Rows())

    def line_add(self, split: str, line: str) -> None:
        self.pending.setdefault(split, []).append(line)

    def flush(self, *, final: bool = False) -> None:
        """Hands on each split's batch once it is big enough (every batch, when final)."""
        for split, batch in list(self.pending.items()):
            if len(batch) < (1 if final else ROWS_PER_BATCH):
                continue
            del self.pending[split]
            if split not in self.writers:
                self.writers[split] = writer_open(self.spec["filetype"], self.directory, split,
                                                  self.layout and self.layout.schema(), self.scratch, self.clock)
            if self.layout:
                with self.clock.stage("format"):
                    table = self.layout.table(batch)
                self.writers[split].write(table)
            else:
                self.writers[split].write_lines(batch)

    def close(self) -> dict[str, SplitWriter]:
        self.flush(final=True)
        for writer in self.writers.values():
            writer.close()
        return dict(sorted(self.writers.items()))


def _structured(spec: dict, snapshot_id: int, excluded: set[int], layout: Format, stats: ExportStats,
                files: SplitFiles, progress: Callable[[int], None]) -> None:
    attributes = layout.value_names() if spec["format"] == "attributes" else ()
    clock = files.clock
    chunks = read_ahead(clock.iterate("read", items_read(spec=spec, snapshot_id=snapshot_id, excluded=excluded)))
    for chunk in clock.iterate("waiting", chunks):
        with clock.stage("aggregate"):
            results = [item_verdicts(item, spec, attributes=attributes) for item in chunk]
        with clock.stage("format"):
            for item, result in zip(chunk, results, strict=True):
                _item_add(item, result, spec, layout, stats, files)
        files.flush()  # counts its own format and waiting time
        progress(sum(len(item.judgments) for item in chunk))


def _item_add(item: ItemRecord, result, spec: dict, layout: Format, stats: ExportStats, files: SplitFiles) -> None:
    stats.items_judged += 1
    if spec["min_agreement"] is not None and (result.agreement is None or result.agreement < spec["min_agreement"]):
        stats.dropped["min_agreement"] += 1
        return
    if spec["max_spread"] is not None and result.spread > spec["max_spread"]:
        stats.dropped["max_spread"] += 1
        return
    split, prompt_hash = prompt_split(item.messages, seed=spec["split_seed"], test_size=spec["test_size"])
    rows = layout.rows_add(files.rows(split), item, result)
    if not rows:
        stats.dropped["no_rows"] += 1
        return
    stats.items_exported += 1
    stats.rows[split] = stats.rows.get(split, 0) + rows
    stats.prompts.setdefault(split, set()).add(prompt_hash)
    used = {j.pk: j.annotator for verdict in result.verdicts for j in verdict.judgments}
    stats.judgments_used += len(used)
    stats.annotators.update(used.values())
    if result.agreement is not None:
        stats.agreement_sum += result.agreement
        stats.agreement_items += 1
        stats.unanimous_items += result.agreement == 1.0


def _raw(spec: dict, snapshot_id: int, excluded: set[int], pseudonym, stats: ExportStats, files: SplitFiles,
         progress: Callable[[int], None]) -> None:
    """Exchange-format lines, filtered, the annotator replaced by a pseudonym and the rationale left out unless
    asked for; lines keep the exchange format's key order."""
    since = datetime.fromisoformat(spec["since"]) if spec["since"] else None
    until = datetime.fromisoformat(spec["until"]) if spec["until"] else None
    models = set(spec["models"])
    for campaign in snapshot_exchange_lines(campaign_ids=spec["campaigns"], snapshot_id=snapshot_id):
        users, gold, read = campaign.users, campaign.gold_items, 0
        for line in campaign.lines:
            read += 1
            if read % ROWS_PER_BATCH == 0:
                progress(ROWS_PER_BATCH)
                files.flush()
            record = json.loads(line)
            if "\\u" in line and not _writable(record):
                continue
            annotator = users[record["annotator"]]
            moment = datetime.fromisoformat(record["created_at"])
            ids = [response["id"] for response in record["responses"]]
            if (annotator in excluded or record["protocol"] not in spec["protocols"]
                    or (is_ai_judge(record["annotator"]) and not spec["include_ai_judges"])
                    or (record["item"] in gold and not spec["include_gold"])
                    or (since and moment < since) or (until and moment >= until)
                    or (models and any(response.get("model", "") not in models for response in record["responses"]))):
                continue
            if spec["drop_ties"] and len(set(judgment_scores(_raw_judgment(record), ids, spec["score_weights"]))) == 1:
                continue
            record["annotator"] = pseudonym(annotator)
            if not spec["include_rationale"]:
                record.pop("rationale", None)
            prompt = record["prompt"]
            messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
            split, prompt_hash = prompt_split(messages, seed=spec["split_seed"], test_size=spec["test_size"])
            files.line_add(split, json.dumps(record, ensure_ascii=False) + "\n")
            stats.rows[split] = stats.rows.get(split, 0) + 1
            stats.prompts.setdefault(split, set()).add(prompt_hash)
            stats.judgments_used += 1
            stats.annotators.add(annotator)
        progress(read % ROWS_PER_BATCH)


def _writable(record: dict) -> bool:
    """Whether a file can hold the record. The exchange export writes text stored before the doors refused lone
    surrogates as \\u escapes (so only lines with escapes are checked); such a judgment is left out alone, logged."""
    try:
        json_check(record)
    except ValidationError as error:
        logger.warning("judgment of item %r left out of a dataset: %s", record.get("item"), error.messages[0])
        return False
    return True


def _raw_judgment(record: dict) -> JudgmentRecord:
    return JudgmentRecord(0, 0, record["protocol"], record.get("choice", ""), record.get("strength"),
                          record.get("ranking"), record.get("ratings"), record.get("attributes"), "")


def dataset_write(*, spec: dict, snapshot_id: int, directory: Path,
                  on_progress: Progress | None = None) -> ExportResult:
    """Write the export's files and card into `directory` (created; it and its `-scratch` sibling must not
    exist yet)."""
    directory.mkdir(parents=True)
    stats = ExportStats()
    clock = StageClock()
    excluded = gold_failing_annotators(spec=spec, snapshot_id=snapshot_id) if spec["exclude_gold_failures"] else set()
    stats.gold_failing_annotators = len(excluded)
    selected = judgments_count(spec=spec, snapshot_id=snapshot_id, excluded=excluded)
    raw = spec["format"] == "raw"
    # raw reads every line of the campaigns' exchange export up to the snapshot, and filters them itself
    total = snapshot_judgments_total(campaign_ids=spec["campaigns"], snapshot_id=snapshot_id) if raw else selected
    stats.judgments_selected = selected
    done = 0

    def progress(step: int) -> None:
        nonlocal done
        done += step
        if on_progress:
            on_progress(done, total)

    pseudonym = pseudonymizer(spec["salt"])
    layout = None if raw else FORMAT_CLASSES[spec["format"]](spec, pseudonym)
    scratch = directory.with_name(directory.name + "-scratch")  # a sibling, so a rerun's clean-up finds it
    scratch.mkdir()
    try:
        files = SplitFiles(spec, directory, scratch, layout, clock)
        with collector_paused():  # it walked every record held, again and again: a third of the CPU at a million
            if raw:
                _raw(spec, snapshot_id, excluded, pseudonym, stats, files, progress)
            else:
                _structured(spec, snapshot_id, excluded, layout, stats, files, progress)
            writers = files.close()
        if not writers:
            raise ExportEmpty("No judgment of these campaigns passes the export's filters: nothing to write.")
        if spec["filetype"] == "hf":
            hf_save(writers, directory, fingerprint=f"{canonical_json(spec)}:{snapshot_id}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    data_files = files_manifest(directory, {writer.path: writer.file.sha256.hexdigest()
                                            for writer in writers.values() if writer.kept})
    digest = content_hash(data_files)
    card = directory / CARD
    card_write(card, spec=spec, layout=layout, stats=stats, files=data_files, content_hash=digest,
               snapshot_id=snapshot_id)
    manifest = sorted([*data_files, file_entry(directory, card)], key=lambda entry: entry["path"])
    return ExportResult(rows=sum(stats.rows.values()), files=manifest, content_hash=digest, stages=clock)
