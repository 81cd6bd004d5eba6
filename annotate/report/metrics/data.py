"""Read a campaign's judgments into flat numpy arrays: a few `values_list` queries, read a batch of rows at a time
and placed column by column (no Python call per judgment).

Everything is indexed densely: items 0..I-1, slots (an item's responses in canonical order, slot 0 = "a"),
annotators 0..A-1 and models 0..M-1. Judgments come in the order they were made. Answers are unpacked into long
tables (one row per judged response), with the position each response was shown at (-1 when unknown).

Whose judgments are read is decided here once (`annotators`): people's by default, so agreement, gold, outliers and
the leaderboard stay human; everyone's for the human-vs-AI section; or one AI judge's, for its own leaderboard.
"""

import dataclasses
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import repeat

import numpy as np
import orjson
from django.db.models import Case, Count, Q, QuerySet, TextField, Value, When
from django.db.models.functions import Cast, Coalesce
from django.db.models.sql.constants import MULTI

from accounts.models import User
from annotate.models import ArmMembership, Assignment, Campaign, Candidate, Item, ItemCandidate, Judgment
from annotate.profiles.selectors import profile_values
from annotate.protocols import AI_PREFIX, ATTRIBUTE_NAMES, CHOICES, PROTOCOLS, is_ai_judge
from annotate.report.metrics.properties import PROPERTIES, response_properties
from annotate.report.metrics.style import FEATURES, style_counts
from core.heap import collector_paused

ARMS = ("", ArmMembership.Arm.RATING, ArmMembership.Arm.RANKING)  # "" = not in an arm
PROTOCOL_INDEX = {protocol: index for index, protocol in enumerate(PROTOCOLS)}
CHOICE_INDEX = {choice: index for index, choice in enumerate(CHOICES)}
JSON_COLUMNS = ("ranking", "ratings", "attributes", "presented_order")
ROWS_PER_BATCH = 50_000
INT_FIELDS = ("item", "annotator", "protocol", "choice", "conflict")  # of a judgment, as the builder reads them
FLOAT_FIELDS = ("time_ms", "when", "entropy")
PEOPLE, EVERYONE = "people", "everyone"  # whose judgments a report reads; else the username of one AI judge


def annotator_kept(username: str, annotators: str) -> bool:
    """The rule of whose judgments a report reads (below as the same rule in SQL, `annotators_q`)."""
    if annotators == EVERYONE:
        return True
    return not is_ai_judge(username) if annotators == PEOPLE else username == annotators


def annotators_q(annotators: str, prefix: str = "annotator__") -> Q:
    if annotators == EVERYONE:
        return Q()
    if annotators == PEOPLE:
        return ~Q(**{f"{prefix}username__startswith": AI_PREFIX})
    return Q(**{f"{prefix}username": annotators})


@dataclass
class Answers:
    """One row per judged response: the judgment, the response's slot, where it was shown, and its value(s)."""

    judgment: np.ndarray
    slot: np.ndarray
    shown: np.ndarray
    value: np.ndarray  # (n,) or (n, len(ATTRIBUTE_NAMES)) for attributes


@dataclass
class CampaignData:
    item_count: int
    slot_candidate: np.ndarray  # (I, K) candidate pk, -1 where the item has fewer slots
    slot_model: np.ndarray  # (I, K) model index, -1 when unknown
    models: list[str]
    annotators: list[str]  # username by annotator index
    annotator_arm: np.ndarray  # (A,) index into ARMS
    skipped: np.ndarray  # (A,) skipped assignments
    # judgments, in the order they were made
    item: np.ndarray
    annotator: np.ndarray
    protocol: np.ndarray  # index into PROTOCOLS
    time_ms: np.ndarray  # float, NaN when unknown
    choice: np.ndarray  # index into CHOICES, -1 for other protocols
    first_shown: np.ndarray  # slot shown first, -1 when unknown
    rankings: Answers  # value: group index, 0 = best
    ratings: Answers  # value: 1..7
    attributes: Answers  # values: 0..4 per attribute, then unsafe 0/1
    slot_style: np.ndarray | None = None  # (I, K, 4) style counts of each slot's response (style.style_counts)
    slot_properties: np.ndarray | None = None  # (I, K, 6) properties of each slot's response (properties.PROPERTIES)
    # AI judges' runs (a judgment's metadata): every verdict they gave, by order and sample, as (judgment, slot
    # shown first, choice) rows; per judgment whether its verdict flipped with the order (-1 unknown) and the
    # entropy of its verdicts (NaN unknown).
    verdicts: np.ndarray | None = None  # (n, 3)
    conflict: np.ndarray | None = None
    entropy: np.ndarray | None = None

    @property
    def annotator_ai(self) -> np.ndarray:
        return np.array([is_ai_judge(name) for name in self.annotators], dtype=bool)

    @property
    def judgment_count(self) -> int:
        return len(self.item)


def _decoded(texts: tuple) -> list:
    """JSON texts decoded in one call: 100k small json.loads calls cost more than the query."""
    return orjson.loads("[" + ",".join(texts) + "]")


def _judgment_batches(campaign: Campaign, annotators: str):
    """Batches of the judgments of `annotators`, in the order they were made, as columns: item, annotator,
    protocol, choice, time on task, ranking, ratings, attributes, presented order, AI judges' metadata. The JSON
    columns come as text, decoded here column by column, a batch of rows at a time (a million rows held at once
    took a gigabyte)."""
    null = Value("null", output_field=TextField())  # SQL's NULL as JSON's, so that a batch's texts join as they come
    answers = {f"{name}_text": Coalesce(Cast(name, TextField()), null) for name in JSON_COLUMNS}
    # Only AI judges' metadata is read: "null" costs nothing on people's rows.
    answers["metadata_text"] = Case(When(annotator__username__startswith=AI_PREFIX,
                                         then=Coalesce(Cast("metadata", TextField()), null)), default=null)
    rows = (Judgment.objects.filter(annotators_q(annotators), item__campaign=campaign)
            .order_by("created_at", "pk").annotate(**answers)
            .values_list("item_id", "annotator_id", "protocol", "choice", "time_on_task_ms", *answers))
    for columns in _column_batches(rows):
        yield *columns[:5], *(_decoded(column) for column in columns[5:])


def _column_batches(rows: QuerySet):
    """The rows of a values_list query, a batch at a time as columns (tuples), straight from the compiler: one
    fetch per batch, no Python call per row (no column here needs a converter)."""
    batches = rows.query.get_compiler(using=rows.db).execute_sql(MULTI, chunked_fetch=True,
                                                                 chunk_size=ROWS_PER_BATCH)
    for batch in batches:
        yield list(zip(*batch, strict=True))


def _measures(style: bool, properties: bool) -> dict[str, tuple]:
    """What is measured in each response's text: the CampaignData field it fills -> (measure, width, dtype)."""
    wanted = {"slot_style": (style, style_counts, len(FEATURES), np.int64),
              "slot_properties": (properties, response_properties, len(PROPERTIES), np.float64)}
    return {field: rest for field, (want, *rest) in wanted.items() if want}


def _slot_values(slot_candidate: np.ndarray, keys: np.ndarray, rows: list, width: int, dtype) -> np.ndarray:
    """(I, K, width) measures of every slot's response, from the measures of each response (keys sorted)."""
    values = np.zeros((*slot_candidate.shape, width), dtype)
    filled = slot_candidate >= 0
    values[filled] = np.array(rows, dtype).reshape(-1, width)[np.searchsorted(keys, slot_candidate[filled])]
    return values


def _measured(data: CampaignData, measures: dict, keys: np.ndarray, rows: dict[str, list]) -> None:
    for field, (_, width, dtype) in measures.items():
        setattr(data, field, _slot_values(data.slot_candidate, keys, rows[field], width, dtype))


def _counts(column) -> np.ndarray:
    """How many entries each row's list or dict holds (0 for NULL)."""
    return np.array([len(entry) if entry else 0 for entry in column], np.int64).reshape(len(column))


def _within(counts: np.ndarray) -> np.ndarray:
    """Each entry's place in its row, for rows of `counts` entries laid end to end."""
    return np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)


def _numbers(index: dict, keys) -> list[int]:
    """The number of each key in `index`, new keys numbered as they first come."""
    new = dict.fromkeys([key for key in keys if key not in index])  # most are known: one lookup each
    index.update(zip(new, range(len(index), len(index) + len(new)), strict=True))
    return list(map(index.__getitem__, keys))


def _ids(responses: list) -> np.ndarray:
    """Response ids as a numpy array of strings: matched to slots and shown places by numpy's string comparison,
    not a dict lookup per id (millions of them in a dict of a million ids: the slowest part of placing answers)."""
    return np.array(responses, dtype=str)


def _place(table: np.ndarray, filled: np.ndarray, row: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Where each value sits in its row of `table` (values where `filled`), -1 where it is not there. A chunk of
    rows at a time: the rows gathered from a table of strings are large."""
    place = np.empty(len(row), np.int64)
    for start in range(0, len(row), ROWS_PER_BATCH):
        part = slice(start, start + ROWS_PER_BATCH)
        hit = (table[row[part]] == value[part, None]) & filled[row[part]]
        place[part] = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)
    return place


@dataclass
class _Rows:
    """Rows of an Answers table before the slots are known: the judgment, the response id, the value(s)."""

    judgment: list = dataclasses.field(default_factory=list)
    response: list = dataclasses.field(default_factory=list)
    value: list = dataclasses.field(default_factory=list)

    def add(self, judgment: np.ndarray, response: np.ndarray, value: np.ndarray) -> None:
        self.judgment.append(judgment)
        self.response.append(response)
        self.value.append(value)

    def responses(self) -> np.ndarray:
        return _joined(self.response, str)

    def answers(self, item: np.ndarray, slots: tuple, presented: np.ndarray, rank: np.ndarray,
                width: int = 0) -> Answers:
        """The table with each response's slot (`slots`: each item's response ids, and where they are) and where
        it was shown (`presented`: each judgment's slots as shown, -1 after the last), judgments renumbered by
        `rank` (judging order), sorted by judgment."""
        judgment = _joined(self.judgment)
        value = _joined(self.value).reshape(-1, width) if width else _joined(self.value)
        slot = _slot(*slots, item[judgment], self.responses())
        shown = _place(presented, presented >= 0, judgment, slot)
        judgment = rank[judgment]
        order = np.argsort(judgment, kind="stable")
        return Answers(judgment=judgment[order], slot=slot[order], shown=shown[order], value=value[order])


def _joined(parts: list, dtype=np.int64) -> np.ndarray:
    """The parts in one array; the parts are let go (at a million judgments, holding both was the load's peak)."""
    joined = np.concatenate(parts) if parts else np.zeros(0, dtype)
    parts.clear()
    return joined


def _slot(slot_id: np.ndarray, filled: np.ndarray, item: np.ndarray, response: np.ndarray) -> np.ndarray:
    """The slot of each response in its item."""
    slot = _place(slot_id, filled, item, response)
    if (slot < 0).any():
        raise KeyError("a judgment names a response that its item does not have")
    return slot


class _Builder:
    """Collects items, their responses and judgments a batch at a time, column by column (comprehensions and numpy,
    no method call per judgment), in any order, and makes the arrays. Keys (item, candidate, annotator) may be
    anything hashable: database ids, or the ids of an exchange file."""

    def __init__(self) -> None:
        self.item_index: dict = {}
        self.slot_columns = {name: array("q") for name in ("item", "candidate", "model")}  # a row per slot
        self.slot_ids: list[str] = []
        self.models: dict[str, int] = {}
        self.annotator_index: dict = {}
        self.columns: dict[str, list] = {name: [] for name in (*INT_FIELDS, *FLOAT_FIELDS)}  # arrays by batch
        self.judged = 0
        self.presented = _Rows()  # each shown response, its value the place it was shown at
        self.rankings, self.ratings, self.attributes = _Rows(), _Rows(), _Rows()
        self.verdicts: list[tuple] = []  # (judgment, item, choice)
        self.verdict_ids: list[str] = []  # the response shown first, by verdict

    def items(self, keys) -> None:
        """Items, numbered as they first come (an item may also first come with its responses)."""
        _numbers(self.item_index, keys)

    def responses(self, item_keys, candidates, response_ids, models) -> None:
        """Items' responses, a row each: the item, the candidate key (an integer), the response id, the model (None
        or "" when unknown). An item's rows come together, in canonical order."""
        columns = self.slot_columns
        columns["item"].extend(_numbers(self.item_index, item_keys))
        columns["candidate"].extend(candidates)
        self.slot_ids.extend(response_ids)
        columns["model"].extend(_numbers(self.models, models))

    def judgments(self, item_keys, annotator_keys, protocols, choices, times_ms, rankings, ratings, scores, presented,
                  metadata, when=None) -> None:
        """A batch of judgments, one sequence per field (None for NULL or an empty answer); `metadata` holds AI
        judges' runs, `when` orders judgments (default: as they came)."""
        count = len(item_keys)
        number = np.arange(self.judged, self.judged + count)
        self.judged += count
        item = np.fromiter(map(self.item_index.__getitem__, item_keys), np.int64, count)
        batch = {
            "item": item,
            "annotator": np.array(_numbers(self.annotator_index, annotator_keys), np.int64).reshape(count),
            "protocol": np.fromiter(map(PROTOCOL_INDEX.__getitem__, protocols), np.int64, count),
            "choice": np.fromiter(map(CHOICE_INDEX.get, choices, repeat(-1)), np.int64, count),
            "time_ms": np.array(times_ms, np.float64).reshape(count),  # None becomes NaN
            "when": np.zeros(count) if when is None else np.array(when, np.float64),
            "conflict": np.full(count, -1), "entropy": np.full(count, np.nan),
        }
        for name, values in batch.items():
            self.columns[name].append(values)
        shown = _counts(presented)
        self.presented.add(np.repeat(number, shown),
                           _ids([r for order in presented if order for r in order]),
                           _within(shown))
        groups = [group for answer in rankings if answer for group in answer]
        sizes = _counts(groups)
        self.rankings.add(np.repeat(np.repeat(number, _counts(rankings)), sizes),
                          _ids([r for group in groups for r in group]),
                          np.repeat(_within(_counts(rankings)), sizes))
        self.ratings.add(np.repeat(number, _counts(ratings)),
                         _ids([r for answer in ratings if answer for r in answer]),
                         np.array([v for answer in ratings if answer for v in answer.values()], np.int64))
        self.attributes.add(np.repeat(number, _counts(scores)),
                            _ids([r for answer in scores if answer for r in answer]),
                            np.array([values.get(name, 0) for answer in scores if answer for values in answer.values()
                                      for name in ATTRIBUTE_NAMES], np.int64))
        for offset in [offset for offset, run in enumerate(metadata) if run]:  # AI judges' runs only: few
            run = metadata[offset]
            for order in run.get("orders", ()):  # the verdicts of each order
                self.verdicts += [(number[offset], item[offset], int(np.argmax(probabilities)))
                                  for probabilities in order["probs"]]
                self.verdict_ids += [order["shown"][0]] * len(order["probs"])
            batch["conflict"][offset] = int(run["conflict"]) if "conflict" in run else -1
            batch["entropy"][offset] = run.get("entropy", np.nan)

    def data(self, *, names: dict, arms: dict, skips: dict) -> CampaignData:
        """The arrays, judgments in the order they were made (by `when`, then as they came) and annotators
        numbered as they first judged, with each annotator key's name, arm and skipped assignments."""
        slot = {name: np.frombuffer(values, np.int64) for name, values in self.slot_columns.items()}
        item = slot["item"]
        first = np.flatnonzero(np.diff(item, prepend=-1))  # an item's first row
        position = np.arange(len(item)) - np.repeat(first, np.diff(first, append=len(item)))
        width = int(position.max()) + 1 if len(position) else 2
        slot_candidate, slot_model = (np.full((len(self.item_index), width), -1, dtype=np.int64) for _ in range(2))
        slot_candidate[item, position] = slot["candidate"]
        models = sorted(model for model in self.models if model)  # the leaderboard lists models by name
        by_name = np.array([models.index(model) if model else -1 for model in self.models], np.int64)
        slot_model[item, position] = by_name[slot["model"]]
        ids = _ids(self.slot_ids)
        slots = (np.zeros(slot_candidate.shape, ids.dtype), slot_candidate >= 0)  # each item's ids, where filled
        slots[0][item, position] = ids
        # judgments as they came (numbered so until `rank` renumbers them in judging order)
        column = {name: _joined(parts, np.float64 if name in FLOAT_FIELDS else np.int64)
                  for name, parts in self.columns.items()}
        shown = self.presented
        judgment, response, place = _joined(shown.judgment), shown.responses(), _joined(shown.value)
        presented = np.full((self.judged, int(place.max()) + 1 if len(place) else 1), -1, dtype=np.int64)
        presented[judgment, place] = _slot(*slots, column["item"][judgment], response)  # slots as shown
        first_shown = presented[:, 0].copy()
        verdicts = np.array(self.verdicts, np.int64).reshape(-1, 3)
        order = np.argsort(column["when"], kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        verdicts = np.column_stack([rank[verdicts[:, 0]], _slot(*slots, verdicts[:, 1], _ids(self.verdict_ids)),
                                    verdicts[:, 2]])
        verdicts = verdicts[np.argsort(verdicts[:, 0], kind="stable")]

        def answers(rows: _Rows, width: int = 0) -> Answers:
            return rows.answers(column["item"], slots, presented, rank, width)

        tables = {"rankings": answers(self.rankings), "ratings": answers(self.ratings),
                  "attributes": answers(self.attributes, len(ATTRIBUTE_NAMES))}
        column = {name: values[order] for name, values in column.items()}
        _numbers(self.annotator_index, skips)  # annotators who only skipped come last
        first_judged = np.full(len(self.annotator_index), len(order))
        np.minimum.at(first_judged, column["annotator"], np.arange(len(order)))
        renumbered = np.argsort(first_judged, kind="stable")  # new number -> old
        old_to_new = np.empty_like(renumbered)
        old_to_new[renumbered] = np.arange(len(renumbered))
        keys = list(self.annotator_index)  # in old numbering
        by_index = [keys[old] for old in renumbered]
        return CampaignData(
            verdicts=verdicts, conflict=column["conflict"], entropy=column["entropy"],
            item_count=len(self.item_index),
            slot_candidate=slot_candidate, slot_model=slot_model, models=models,
            annotators=[names[key] for key in by_index],
            annotator_arm=np.array([ARMS.index(arms.get(key, "")) for key in by_index], dtype=np.int64),
            skipped=np.array([skips.get(key, 0) for key in by_index], dtype=np.int64),
            item=column["item"], annotator=old_to_new[column["annotator"]], protocol=column["protocol"],
            time_ms=column["time_ms"], choice=column["choice"], first_shown=first_shown[order], **tables,
        )


def annotator_profiles(*, campaign: Campaign, data: CampaignData) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The profile attributes of the campaign (key -> label) and each annotator's consented values, by index."""
    pks = dict(User.objects.filter(username__in=data.annotators).values_list("username", "pk"))
    attributes, values = profile_values(campaign=campaign, user_ids=pks.values())
    return attributes, [values.get(pks.get(name), {}) for name in data.annotators]


def campaign_data(*, campaign: Campaign, style: bool = False, properties: bool = False,
                  annotators: str = PEOPLE) -> CampaignData:
    """`style`: also count the style of every response (for the style-controlled leaderboard); `properties`: also
    measure its properties (for the property profile); `annotators`: whose judgments (PEOPLE, EVERYONE or one AI
    judge's username)."""
    builder = _Builder()
    with collector_paused():
        for (pks,) in _column_batches(Item.objects.filter(campaign=campaign).order_by("pk").values_list("pk")):
            builder.items(pks)
        slots = ItemCandidate.objects.filter(item__campaign=campaign).order_by("item", "position").values_list(
            "item_id", "candidate_id", "candidate__external_id", "candidate__model")
        for columns in _column_batches(slots):  # a million slots held as rows took 300 MB
            builder.responses(*columns)
        for columns in _judgment_batches(campaign, annotators):  # already in the order they were made
            builder.judgments(*columns)
    skips = dict(Assignment.objects.filter(annotators_q(annotators), item__campaign=campaign,
                                           status=Assignment.Status.SKIPPED).order_by()
                 .values("annotator_id").annotate(n=Count("pk")).values_list("annotator_id", "n"))
    data = builder.data(
        names=dict(User.objects.filter(pk__in={*builder.annotator_index, *skips}).values_list("pk", "username")),
        arms=dict(ArmMembership.objects.filter(campaign=campaign).values_list("annotator_id", "arm")), skips=skips)
    measures = _measures(style, properties)
    if measures:  # each response's text read and measured once
        texts = Candidate.objects.filter(prompt__campaign=campaign).order_by("pk").values_list("pk", "text")
        keys, rows = [], {field: [] for field in measures}
        for pk, text in texts.iterator(chunk_size=2000):
            keys.append(pk)
            for field, (measure, _, _) in measures.items():
                rows[field].append(measure(text))
        _measured(data, measures, np.array(keys, np.int64), rows)
    return data


def exchange_data(*, judgments: Iterable, style: bool = False, properties: bool = False,
                  annotators: str = PEOPLE) -> CampaignData:
    """The same arrays from the checked judgments of an exchange file (`exchange.judgments_read`), read one at a
    time and kept nowhere: items and responses numbered as they first appear, annotators by name, judgments in the
    order they were made (created_at; one without comes last, as an import would date it now)."""
    builder = _Builder()
    responses: dict[str, int] = {}
    measures = _measures(style, properties)
    rows = {field: [] for field in measures}
    batch = []  # judgments not yet given to the builder, a row each
    with collector_paused():
        for line in judgments:
            if line.item not in builder.item_index:
                for response in line.responses:
                    if response.id not in responses:
                        responses[response.id] = len(responses)
                        for field, (measure, _, _) in measures.items():
                            rows[field].append(measure(response.text))
                builder.items([line.item])
                builder.responses([line.item] * len(line.responses), [responses[r.id] for r in line.responses],
                                  [r.id for r in line.responses], [r.model for r in line.responses])
            if not annotator_kept(line.annotator, annotators):
                continue  # its item is counted all the same, so every choice of annotators numbers items alike
            fields = line.fields
            batch.append((line.item, line.annotator, fields["protocol"], fields["choice"], None, fields["ranking"],
                          fields["ratings"], fields["attributes"], fields["presented_order"], None,
                          line.created_at.timestamp() if line.created_at else np.inf))
            if len(batch) == ROWS_PER_BATCH:
                builder.judgments(*zip(*batch, strict=True))
                batch = []
        if batch:
            builder.judgments(*zip(*batch, strict=True))
    data = builder.data(names={name: name for name in builder.annotator_index}, arms={}, skips={})
    _measured(data, measures, np.arange(len(responses)), rows)
    return data


def _answers_of(answers: Answers, keep: np.ndarray, renumber: np.ndarray) -> Answers:
    rows = keep[answers.judgment]
    return Answers(judgment=renumber[answers.judgment[rows]], slot=answers.slot[rows], shown=answers.shown[rows],
                   value=answers.value[rows])


def annotators_only(data: CampaignData, annotators: str) -> CampaignData:
    """The judgments of `annotators` (the rule of `annotator_kept`) out of data read for EVERYONE: one read serves
    the human report and the human-vs-AI section. Items keep their numbers; annotators are renumbered in order."""
    if annotators == EVERYONE:
        return data
    kept_annotator = np.array([annotator_kept(name, annotators) for name in data.annotators], dtype=bool)
    keep = kept_annotator[data.annotator]
    renumber = np.cumsum(keep) - 1
    new_annotator = np.cumsum(kept_annotator) - 1
    verdict_rows = keep[data.verdicts[:, 0]]
    verdicts = data.verdicts[verdict_rows].copy()
    verdicts[:, 0] = renumber[verdicts[:, 0]]
    return dataclasses.replace(
        data, annotators=[name for name, kept in zip(data.annotators, kept_annotator, strict=True) if kept],
        annotator_arm=data.annotator_arm[kept_annotator], skipped=data.skipped[kept_annotator],
        item=data.item[keep], annotator=new_annotator[data.annotator[keep]], protocol=data.protocol[keep],
        time_ms=data.time_ms[keep], choice=data.choice[keep], first_shown=data.first_shown[keep],
        rankings=_answers_of(data.rankings, keep, renumber), ratings=_answers_of(data.ratings, keep, renumber),
        attributes=_answers_of(data.attributes, keep, renumber), verdicts=verdicts, conflict=data.conflict[keep],
        entropy=data.entropy[keep])
