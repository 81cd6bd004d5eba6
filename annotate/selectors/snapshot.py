"""The door through which datasets read annotation data: items with their candidates and judgments, in chunks,
so memory stays bounded whatever the campaign size. Exports (and anything else that makes datasets) read through
these selectors only; data that other products feed into annotate (mined feedback, moral-graph votes) arrives as
ordinary items and judgments and leaves through the same door.

The snapshot is "every judgment of the campaigns with an id up to N", N taken when the export was asked for.
Judgments are never edited, only added, so that is the state at that moment however long the export runs, and a
rerun of the same export reads the same rows. Nothing holds a long transaction, so annotators go on meanwhile.

On PostgreSQL ids are taken before commit, so a judgment with an id under N could still be in flight when N is read
and appear later: the first run of an export would leave it out and a rerun take it in. So each transaction that adds
judgments shares a lock (`judgment_writes_hold`) that taking N holds alone for a moment: N is read once every write
in flight has committed, and later writes take ids above N. (SQLite has one writer at a time: ids follow commits.)
"""

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice

import orjson
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, Max, Q, QuerySet

from accounts.models import User
from annotate.models import Campaign, Item, ItemCandidate, Judgment
from annotate.protocols import AI_PREFIX, GOLD_MIN_JUDGMENTS, GOLD_THRESHOLD, gold_is_flagged
from annotate.services.exchange import judgments_export_jsonl
from annotate.services.judging import JUDGMENT_WRITES_LOCK
from core.values import json_check

logger = logging.getLogger(__name__)

ITEMS_PER_CHUNK = 900  # ids in one IN (...): under the 999 parameters old SQLite builds allow


@dataclass(slots=True)
class CandidateRecord:
    id: str  # the response id of the exchange format
    text: str
    model: str
    generation: str | None  # {"endpoint", "params", "seed"} as JSON, for generated responses
    allowed: bool  # passes the spec's model filter


@dataclass(slots=True)
class JudgmentRecord:
    pk: int
    annotator: int
    protocol: str
    choice: str
    strength: int | None
    ranking: list | None
    ratings: dict | None
    attributes: dict | None
    rationale: str


@dataclass(slots=True)
class ItemRecord:
    pk: int
    campaign_id: int
    external_id: str
    prompt_id: str
    messages: list[dict]
    candidates: list[CandidateRecord]
    judgments: list[JudgmentRecord]
    metadata: dict = field(default_factory=dict)  # the prompt's: where it came from (e.g. mined feedback's provenance)


def snapshot_judgment_id(*, campaign_ids: list[int]) -> int:
    """The newest judgment of these campaigns once the writes in flight have committed: the export reads judgments
    up to it (0 when there are none). Call in a transaction (the lock lasts until it ends)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [JUDGMENT_WRITES_LOCK])
    return Judgment.objects.filter(item__campaign_id__in=campaign_ids).aggregate(last=Max("pk"))["last"] or 0


def gold_failing_annotators(*, spec: dict, snapshot_id: int) -> set[int]:
    """Annotators whose gold accuracy over these campaigns is under the metrics' threshold."""
    rows = (Judgment.objects.filter(item__campaign_id__in=spec["campaigns"], pk__lte=snapshot_id,
                                    gold_correct__isnull=False).order_by()
            .values("annotator_id").annotate(n=Count("pk"), correct=Count("pk", filter=Q(gold_correct=True))))
    return {row["annotator_id"] for row in rows
            if gold_is_flagged(row["n"], row["correct"], threshold=GOLD_THRESHOLD, min_judgments=GOLD_MIN_JUDGMENTS)}


def _judgment_filter(spec: dict, snapshot_id: int, excluded: set[int]) -> Q:
    """What the spec keeps of an item's judgments: the snapshot, protocols, dates, annotators."""
    keep = Q(pk__lte=snapshot_id, protocol__in=spec["protocols"])
    if not spec["include_ai_judges"]:  # people's judgments unless asked
        keep &= ~Q(annotator__username__startswith=AI_PREFIX)
    if spec["since"]:
        keep &= Q(created_at__gte=spec["since"])
    if spec["until"]:
        keep &= Q(created_at__lt=spec["until"])
    if excluded:
        keep &= ~Q(annotator_id__in=sorted(excluded))
    return keep


def _items(spec: dict) -> QuerySet[Item]:
    items = Item.objects.filter(campaign_id__in=spec["campaigns"])
    return items if spec["include_gold"] else items.filter(is_gold=False)


def judgments_count(*, spec: dict, snapshot_id: int, excluded: set[int]) -> int:
    """How many judgments the export reads: those of the campaigns' (non-gold) items the filters keep."""
    return Judgment.objects.filter(_judgment_filter(spec, snapshot_id, excluded), item__in=_items(spec)).count()


def _rows(queryset: QuerySet) -> list[tuple]:
    """The rows of a values_list query as the driver returns them: Django's per-value conversion of millions of
    rows cost more than the query itself. JSON columns come back as text (parsed by the caller when needed)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def json_load_stored(text: str):
    """JSON text the database holds: orjson reads it about four times as fast as json; what it refuses (a lone
    surrogate stored before the doors refused them, an integer beyond 64 bits) json reads as before."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _prompt(item_id: int, messages: str) -> list[dict] | None:
    """The item's prompt, or None (the item is left out alone, and logged) when it holds text no dataset file can:
    a lone surrogate stored before the doors refused them. Stored JSON text can only hold one as a \\u escape, so
    text without escapes skips the check (most prompts: it took a tenth of an export's reading)."""
    try:
        value = json_load_stored(messages)
        return json_check(value) if "\\u" in messages else value
    except ValidationError as error:
        logger.warning("item %s left out of a dataset: its prompt %s", item_id, error.messages[0])
        return None


def _generation(endpoint: str | None, params: str | None, seed: int | None) -> str | None:
    if endpoint is None:
        return None
    return json.dumps({"endpoint": endpoint, "params": json.loads(params), "seed": seed}, sort_keys=True,
                      ensure_ascii=False)


def items_read(*, spec: dict, snapshot_id: int, excluded: set[int]) -> Iterator[list[ItemRecord]]:
    """The judged items in id order, each with its prompt, candidates (canonical order) and selected judgments.

    Chunks of items by keyset (id > last), then their judgments and candidates through the foreign-key indexes:
    by id range when the chunk's ids are about consecutive (as a campaign's usually are: cheaper to send and plan
    than 900 ids; rows of other items in the range are passed over), else by `item_id IN (...)`."""
    models = set(spec["models"])
    keep = _judgment_filter(spec, snapshot_id, excluded)
    items, after = _items(spec).order_by("pk"), 0
    while True:
        rows = _rows(items.filter(pk__gt=after).values_list(
            "pk", "campaign_id", "external_id", "prompt__external_id", "prompt__messages",
            "prompt__metadata")[:ITEMS_PER_CHUNK])
        if not rows:
            return
        ids = [row[0] for row in rows]
        first, after = ids[0], ids[-1]
        chunk = Q(item_id__gte=first, item_id__lte=after) if after - first < 2 * len(ids) else Q(item_id__in=ids)
        by_item: dict[int, list[JudgmentRecord]] = {}
        for pk, item_id, annotator, protocol, choice, strength, ranking, ratings, attributes, rationale in _rows(
                Judgment.objects.filter(keep, chunk).order_by("item_id", "pk")
                .values_list("pk", "item_id", "annotator_id", "protocol", "choice", "strength", "ranking",
                             "ratings", "attributes", "rationale")):
            by_item.setdefault(item_id, []).append(JudgmentRecord(
                pk, annotator, protocol, choice, strength, ranking and json_load_stored(ranking),
                ratings and json_load_stored(ratings), attributes and json_load_stored(attributes), rationale))
        slots: dict[int, list[CandidateRecord]] = {}
        for item_id, external_id, text, model, endpoint, params, seed in _rows(
                ItemCandidate.objects.filter(chunk).order_by("item_id", "position").values_list(
                    "item_id", "candidate__external_id", "candidate__text", "candidate__model",
                    "candidate__generation_output__endpoint__name", "candidate__generation_output__params",
                    "candidate__generation_output__seed")):
            slots.setdefault(item_id, []).append(CandidateRecord(
                external_id, text, model, _generation(endpoint, params, seed), not models or model in models))
        yield [ItemRecord(pk, campaign_id, external_id, prompt_id, prompt, slots[pk], by_item[pk],
                          json_load_stored(metadata) if metadata and metadata != "{}" else {})
               for pk, campaign_id, external_id, prompt_id, messages, metadata in rows
               if pk in by_item and (prompt := _prompt(pk, messages)) is not None]


def snapshot_judgments_total(*, campaign_ids: list[int], snapshot_id: int) -> int:
    return Judgment.objects.filter(item__campaign_id__in=campaign_ids, pk__lte=snapshot_id).count()


@dataclass(slots=True)
class ExchangeSnapshot:
    """One campaign's judgments up to the snapshot, as exchange-format lines (in id order), with what a reader
    needs to filter them: usernames to user ids, and the ids of gold items."""
    campaign_id: int
    users: dict[str, int]
    gold_items: set[str]
    lines: Iterator[str]


def snapshot_exchange_lines(*, campaign_ids: list[int], snapshot_id: int) -> Iterator[ExchangeSnapshot]:
    for campaign in Campaign.objects.filter(pk__in=campaign_ids).order_by("pk"):
        # The exchange export reads the campaign in id order: its first n lines are the snapshot's judgments.
        n = Judgment.objects.filter(item__campaign=campaign, pk__lte=snapshot_id).count()
        users = dict(User.objects.filter(judgments__item__campaign=campaign).distinct().values_list("username", "pk"))
        gold = set(Item.objects.filter(campaign=campaign, is_gold=True).values_list("external_id", flat=True))
        yield ExchangeSnapshot(campaign.pk, users, gold, islice(judgments_export_jsonl(campaign=campaign), n))


def campaign_names(*, campaign_ids: list[int]) -> list[tuple[int, str]]:
    return list(Campaign.objects.filter(pk__in=campaign_ids).order_by("pk").values_list("pk", "name"))
