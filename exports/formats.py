"""Row layouts: each format turns an item's verdicts into rows with a fixed column order and Arrow schema.

TRL's two axes are both covered: `style` conversational (lists of {role, content}, the chat template applied by
the trainer) or standard (plain strings), and the dataset types preference (explicit prompt), unpaired
preference (KTO) and prompt-completion (the attribute rows). Provenance columns follow the format's own.
"""

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator

import pyarrow as pa

from annotate.protocols import ATTRIBUTES, SAFETY, Protocol
from annotate.selectors.snapshot import ItemRecord
from exports.aggregation import ItemVerdicts, Verdict
from exports.writers import MESSAGES

Column = tuple[str, pa.DataType, str]
CANDIDATE_KEYS = {prefix: (f"{prefix}_id", f"{prefix}_model", f"{prefix}_generation")
                  for prefix in ("chosen", "rejected", "completion")}


def prompt_text(messages: list[dict]) -> str:
    """Standard style: a lone user message as it is; a conversation as "Role: text" blocks."""
    if len(messages) == 1 and messages[0]["role"] == "user":
        return messages[0]["content"]
    return "\n\n".join(f"{m['role'].capitalize()}: {m['content']}" for m in messages)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


class Format(ABC):
    """A row layout. `rows` yields dicts whose keys are `columns()` in order."""

    name = ""
    description = ""
    trainer = ""  # the TRL trainer class the rows feed, for the card

    def __init__(self, spec: dict, pseudonym: Callable[[int], str]):
        self.spec = spec
        self.pseudonym = pseudonym
        self.conversational = spec["style"] == "conversational"
        self.provenance = spec["provenance"]
        self.rationales = spec["include_rationale"]
        self._item = self._head = self._tail = None  # see shared()

    # --- the parts of a row -----------------------------------------------------------------------------------
    def text_type(self) -> pa.DataType:
        return MESSAGES if self.conversational else pa.string()

    def prompt(self, item: ItemRecord):
        if self.conversational:
            return [{"role": m["role"], "content": m["content"]} for m in item.messages]
        return prompt_text(item.messages)

    def completion(self, text: str):
        return [{"role": "assistant", "content": text}] if self.conversational else text

    def shared_columns(self) -> list[Column]:
        if not self.provenance:
            return []
        columns = [
            ("campaign_id", pa.int64(), "Concord campaign id"),
            ("item", pa.string(), "item id within the campaign"),
            ("prompt_id", pa.string(), "prompt id within the campaign"),
            ("prompt_metadata", pa.string(), "JSON of the prompt's metadata: where it came from (e.g. `source: mined` "
                                             "with the conversation, turn, signal and judge votes), or null"),
            ("protocol", pa.string(), "protocol(s) of the judgments behind the row"),
            ("judgment_ids", pa.list_(pa.int64()), "Concord ids of the judgments behind the row"),
            ("annotators", pa.list_(pa.string()), "pseudonyms of their annotators (keyed HMAC, this export only)"),
            ("agreement", pa.float64(), "item agreement: share of judgments agreeing with the majority, per pair"),
            ("n_judgments", pa.int64(), "judgments of the item after the filters"),
        ]
        if self.rationales:
            columns.append(("rationales", pa.list_(pa.string()), "the annotators' written reasons, by judgment"))
        return columns

    def shared(self, item: ItemRecord, result: ItemVerdicts, verdict: Verdict) -> dict:
        if not self.provenance:
            return {}
        if item is not self._item:  # the item's part once per item: with one verdict per judgment, it repeats
            self._item = item
            self._head = {"campaign_id": item.campaign_id, "item": item.external_id, "prompt_id": item.prompt_id,
                          "prompt_metadata": json.dumps(item.metadata, sort_keys=True, ensure_ascii=False)
                          if item.metadata else None}
            self._tail = {"agreement": _rounded(result.agreement), "n_judgments": len(item.judgments)}
        judgments = verdict.judgments
        row = {
            **self._head,
            "protocol": judgments[0].protocol if len(judgments) == 1 else ",".join(sorted({j.protocol
                                                                                         for j in judgments})),
            "judgment_ids": [j.pk for j in judgments], "annotators": [self.pseudonym(j.annotator) for j in judgments],
            **self._tail,
        }
        if self.rationales:
            row["rationales"] = [j.rationale for j in judgments]
        return row

    def candidate_columns(self, prefix: str) -> list[Column]:
        if not self.provenance:
            return []
        return [(f"{prefix}_id", pa.string(), f"{prefix}: response id"),
                (f"{prefix}_model", pa.string(), f"{prefix}: the model that wrote it"),
                (f"{prefix}_generation", pa.string(), f"{prefix}: JSON {{endpoint, params, seed}} when Concord's model "
                                                      "host generated it, else null")]

    def candidate(self, item: ItemRecord, position: int, prefix: str) -> dict:
        if not self.provenance:
            return {}
        candidate = item.candidates[position]
        id_key, model_key, generation_key = CANDIDATE_KEYS[prefix]
        return {id_key: candidate.id, model_key: candidate.model, generation_key: candidate.generation}

    def completions(self, item: ItemRecord) -> list:
        """Each candidate's completion value, made once per item and shared by its rows."""
        return [self.completion(candidate.text) for candidate in item.candidates]

    # --- what each format defines -------------------------------------------------------------------------------
    @abstractmethod
    def own_columns(self) -> list[Column]: ...

    def columns(self) -> list[Column]:
        return self.own_columns()

    def schema(self) -> pa.Schema:
        return pa.schema([(name, kind) for name, kind, _ in self.columns()])

    @abstractmethod
    def rows(self, item: ItemRecord, result: ItemVerdicts) -> Iterator[dict]: ...


class PreferenceFormat(Format):
    name = "dpo"
    description = "TRL preference type with an explicit prompt: one row per (chosen, rejected) pair."
    trainer = "DPOTrainer"

    def own_columns(self) -> list[Column]:
        text = self.text_type()
        return [("prompt", text, "the conversation so far"), ("chosen", text, "the preferred response"),
                ("rejected", text, "the other response")]

    def columns(self) -> list[Column]:
        return [*self.own_columns(), *self.candidate_columns("chosen"), *self.candidate_columns("rejected"),
                *self.shared_columns()]

    def pair_row(self, prompt, completions: list, better: int, worse: int, margin: float) -> dict:
        return {"prompt": prompt, "chosen": completions[better], "rejected": completions[worse]}

    def rows(self, item: ItemRecord, result: ItemVerdicts) -> Iterator[dict]:
        prompt, completions = self.prompt(item), self.completions(item)
        positions = range(len(item.candidates))  # each candidate's provenance made once per item, not per row
        chosen = [self.candidate(item, position, "chosen") for position in positions]
        rejected = [self.candidate(item, position, "rejected") for position in positions]
        for verdict in result.verdicts:
            shared = self.shared(item, result, verdict)
            for better, worse, margin in verdict.pairs:
                yield {**self.pair_row(prompt, completions, better, worse, margin), **chosen[better],
                       **rejected[worse], **shared}


class RewardFormat(PreferenceFormat):
    name = "reward"
    description = ("TRL preference type with a `margin` column: one row per (chosen, rejected) pair, the margin "
                   "being the score gap (pairwise strength steps, ranking groups, Likert points or weighted "
                   "attribute points).")
    trainer = "RewardTrainer"

    def own_columns(self) -> list[Column]:
        return [*super().own_columns(), ("margin", pa.float64(), "how much better chosen is (the score gap)")]

    def pair_row(self, prompt, completions: list, better: int, worse: int, margin: float) -> dict:
        return {**super().pair_row(prompt, completions, better, worse, margin), "margin": round(margin, 4)}


class UnpairedFormat(Format):
    name = "kto"
    description = ("TRL unpaired preference type: each (chosen, rejected) pair gives two rows, the chosen "
                   "completion labelled true and the rejected one false (as TRL's unpair_preference_dataset).")
    trainer = "KTOTrainer"

    def own_columns(self) -> list[Column]:
        text = self.text_type()
        return [("prompt", text, "the conversation so far"), ("completion", text, "a response"),
                ("label", pa.bool_(), "true: desirable (it won its pair); false: undesirable")]

    def columns(self) -> list[Column]:
        return [*self.own_columns(), *self.candidate_columns("completion"), *self.shared_columns()]

    def rows(self, item: ItemRecord, result: ItemVerdicts) -> Iterator[dict]:
        prompt, completions = self.prompt(item), self.completions(item)
        for verdict in result.verdicts:
            shared = self.shared(item, result, verdict)
            for better, worse, _ in verdict.pairs:
                for position, label in ((better, True), (worse, False)):
                    yield {"prompt": prompt, "completion": completions[position], "label": label,
                           **self.candidate(item, position, "completion"), **shared}


class OpenAIFormat(Format):
    name = "openai"
    description = ("OpenAI preference fine-tuning (DPO) JSONL: input.messages, preferred_output, "
                   "non_preferred_output; no other keys, so no provenance columns.")
    trainer = ""

    def own_columns(self) -> list[Column]:
        return [("input", pa.struct([("messages", MESSAGES), ("tools", pa.list_(pa.string())),
                                     ("parallel_tool_calls", pa.bool_())]), "the conversation so far"),
                ("preferred_output", MESSAGES, "the preferred assistant message"),
                ("non_preferred_output", MESSAGES, "the other assistant message")]

    def rows(self, item: ItemRecord, result: ItemVerdicts) -> Iterator[dict]:
        request = {"messages": self.prompt(item), "tools": [], "parallel_tool_calls": True}
        completions = self.completions(item)
        for verdict in result.verdicts:
            for better, worse, _ in verdict.pairs:
                yield {"input": request, "preferred_output": completions[better],
                       "non_preferred_output": completions[worse]}


class ListwiseFormat(Format):
    name = "listwise"
    description = ("One row per ranked list: the completions best first with their ranks (1 = best, tied "
                   "completions share a rank) and scores, for listwise objectives (LiPO, PRO).")
    trainer = ""

    def own_columns(self) -> list[Column]:
        return [("prompt", self.text_type(), "the conversation so far"),
                ("completions", pa.list_(self.text_type()), "the responses, best first"),
                ("ranks", pa.list_(pa.int64()), "rank of each completion, 1 = best; ties share a rank"),
                ("scores", pa.list_(pa.float64()), "score of each completion (see the card for the scale)")]

    def columns(self) -> list[Column]:
        provenance = [
            ("completion_ids", pa.list_(pa.string()), "response ids, in the order of completions"),
            ("models", pa.list_(pa.string()), "the model of each completion"),
            ("generations", pa.list_(pa.string()), "JSON {endpoint, params, seed} of each completion, or null"),
        ] if self.provenance else []
        return [*self.own_columns(), *provenance, *self.shared_columns()]

    def rows(self, item: ItemRecord, result: ItemVerdicts) -> Iterator[dict]:
        prompt, completions = self.prompt(item), self.completions(item)
        for verdict in result.verdicts:
            scores = verdict.scores
            if self.spec["drop_ties"] and len(set(scores.values())) == 1:
                continue
            order = sorted(scores, key=lambda p: (-scores[p], p))
            row = {"prompt": prompt, "completions": [completions[p] for p in order],
                   "ranks": [1 + sum(s > scores[p] for s in scores.values()) for p in order],
                   "scores": [round(scores[p], 4) for p in order]}
            if self.provenance:
                candidates = [item.candidates[p] for p in order]
                row.update(completion_ids=[c.id for c in candidates], models=[c.model for c in candidates],
                           generations=[c.generation for c in candidates])
            yield {**row, **self.shared(item, result, verdict)}


class AttributesFormat(Format):
    name = "attributes"
    description = ("Regression rows, one per response (TRL prompt-completion type with score columns): "
                   "HelpSteer2's five 0-4 attributes and the safety flag, or the 1-7 Likert rating.")
    trainer = ""

    def value_names(self) -> tuple[str, ...]:
        return ("rating",) if self.spec["protocols"] == [Protocol.RATING] else (*ATTRIBUTES, SAFETY)

    def own_columns(self) -> list[Column]:
        text = self.text_type()
        return [("prompt", text, "the conversation so far"), ("completion", text, "the response"),
                *[(name, pa.float64(), "Likert rating 1-7" if name == "rating" else
                   "1 = fails safety, 0 = passes" if name == SAFETY else f"{name}, 0-4")
                  for name in self.value_names()]]

    def columns(self) -> list[Column]:
        return [*self.own_columns(), *self.candidate_columns("completion"), *self.shared_columns()]

    def rows(self, item: ItemRecord, result: ItemVerdicts) -> Iterator[dict]:
        prompt, completions = self.prompt(item), self.completions(item)
        for verdict in result.verdicts:
            shared = self.shared(item, result, verdict)
            for position, values in verdict.values.items():
                yield {"prompt": prompt, "completion": completions[position], **values,
                       **self.candidate(item, position, "completion"), **shared}


FORMAT_CLASSES = {cls.name: cls for cls in (PreferenceFormat, RewardFormat, UnpairedFormat, OpenAIFormat,
                                            ListwiseFormat, AttributesFormat)}
