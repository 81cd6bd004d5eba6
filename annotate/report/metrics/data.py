"""Read a campaign's judgments into flat numpy arrays: a few `values_list` queries and one pass over the rows.

Everything is indexed densely: items 0..I-1, slots (an item's responses in canonical order, slot 0 = "a"),
annotators 0..A-1 and models 0..M-1. Judgments come in the order they were made. Answers are unpacked into long
tables (one row per judged response), with the position each response was shown at (-1 when unknown).
"""

import json
from dataclasses import dataclass

import numpy as np
from django.db.models import Count, TextField
from django.db.models.functions import Cast

from accounts.models import User
from annotate.models import ArmMembership, Assignment, Campaign, Candidate, Item, ItemCandidate, Judgment
from annotate.protocols import ATTRIBUTE_NAMES, CHOICES, PROTOCOLS
from annotate.report.metrics.style import FEATURES, style_counts

ARMS = ("", ArmMembership.Arm.RATING, ArmMembership.Arm.RANKING)  # "" = not in an arm
JSON_COLUMNS = ("ranking", "ratings", "attributes", "presented_order")


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

    @property
    def judgment_count(self) -> int:
        return len(self.item)


class _Table:
    """Rows of an Answers table, collected as flat lists while reading."""

    def __init__(self) -> None:
        self.judgment, self.slot, self.shown, self.value = [], [], [], []

    def add(self, judgment: int, slot: int, shown: int, value) -> None:
        self.judgment.append(judgment)
        self.slot.append(slot)
        self.shown.append(shown)
        self.value.append(value)

    def answers(self, width: int = 0) -> Answers:
        value = np.array(self.value, dtype=np.int64).reshape(-1, width) if width else np.array(self.value, np.int64)
        return Answers(judgment=np.array(self.judgment, np.int64), slot=np.array(self.slot, np.int64),
                       shown=np.array(self.shown, np.int64), value=value)


def _decoded(texts: tuple) -> list:
    """JSON texts (None for NULL) decoded in one call: 100k small json.loads calls cost more than the query."""
    return json.loads("[" + ",".join("null" if text is None else text for text in texts) + "]")


def _judgment_rows(campaign: Campaign):
    """(item, annotator, protocol, choice, time on task, ranking, ratings, attributes, presented order) per
    judgment, in the order they were made. The JSON columns come as text, decoded here column by column."""
    answers = {f"{name}_text": Cast(name, TextField()) for name in JSON_COLUMNS}
    rows = list(Judgment.objects.filter(item__campaign=campaign).order_by("created_at", "pk").annotate(**answers)
                .values_list("item_id", "annotator_id", "protocol", "choice", "time_on_task_ms", *answers))
    if not rows:
        return []
    columns = list(zip(*rows, strict=True))
    return zip(*columns[:5], *(_decoded(column) for column in columns[5:]), strict=True)


def _slot_style(slot_candidate: np.ndarray, keys: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(I, K, 4) style counts of every slot's response, from the counts of each response (keys sorted)."""
    slot_style = np.zeros((*slot_candidate.shape, len(FEATURES)), np.int64)
    filled = slot_candidate >= 0
    slot_style[filled] = counts.reshape(-1, len(FEATURES))[np.searchsorted(keys, slot_candidate[filled])]
    return slot_style


def _assemble(*, items: list, slot_rows: list, judgments, names: dict, arms: dict, skips: dict) -> CampaignData:
    """The arrays, from the items (any keys, in index order), their slots (item key, position, candidate key,
    response id, model), the judgment rows (item key, annotator key, protocol, choice, time on task, ranking,
    ratings, attributes, presented order) in the order they were made, and per annotator key its name, arm and
    skipped assignments."""
    item_index = {key: index for index, key in enumerate(items)}
    width = max((position for _, position, *_ in slot_rows), default=1) + 1
    slot_candidate = np.full((len(items), width), -1, dtype=np.int64)
    slot_model = np.full((len(items), width), -1, dtype=np.int64)
    models = sorted({model for *_, model in slot_rows if model})
    model_index = {model: index for index, model in enumerate(models)}
    slot_of: dict = {}  # item key -> response id -> slot
    for item_key, position, candidate_key, external_id, model in slot_rows:
        index = item_index[item_key]
        slot_candidate[index, position] = candidate_key
        slot_model[index, position] = model_index.get(model, -1)
        slot_of.setdefault(item_key, {})[external_id] = position

    protocol_index = {protocol: index for index, protocol in enumerate(PROTOCOLS)}
    choice_index = {choice: index for index, choice in enumerate(CHOICES)}
    annotator_index: dict = {}
    item_col, annotator_col, protocol_col, time_col, choice_col, first_col = ([] for _ in range(6))
    rankings, ratings, attributes = _Table(), _Table(), _Table()
    for number, (item_key, annotator_key, protocol, choice, time_ms, ranking, rating, scores, presented) \
            in enumerate(judgments):
        slots = slot_of[item_key]
        shown = {response: position for position, response in enumerate(presented)} if presented else {}
        item_col.append(item_index[item_key])
        annotator_col.append(annotator_index.setdefault(annotator_key, len(annotator_index)))
        protocol_col.append(protocol_index[protocol])
        time_col.append(np.nan if time_ms is None else time_ms)
        choice_col.append(choice_index.get(choice, -1))
        first_col.append(slots[presented[0]] if presented else -1)
        if ranking is not None:
            for group, responses in enumerate(ranking):
                for response in responses:
                    rankings.add(number, slots[response], shown.get(response, -1), group)
        if rating is not None:
            for response, value in rating.items():
                ratings.add(number, slots[response], shown.get(response, -1), value)
        if scores is not None:
            for response, values in scores.items():
                attributes.add(number, slots[response], shown.get(response, -1),
                               [values.get(name, 0) for name in ATTRIBUTE_NAMES])

    for annotator_key in skips:
        annotator_index.setdefault(annotator_key, len(annotator_index))
    by_index = sorted(annotator_index, key=annotator_index.get)
    return CampaignData(
        item_count=len(items),
        slot_candidate=slot_candidate, slot_model=slot_model, models=models,
        annotators=[names[key] for key in by_index],
        annotator_arm=np.array([ARMS.index(arms.get(key, "")) for key in by_index], dtype=np.int64),
        skipped=np.array([skips.get(key, 0) for key in by_index], dtype=np.int64),
        item=np.array(item_col, np.int64), annotator=np.array(annotator_col, np.int64),
        protocol=np.array(protocol_col, np.int64), time_ms=np.array(time_col, np.float64),
        choice=np.array(choice_col, np.int64),
        first_shown=np.array(first_col, np.int64),
        rankings=rankings.answers(), ratings=ratings.answers(), attributes=attributes.answers(len(ATTRIBUTE_NAMES)),
    )


def campaign_data(*, campaign: Campaign, style: bool = False) -> CampaignData:
    """`style`: also count the style of every response (for the style-controlled leaderboard)."""
    items = list(Item.objects.filter(campaign=campaign).order_by("pk").values_list("pk", flat=True))
    slot_rows = list(ItemCandidate.objects.filter(item__campaign=campaign).values_list(
        "item_id", "position", "candidate_id", "candidate__external_id", "candidate__model"))
    judgments = list(_judgment_rows(campaign))
    skips = dict(Assignment.objects.filter(item__campaign=campaign, status=Assignment.Status.SKIPPED).order_by()
                 .values("annotator_id").annotate(n=Count("pk")).values_list("annotator_id", "n"))
    annotators = {row[1] for row in judgments} | set(skips)
    data = _assemble(
        items=items, slot_rows=slot_rows, judgments=judgments, skips=skips,
        names=dict(User.objects.filter(pk__in=annotators).values_list("pk", "username")),
        arms=dict(ArmMembership.objects.filter(campaign=campaign).values_list("annotator_id", "arm")),
    )
    if style:  # each response's text read and counted once
        texts = Candidate.objects.filter(prompt__campaign=campaign).order_by("pk").values_list("pk", "text")
        keys, counts = [], []
        for pk, text in texts.iterator(chunk_size=2000):
            keys.append(pk)
            counts.append(style_counts(text))
        data.slot_style = _slot_style(data.slot_candidate, np.array(keys, np.int64), np.array(counts, np.int64))
    return data


def exchange_data(*, judgments: list, style: bool = False) -> CampaignData:
    """The same arrays from the checked judgments of an exchange file (`exchange.judgments_read`), without a
    database: items and responses numbered as they first appear, annotators by name, judgments in the order they
    were made (created_at; a judgment without one comes last, as an import would date it now)."""
    items, slot_rows, responses = {}, [], {}
    for line in judgments:
        if line.item not in items:
            items[line.item] = None
            for position, response in enumerate(line.responses):
                key = responses.setdefault(response.id, (len(responses), response))[0]
                slot_rows.append((line.item, position, key, response.id, response.model))
    when = np.array([line.created_at.timestamp() if line.created_at else np.inf for line in judgments])
    rows = ((line.item, line.annotator, line.fields["protocol"], line.fields["choice"], None, line.fields["ranking"],
             line.fields["ratings"], line.fields["attributes"], line.fields["presented_order"])
            for line in (judgments[index] for index in np.argsort(when, kind="stable")))
    names = {line.annotator: line.annotator for line in judgments}
    data = _assemble(items=list(items), slot_rows=slot_rows, judgments=rows, names=names, arms={}, skips={})
    if style:
        counts = np.array([style_counts(response.text) for _, response in responses.values()], np.int64)
        data.slot_style = _slot_style(data.slot_candidate, np.arange(len(responses)), counts)
    return data
