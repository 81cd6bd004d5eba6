"""Read a campaign's judgments into flat numpy arrays: a few `values_list` queries and one pass over the rows.

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
from itertools import islice

import numpy as np
import orjson
from django.db.models import Case, Count, Q, TextField, When
from django.db.models.functions import Cast

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


class _Table:
    """Rows of an Answers table, collected in compact arrays while reading (a file report reads millions)."""

    def __init__(self) -> None:
        self.judgment, self.slot, self.shown, self.value = array("q"), array("q"), array("q"), array("q")

    def add(self, judgment: int, slot: int, shown: int, value) -> None:
        self.judgment.append(judgment)
        self.slot.append(slot)
        self.shown.append(shown)
        if isinstance(value, list):
            self.value.extend(value)
        else:
            self.value.append(value)

    def answers(self, rank: np.ndarray, width: int = 0) -> Answers:
        """The table with judgments renumbered by `rank` (judging order), sorted by judgment."""
        judgment = rank[np.frombuffer(self.judgment, np.int64)]
        order = np.argsort(judgment, kind="stable")
        value = np.frombuffer(self.value, np.int64)
        value = value.reshape(-1, width) if width else value
        return Answers(judgment=judgment[order], slot=np.frombuffer(self.slot, np.int64)[order],
                       shown=np.frombuffer(self.shown, np.int64)[order], value=value[order])


def _decoded(texts: tuple) -> list:
    """JSON texts (None for NULL) decoded in one call: 100k small json.loads calls cost more than the query."""
    return orjson.loads("[" + ",".join("null" if text is None else text for text in texts) + "]")


def _judgment_rows(campaign: Campaign, annotators: str):
    """(item, annotator, protocol, choice, time on task, ranking, ratings, attributes, presented order, AI judges'
    metadata) per judgment of `annotators`, in the order they were made. The JSON columns come as text, decoded
    here column by column, a batch of rows at a time (a million rows held at once took a gigabyte)."""
    answers = {f"{name}_text": Cast(name, TextField()) for name in JSON_COLUMNS}
    # Only AI judges' metadata is read: NULL costs nothing on people's rows.
    answers["metadata_text"] = Case(When(annotator__username__startswith=AI_PREFIX, then=Cast("metadata", TextField())))
    rows = (Judgment.objects.filter(annotators_q(annotators), item__campaign=campaign)
            .order_by("created_at", "pk").annotate(**answers)
            .values_list("item_id", "annotator_id", "protocol", "choice", "time_on_task_ms", *answers)
            .iterator(chunk_size=ROWS_PER_BATCH))
    while batch := list(islice(rows, ROWS_PER_BATCH)):
        columns = list(zip(*batch, strict=True))
        yield from zip(*columns[:5], *(_decoded(column) for column in columns[5:]), strict=True)


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


class _Builder:
    """Collects items and judgments one at a time, in any order, and makes the arrays. Keys (item, candidate,
    annotator) may be anything hashable: database ids, or the ids of an exchange file."""

    def __init__(self) -> None:
        self.item_index: dict = {}
        self.slot_of: dict = {}  # item key -> response id -> slot
        self.slots = array("q")  # item index, position, candidate key, model index: four per slot
        self.models: dict[str, int] = {}
        self.annotator_index: dict = {}
        self.columns = {name: array("q") for name in ("item", "annotator", "protocol", "choice", "first_shown")}
        self.time_ms, self.when = array("d"), array("d")
        self.rankings, self.ratings, self.attributes = _Table(), _Table(), _Table()
        self.verdicts, self.conflict, self.entropy = array("q"), array("q"), array("d")

    def item(self, key, slots: list[tuple]) -> None:
        """An item and its responses in canonical order: (candidate key as an integer, response id, model)."""
        index = self.item_index.setdefault(key, len(self.item_index))
        self.slot_of[key] = {}
        for position, (candidate, response, model) in enumerate(slots):
            self.slot_of[key][response] = position
            model_index = self.models.setdefault(model, len(self.models)) if model else -1
            self.slots.extend((index, position, candidate, model_index))

    def judgment(self, item_key, annotator_key, protocol: str, choice: str, time_ms, ranking, rating, scores,
                 presented, metadata: dict | None = None, when: float = 0.0) -> None:
        number = len(self.time_ms)
        slots = self.slot_of[item_key]
        shown = {response: position for position, response in enumerate(presented)} if presented else {}
        columns = self.columns
        columns["item"].append(self.item_index[item_key])
        columns["annotator"].append(self.annotator_index.setdefault(annotator_key, len(self.annotator_index)))
        columns["protocol"].append(PROTOCOL_INDEX[protocol])
        columns["choice"].append(CHOICE_INDEX.get(choice, -1))
        columns["first_shown"].append(slots[presented[0]] if presented else -1)
        self.time_ms.append(np.nan if time_ms is None else time_ms)
        self.when.append(when)
        metadata = metadata or {}
        for order in metadata.get("orders", ()):  # an AI judge run's verdicts of each order
            for probabilities in order["probs"]:
                self.verdicts.extend((number, slots[order["shown"][0]], int(np.argmax(probabilities))))
        self.conflict.append(int(metadata["conflict"]) if "conflict" in metadata else -1)
        self.entropy.append(metadata.get("entropy", np.nan))
        if ranking is not None:
            for group, responses in enumerate(ranking):
                for response in responses:
                    self.rankings.add(number, slots[response], shown.get(response, -1), group)
        if rating is not None:
            for response, value in rating.items():
                self.ratings.add(number, slots[response], shown.get(response, -1), value)
        if scores is not None:
            for response, values in scores.items():
                self.attributes.add(number, slots[response], shown.get(response, -1),
                                    [values.get(name, 0) for name in ATTRIBUTE_NAMES])

    def data(self, *, names: dict, arms: dict, skips: dict) -> CampaignData:
        """The arrays, judgments in the order they were made (by `when`, then as they came) and annotators
        numbered as they first judged, with each annotator key's name, arm and skipped assignments."""
        slots = np.frombuffer(self.slots, np.int64).reshape(-1, 4)
        width = int(slots[:, 1].max()) + 1 if len(slots) else 2
        slot_candidate = np.full((len(self.item_index), width), -1, dtype=np.int64)
        slot_model = np.full((len(self.item_index), width), -1, dtype=np.int64)
        slot_candidate[slots[:, 0], slots[:, 1]] = slots[:, 2]
        models = sorted(self.models)  # the leaderboard lists models by name
        by_name = np.array([models.index(model) for model in self.models] + [-1], np.int64)  # [-1]: no model
        slot_model[slots[:, 0], slots[:, 1]] = by_name[slots[:, 3]]
        order = np.argsort(np.frombuffer(self.when, np.float64), kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        column = {name: np.frombuffer(values, np.int64)[order] for name, values in self.columns.items()}
        for annotator_key in skips:  # annotators who only skipped come last
            self.annotator_index.setdefault(annotator_key, len(self.annotator_index))
        first_judged = np.full(len(self.annotator_index), len(order))
        np.minimum.at(first_judged, column["annotator"], np.arange(len(order)))
        renumbered = np.argsort(first_judged, kind="stable")  # new number -> old
        old_to_new = np.empty_like(renumbered)
        old_to_new[renumbered] = np.arange(len(renumbered))
        keys = list(self.annotator_index)  # in old numbering
        by_index = [keys[old] for old in renumbered]
        verdicts = np.frombuffer(self.verdicts, np.int64).reshape(-1, 3).copy()
        verdicts[:, 0] = rank[verdicts[:, 0]]
        verdicts = verdicts[np.argsort(verdicts[:, 0], kind="stable")]
        return CampaignData(
            verdicts=verdicts, conflict=np.frombuffer(self.conflict, np.int64)[order],
            entropy=np.frombuffer(self.entropy, np.float64)[order],
            item_count=len(self.item_index),
            slot_candidate=slot_candidate, slot_model=slot_model, models=models,
            annotators=[names[key] for key in by_index],
            annotator_arm=np.array([ARMS.index(arms.get(key, "")) for key in by_index], dtype=np.int64),
            skipped=np.array([skips.get(key, 0) for key in by_index], dtype=np.int64),
            item=column["item"], annotator=old_to_new[column["annotator"]], protocol=column["protocol"],
            time_ms=np.frombuffer(self.time_ms, np.float64)[order], choice=column["choice"],
            first_shown=column["first_shown"],
            rankings=self.rankings.answers(rank), ratings=self.ratings.answers(rank),
            attributes=self.attributes.answers(rank, len(ATTRIBUTE_NAMES)),
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
        slots: dict[int, list] = {pk: [] for pk in Item.objects.filter(campaign=campaign).order_by("pk")
                                  .values_list("pk", flat=True)}
        for item_pk, _, candidate_pk, external_id, model in ItemCandidate.objects.filter(item__campaign=campaign) \
                .order_by("item", "position").values_list("item_id", "position", "candidate_id",
                                                          "candidate__external_id", "candidate__model"):
            slots[item_pk].append((candidate_pk, external_id, model))
        for item_pk, item_slots in slots.items():
            builder.item(item_pk, item_slots)
        for row in _judgment_rows(campaign, annotators):  # already in the order they were made
            builder.judgment(*row)
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
    with collector_paused():
        for line in judgments:
            if line.item not in builder.item_index:
                for response in line.responses:
                    if response.id not in responses:
                        responses[response.id] = len(responses)
                        for field, (measure, _, _) in measures.items():
                            rows[field].append(measure(response.text))
                builder.item(line.item, [(responses[r.id], r.id, r.model) for r in line.responses])
            if not annotator_kept(line.annotator, annotators):
                continue  # its item is counted all the same, so every choice of annotators numbers items alike
            fields = line.fields
            builder.judgment(line.item, line.annotator, fields["protocol"], fields["choice"], None,
                             fields["ranking"], fields["ratings"], fields["attributes"], fields["presented_order"],
                             None, line.created_at.timestamp() if line.created_at else np.inf)
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
