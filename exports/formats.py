"""Row layouts: each format lays an item's verdicts out as rows with a fixed column order and Arrow schema.

TRL's two axes are both covered: `style` conversational (lists of {role, content}, the chat template applied by
the trainer) or standard (plain strings), and the dataset types preference (explicit prompt), unpaired
preference (KTO) and prompt-completion (the attribute rows). Provenance columns follow the format's own.

Rows are held column-wise (`Rows`): each row names its item, its verdict and the candidates it shows (indices),
and carries only the values of its own (a margin, a label). A column is made once per item, verdict or candidate
and spread to the rows by Arrow's `take`, so a prompt or response that appears in several rows is converted from
Python once and copied in C, and no dict is made per row: at a million judgments that per-row Python was a third of
an export's time.
"""

import json
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from operator import attrgetter

import numpy as np
import pyarrow as pa

from annotate.protocols import ATTRIBUTES, SAFETY, Protocol
from annotate.selectors.snapshot import CandidateRecord, ItemRecord
from exports.aggregation import ItemVerdicts, Verdict

MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
# one getter per field, so that columns of two roles (chosen and rejected) share the array made of it
_MESSAGES, _TEXT, _ID, _MODEL, _GENERATION = map(attrgetter, ("messages", "text", "id", "model", "generation"))


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    description: str
    # where the value comes from: "item" (value(item)), "result" (value(the item's verdicts)), "verdict"
    # (value(verdict)), "judgments" (a list: value(judgment) for each judgment of the verdict), a candidate of the
    # row: "chosen", "rejected" or "completion" (value(candidate)), "ranked" (a list of candidates), or "row" (the
    # value the row carries under the column's name)
    level: str
    value: Callable | None = None
    array: Callable[[list], pa.Array] | None = None  # makes the Arrow array of the values, when pa.array won't do


def prompt_text(messages: list[dict]) -> str:
    """Standard style: a lone user message as it is; a conversation as "Role: text" blocks."""
    if len(messages) == 1 and messages[0]["role"] == "user":
        return messages[0]["content"]
    return "\n\n".join(f"{m['role'].capitalize()}: {m['content']}" for m in messages)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _messages(offsets: pa.Array, roles: pa.Array, contents: list[str]) -> pa.Array:
    return pa.ListArray.from_arrays(offsets, pa.StructArray.from_arrays(
        [roles, pa.array(contents, pa.string())], names=["role", "content"]))


def messages_array(values: list[list[dict]]) -> pa.Array:
    """A list<struct<role, content>> column from flat string columns (other keys of a message are left out):
    several times faster than pyarrow's conversion of the nested Python objects."""
    flat = [message for messages in values for message in messages]
    offsets = pa.array([0, *accumulate(map(len, values))], pa.int32())
    return _messages(offsets, pa.array([message["role"] for message in flat], pa.string()),
                     [message["content"] for message in flat])


def assistant_messages(texts: list[str]) -> pa.Array:
    """Each text as a conversation of one assistant message, with no Python object per message."""
    return _messages(pa.array(np.arange(len(texts) + 1, dtype=np.int32)), pa.repeat("assistant", len(texts)), texts)


class Rows:
    """Rows of one split, column-wise: the items and verdicts they come from, and for each row the index of its
    item, of its verdict, of its candidates (into `candidates`, every candidate of the items in order) and its own
    values."""

    def __init__(self):
        self.items: list[ItemRecord] = []
        self.results: list[ItemVerdicts] = []
        self.verdicts: list[Verdict] = []
        self.candidates: list[CandidateRecord] = []
        self.item_of: list[int] = []
        self.verdict_of: list[int] = []
        self.fields: dict[str, list] = defaultdict(list)  # role -> candidate index; column name -> value

    def __len__(self) -> int:
        return len(self.item_of)

    def item_add(self, item: ItemRecord, result: ItemVerdicts) -> int:
        """Adds the item; returns the index its first candidate has in `candidates`."""
        self.items.append(item)
        self.results.append(result)
        first = len(self.candidates)
        self.candidates.extend(item.candidates)
        return first

    def verdict_add(self, verdict: Verdict) -> int:
        self.verdicts.append(verdict)
        return len(self.verdicts) - 1

    def row_add(self, verdict: int, **fields) -> None:
        """A row of the last item added, from one of its verdicts; `fields` holds candidate indices by role and the
        row's own values by column name."""
        self.item_of.append(len(self.items) - 1)
        self.verdict_of.append(verdict)
        for name, value in fields.items():
            self.fields[name].append(value)


class Format(ABC):
    """A row layout: `columns()` in order, filled by `rows_add` one item at a time and laid out by `table`."""

    name = ""
    description = ""
    trainer = ""  # the TRL trainer class the rows feed, for the card

    def __init__(self, spec: dict, pseudonym: Callable[[int], str]):
        self.spec = spec
        self.pseudonym = pseudonym
        self.conversational = spec["style"] == "conversational"
        self.provenance = spec["provenance"]
        self.rationales = spec["include_rationale"]

    # --- the parts of a row -----------------------------------------------------------------------------------
    def text_type(self) -> pa.DataType:
        return MESSAGES if self.conversational else pa.string()

    def prompt_column(self) -> Column:
        if self.conversational:  # messages_array takes each message's role and content only
            return Column("prompt", MESSAGES, "the conversation so far", "item", _MESSAGES, messages_array)
        return Column("prompt", pa.string(), "the conversation so far", "item",
                      lambda item: prompt_text(item.messages))

    def completion_column(self, name: str, description: str, role: str) -> Column:
        return Column(name, self.text_type(), description, role, _TEXT,
                      assistant_messages if self.conversational else None)

    def shared_columns(self) -> list[Column]:
        if not self.provenance:
            return []
        columns = [
            Column("campaign_id", pa.int64(), "Concord campaign id", "item", attrgetter("campaign_id")),
            Column("item", pa.string(), "item id within the campaign", "item", attrgetter("external_id")),
            Column("prompt_id", pa.string(), "prompt id within the campaign", "item", attrgetter("prompt_id")),
            Column("prompt_metadata", pa.string(), "JSON of the prompt's metadata: where it came from (e.g. `source: "
                   "mined` with the conversation, turn, signal and judge votes), or null", "item",
                   lambda item: json.dumps(item.metadata, sort_keys=True, ensure_ascii=False)
                   if item.metadata else None),
            Column("protocol", pa.string(), "protocol(s) of the judgments behind the row", "verdict",
                   lambda verdict: verdict.judgments[0].protocol if len(verdict.judgments) == 1
                   else ",".join(sorted({j.protocol for j in verdict.judgments}))),
            Column("judgment_ids", pa.list_(pa.int64()), "Concord ids of the judgments behind the row", "judgments",
                   attrgetter("pk")),
            Column("annotators", pa.list_(pa.string()), "pseudonyms of their annotators (keyed HMAC, this export "
                   "only)", "judgments", lambda judgment: self.pseudonym(judgment.annotator)),
            Column("agreement", pa.float64(), "item agreement: share of judgments agreeing with the majority, per "
                   "pair", "result", lambda result: _rounded(result.agreement)),
            Column("n_judgments", pa.int64(), "judgments of the item after the filters", "item",
                   lambda item: len(item.judgments)),
        ]
        if self.rationales:
            columns.append(Column("rationales", pa.list_(pa.string()), "the annotators' written reasons, by "
                                  "judgment", "judgments", attrgetter("rationale")))
        return columns

    def candidate_columns(self, role: str) -> list[Column]:
        if not self.provenance:
            return []
        return [Column(f"{role}_id", pa.string(), f"{role}: response id", role, _ID),
                Column(f"{role}_model", pa.string(), f"{role}: the model that wrote it", role, _MODEL),
                Column(f"{role}_generation", pa.string(), f"{role}: JSON {{endpoint, params, seed}} when Concord's "
                       "model host generated it, else null", role, _GENERATION)]

    # --- what each format defines -------------------------------------------------------------------------------
    @abstractmethod
    def columns(self) -> list[Column]: ...

    @abstractmethod
    def rows_add(self, rows: Rows, item: ItemRecord, result: ItemVerdicts) -> int:
        """Adds the item's rows; returns how many."""

    def schema(self) -> pa.Schema:
        return pa.schema([(column.name, column.type) for column in self.columns()])

    def table(self, rows: Rows) -> pa.Table:
        """The rows as an Arrow table: each column made once per item, verdict or candidate, then taken per row."""
        made: dict[tuple, pa.Array] = {}  # a candidate column shared by roles (chosen and rejected) is made once

        def array(column: Column, values: list, kind: pa.DataType) -> pa.Array:
            return column.array(values) if column.array else pa.array(values, kind)

        def of_candidates(column: Column, kind: pa.DataType) -> pa.Array:
            if (column.value, column.array, kind) not in made:
                made[column.value, column.array, kind] = array(column, list(map(column.value, rows.candidates)), kind)
            return made[column.value, column.array, kind]

        def taken(values: pa.Array, picks: list[int] | pa.Array) -> pa.Array:
            return values.take(picks if isinstance(picks, pa.Array) else pa.array(picks, pa.int64()))

        def listed(values: pa.Array, lengths) -> pa.Array:  # consecutive values as lists of these lengths
            return pa.ListArray.from_arrays(pa.array([0, *accumulate(lengths)], pa.int32()), values)

        judged = [judgment for verdict in rows.verdicts for judgment in verdict.judgments]
        item_of, verdict_of = pa.array(rows.item_of, pa.int64()), pa.array(rows.verdict_of, pa.int64())

        arrays = []
        for column in self.columns():
            if column.level == "row":
                arrays.append(array(column, rows.fields[column.name], column.type))
            elif column.level in ("item", "result"):
                objects = rows.items if column.level == "item" else rows.results
                values = array(column, list(map(column.value, objects)), column.type)
                arrays.append(taken(values, item_of))
            elif column.level == "verdict":
                values = array(column, list(map(column.value, rows.verdicts)), column.type)
                arrays.append(taken(values, verdict_of))
            elif column.level == "judgments":
                values = array(column, list(map(column.value, judged)), column.type.value_type)
                arrays.append(taken(listed(values, (len(verdict.judgments) for verdict in rows.verdicts)),
                                    verdict_of))
            elif column.level == "ranked":
                picks = rows.fields["ranked"]
                values = taken(of_candidates(column, column.type.value_type), [i for row in picks for i in row])
                arrays.append(listed(values, map(len, picks)))
            else:
                arrays.append(taken(of_candidates(column, column.type), rows.fields[column.level]))
        return pa.Table.from_arrays(arrays, schema=self.schema())


class PreferenceFormat(Format):
    name = "dpo"
    description = "TRL preference type with an explicit prompt: one row per (chosen, rejected) pair."
    trainer = "DPOTrainer"

    def own_columns(self) -> list[Column]:
        return [self.prompt_column(),
                self.completion_column("chosen", "the preferred response", "chosen"),
                self.completion_column("rejected", "the other response", "rejected")]

    def columns(self) -> list[Column]:
        return [*self.own_columns(), *self.candidate_columns("chosen"), *self.candidate_columns("rejected"),
                *self.shared_columns()]

    def pair_add(self, rows: Rows, verdict: int, better: int, worse: int, margin: float) -> None:
        rows.row_add(verdict, chosen=better, rejected=worse)

    def rows_add(self, rows: Rows, item: ItemRecord, result: ItemVerdicts) -> int:
        first, added = rows.item_add(item, result), 0
        for verdict in result.verdicts:
            index = rows.verdict_add(verdict)
            for better, worse, margin in verdict.pairs:
                self.pair_add(rows, index, first + better, first + worse, margin)
                added += 1
        return added


class RewardFormat(PreferenceFormat):
    name = "reward"
    description = ("TRL preference type with a `margin` column: one row per (chosen, rejected) pair, the margin "
                   "being the score gap (pairwise strength steps, ranking groups, Likert points or weighted "
                   "attribute points).")
    trainer = "RewardTrainer"

    def own_columns(self) -> list[Column]:
        return [*super().own_columns(),
                Column("margin", pa.float64(), "how much better chosen is (the score gap)", "row")]

    def pair_add(self, rows: Rows, verdict: int, better: int, worse: int, margin: float) -> None:
        rows.row_add(verdict, chosen=better, rejected=worse, margin=round(margin, 4))


class UnpairedFormat(Format):
    name = "kto"
    description = ("TRL unpaired preference type: each (chosen, rejected) pair gives two rows, the chosen "
                   "completion labelled true and the rejected one false (as TRL's unpair_preference_dataset).")
    trainer = "KTOTrainer"

    def columns(self) -> list[Column]:
        return [self.prompt_column(),
                self.completion_column("completion", "a response", "completion"),
                Column("label", pa.bool_(), "true: desirable (it won its pair); false: undesirable", "row"),
                *self.candidate_columns("completion"), *self.shared_columns()]

    def rows_add(self, rows: Rows, item: ItemRecord, result: ItemVerdicts) -> int:
        first, added = rows.item_add(item, result), 0
        for verdict in result.verdicts:
            index = rows.verdict_add(verdict)
            for better, worse, _ in verdict.pairs:
                rows.row_add(index, completion=first + better, label=True)
                rows.row_add(index, completion=first + worse, label=False)
                added += 2
        return added


class OpenAIFormat(PreferenceFormat):
    name = "openai"
    description = ("OpenAI preference fine-tuning (DPO) JSONL: input.messages, preferred_output, "
                   "non_preferred_output; no other keys, so no provenance columns.")
    trainer = ""

    def request(self, item: ItemRecord) -> dict:
        messages = [{"role": m["role"], "content": m["content"]} for m in item.messages]  # conversational (spec)
        return {"messages": messages, "tools": [], "parallel_tool_calls": True}

    def columns(self) -> list[Column]:
        return [Column("input", pa.struct([("messages", MESSAGES), ("tools", pa.list_(pa.string())),
                                           ("parallel_tool_calls", pa.bool_())]), "the conversation so far", "item",
                       self.request),
                self.completion_column("preferred_output", "the preferred assistant message", "chosen"),
                self.completion_column("non_preferred_output", "the other assistant message", "rejected")]


class ListwiseFormat(Format):
    name = "listwise"
    description = ("One row per ranked list: the completions best first with their ranks (1 = best, tied "
                   "completions share a rank) and scores, for listwise objectives (LiPO, PRO).")
    trainer = ""

    def columns(self) -> list[Column]:
        provenance = [
            Column("completion_ids", pa.list_(pa.string()), "response ids, in the order of completions", "ranked",
                   _ID),
            Column("models", pa.list_(pa.string()), "the model of each completion", "ranked", _MODEL),
            Column("generations", pa.list_(pa.string()), "JSON {endpoint, params, seed} of each completion, or "
                   "null", "ranked", _GENERATION),
        ] if self.provenance else []
        return [self.prompt_column(),
                Column("completions", pa.list_(self.text_type()), "the responses, best first", "ranked",
                       _TEXT, assistant_messages if self.conversational else None),
                Column("ranks", pa.list_(pa.int64()), "rank of each completion, 1 = best; ties share a rank", "row"),
                Column("scores", pa.list_(pa.float64()), "score of each completion (see the card for the scale)",
                       "row"),
                *provenance, *self.shared_columns()]

    def rows_add(self, rows: Rows, item: ItemRecord, result: ItemVerdicts) -> int:
        first, added = rows.item_add(item, result), 0
        for verdict in result.verdicts:
            scores = verdict.scores
            if self.spec["drop_ties"] and len(set(scores.values())) == 1:
                continue
            order = sorted(scores, key=lambda p: (-scores[p], p))
            rows.row_add(rows.verdict_add(verdict), ranked=[first + p for p in order],
                         ranks=[1 + sum(s > scores[p] for s in scores.values()) for p in order],
                         scores=[round(scores[p], 4) for p in order])
            added += 1
        return added


class AttributesFormat(Format):
    name = "attributes"
    description = ("Regression rows, one per response (TRL prompt-completion type with score columns): "
                   "HelpSteer2's five 0-4 attributes and the safety flag, or the 1-7 Likert rating.")
    trainer = ""

    def value_names(self) -> tuple[str, ...]:
        return ("rating",) if self.spec["protocols"] == [Protocol.RATING] else (*ATTRIBUTES, SAFETY)

    def columns(self) -> list[Column]:
        return [self.prompt_column(),
                self.completion_column("completion", "the response", "completion"),
                *[Column(name, pa.float64(), "Likert rating 1-7" if name == "rating" else
                         "1 = fails safety, 0 = passes" if name == SAFETY else f"{name}, 0-4", "row")
                  for name in self.value_names()],
                *self.candidate_columns("completion"), *self.shared_columns()]

    def rows_add(self, rows: Rows, item: ItemRecord, result: ItemVerdicts) -> int:
        first, added = rows.item_add(item, result), 0
        for verdict in result.verdicts:
            index = rows.verdict_add(verdict)
            for position, values in verdict.values.items():
                rows.row_add(index, completion=first + position, **values)
                added += 1
        return added


FORMAT_CLASSES = {cls.name: cls for cls in (PreferenceFormat, RewardFormat, UnpairedFormat, OpenAIFormat,
                                            ListwiseFormat, AttributesFormat)}
