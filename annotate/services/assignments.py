"""The assignment queue: exactly k distinct annotators per item, leases that expire, idempotent submits.

Capacity of an item = its judgments + its unexpired active leases; it never exceeds the campaign's
overlap. On PostgreSQL the item row is locked (SELECT ... FOR UPDATE) while it is counted and leased;
on SQLite every write transaction takes the database lock at BEGIN (IMMEDIATE), which serialises them.

The statements every annotator runs for every task are plain SQL: building them with the ORM cost several
times what the database spends running them (bench/annotator_loop.py measures it). The rest uses the ORM.
"""

import random
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.utils import timezone

from accounts.models import User
from annotate.access import MEMBER, campaign_check_member
from annotate.models import ArmMembership, Assignment, Campaign, Candidate, Item, ItemCandidate, Judgment
from annotate.protocols import RATIONALE_MAX_LENGTH, Protocol
from annotate.services.judging import answer_clean, gold_check, judgment_writes_hold
from core.errors import Conflict
from core.sql import sql_id_possible, sql_instance, sql_rows, sql_run

CANDIDATES_PER_TRY = 20
ITEM, ASSIGNMENT, JUDGMENT = Item._meta.db_table, Assignment._meta.db_table, Judgment._meta.db_table
SLOT, CANDIDATE = ItemCandidate._meta.db_table, Candidate._meta.db_table


def _item_lock(*, wait: bool) -> str:
    """Row lock of the item read, on PostgreSQL. NO KEY UPDATE still lets leases and judgments that reference
    the item be inserted meanwhile. SQLite has no row locks: its IMMEDIATE transactions already run one at a time."""
    if connection.vendor != "postgresql":
        return ""
    return " FOR NO KEY UPDATE OF item" + ("" if wait else " SKIP LOCKED")


def items_added() -> None:
    """Call when a campaign gains items in bulk. PostgreSQL plans the open-items query from table statistics,
    which know nothing of the new items until autovacuum comes by; with them stale it sorts every open item on
    each request. So the item tables are analyzed once the transaction commits."""
    if connection.vendor == "postgresql":
        transaction.on_commit(lambda: sql_run(f"ANALYZE {ITEM}, {SLOT}", []))


class LeaseLost(Conflict):
    """The lease expired and the item got its k judgments meanwhile: the work cannot be counted."""


def _taken(item_id: int, judgment_count: int, now, *, excluding: int = 0) -> int:
    """Judgments plus unexpired leases (other than `excluding`). `judgment_count` must be freshly read under the
    item's row lock: a submit raises it in its own transaction, which cannot commit while the lock is held."""
    leases = sql_rows(
        f"SELECT COUNT(*) FROM {ASSIGNMENT} WHERE item_id = %s AND status = %s AND expires_at > %s AND id <> %s",
        [item_id, Assignment.Status.ACTIVE, connection.ops.adapt_datetimefield_value(now), excluding])
    return judgment_count + leases[0][0]


@transaction.atomic
def arm_for(*, campaign: Campaign, annotator: User) -> str:
    """The annotator's arm of a ranking-vs-rating campaign, given on first use to the smaller arm."""
    membership = ArmMembership.objects.filter(campaign=campaign, annotator=annotator).first()
    if membership:
        return membership.arm
    Campaign.objects.select_for_update().get(pk=campaign.pk)  # one arm decision at a time
    sizes = dict(ArmMembership.objects.filter(campaign=campaign).values_list("arm").annotate(n=Count("id")))
    arm = min(ArmMembership.Arm.values, key=lambda name: (sizes.get(name, 0), name))
    return ArmMembership.objects.create(campaign=campaign, annotator=annotator, arm=arm).arm


def protocol_for(*, campaign: Campaign, arm: str, item_size: int) -> str:
    """The protocol of an item of `item_size` responses for an annotator in `arm` ("" outside rank_vs_rate)."""
    if campaign.design != Campaign.RANK_VS_RATE:
        return campaign.design
    if arm == ArmMembership.Arm.RATING:
        return Protocol.RATING
    return Protocol.PAIRWISE if item_size == 2 else Protocol.RANKING


def _arm_items(campaign: Campaign, arm: str) -> str:
    """A ranking-vs-rating campaign with absolute ratings holds items for each arm: the rating arm judges the
    one-response items, the ranking arm the others. Empty for every other campaign."""
    if campaign.design != Campaign.RANK_VS_RATE or not campaign.rate_alone:
        return ""
    single = arm == ArmMembership.Arm.RATING
    return f"AND (SELECT COUNT(*) FROM {SLOT} slot WHERE slot.item_id = item.id) {'=' if single else '>'} 1"


def _open_items(campaign: Campaign, annotator: User, now, *, gold: bool, tried: set[int], arm: str) -> list[int]:
    """Up to CANDIDATES_PER_TRY items the annotator may take, fullest first (items get finished rather than all
    half-judged). Hand-written because it runs on every lease and the ORM spends more time building it than the
    database spends running it. The plan must walk the item_open index in order and stop after a few rows,
    whatever the statistics say; hence the per-item checks are scalar subqueries (PostgreSQL turns NOT EXISTS into
    an anti-join, which with statistics lagging behind a busy campaign reads all of the annotator's assignments
    for every row), and "none of mine" is written `< 1`: for `= 0` on an expression it guesses that 0.5% of the
    items pass, expects fewer than the limit, and sorts every open item instead."""
    taken_by_annotator = (
        f"(SELECT COUNT(*) FROM {ASSIGNMENT} own WHERE own.item_id = item.id AND own.annotator_id = %s)"
        f" + (SELECT COUNT(*) FROM {JUDGMENT} imported WHERE imported.item_id = item.id"
        "     AND imported.annotator_id = %s AND imported.assignment_id IS NULL) < 1"  # judgments imported alone
    )
    params = [campaign.pk, gold, annotator.pk, annotator.pk]
    capacity = ""
    if not gold:  # gold items go to everyone; normal items to k annotators (judgments + unexpired leases), and
        # only those routing left with people (annotate.services.routing)
        capacity = ("AND item.to_people AND item.judgment_count < %s"
                    f" AND item.judgment_count + (SELECT COUNT(*) FROM {ASSIGNMENT} lease"
                    " WHERE lease.item_id = item.id AND lease.status = %s AND lease.expires_at > %s) < %s")
        params += [campaign.overlap, Assignment.Status.ACTIVE, connection.ops.adapt_datetimefield_value(now),
                   campaign.overlap]
    skip = f"AND item.id NOT IN ({', '.join(['%s'] * len(tried))})" if tried else ""
    sql = f"""
        SELECT item.id FROM {ITEM} item
        WHERE item.campaign_id = %s AND item.is_gold = %s AND {taken_by_annotator} {capacity} {skip} {arm}
        ORDER BY item.judgment_count DESC, item.id
        LIMIT {CANDIDATES_PER_TRY}"""
    return [row[0] for row in sql_rows(sql, params + sorted(tried))]


def _lease(campaign: Campaign, item_id: int, annotator: User, now, arm: str) -> Assignment:
    order = [row[0] for row in sql_rows(
        f"SELECT candidate.external_id FROM {SLOT} slot JOIN {CANDIDATE} candidate ON candidate.id = slot.candidate_id"
        " WHERE slot.item_id = %s ORDER BY slot.position", [item_id])]
    random.shuffle(order)  # per assignment, so position bias can be measured and averages out
    return Assignment.objects.create(
        item_id=item_id, annotator=annotator, presented_order=order, leased_at=now,
        expires_at=now + timedelta(minutes=campaign.lease_minutes),
        protocol=protocol_for(campaign=campaign, arm=arm, item_size=len(order)),
    )


BUSY = object()


def _try_item(campaign: Campaign, item_id: int, annotator: User, now, *, gold: bool, wait: bool, arm: str):
    """A lease of the item if it has a place; None if not; BUSY if another request holds it and we do not wait."""
    try:
        with transaction.atomic():  # a savepoint: rolling it back releases the lock of an item without a place
            locked = sql_rows(f"SELECT judgment_count FROM {ITEM} item WHERE id = %s{_item_lock(wait=wait)}",
                              [item_id])
            if not locked:
                return BUSY
            if gold or _taken(item_id, locked[0][0], now) < campaign.overlap:
                return _lease(campaign, item_id, annotator, now, arm)
            transaction.set_rollback(True)
    except IntegrityError:  # the same annotator's concurrent request leased it first
        pass
    return None


@transaction.atomic
def assignment_next(*, campaign: Campaign, annotator: User) -> Assignment | None:
    """The annotator's current task in this campaign, or a new one; None when nothing is left for them."""
    campaign_check_member(campaign=campaign, user=annotator)
    if campaign.status != Campaign.Status.LIVE:
        raise ValidationError(f"The campaign is {campaign.get_status_display().lower()}, not live.")
    now = timezone.now()
    current = sql_rows(
        f"SELECT lease.id FROM {ASSIGNMENT} lease JOIN {ITEM} item ON item.id = lease.item_id"
        " WHERE item.campaign_id = %s AND lease.annotator_id = %s AND lease.status = %s AND lease.expires_at > %s"
        " ORDER BY lease.id LIMIT 1",
        [campaign.pk, annotator.pk, Assignment.Status.ACTIVE, connection.ops.adapt_datetimefield_value(now)])
    if current:
        return Assignment.objects.get(pk=current[0][0])
    # Looked up once per lease: the arm decides both which items are open and the protocol of the one leased.
    arm = arm_for(campaign=campaign, annotator=annotator) if campaign.design == Campaign.RANK_VS_RATE else ""
    arm_filter = _arm_items(campaign, arm)
    pools = [False]
    if campaign.gold_rate and random.random() < campaign.gold_rate:
        pools.insert(0, True)
    for gold in pools:
        tried, busy = set(), []
        # Until no untried item is open: under contention a whole batch of candidates can fill up meanwhile.
        while candidates := _open_items(campaign, annotator, now, gold=gold, tried=tried, arm=arm_filter):
            for item_id in candidates:
                tried.add(item_id)
                outcome = _try_item(campaign, item_id, annotator, now, gold=gold, wait=False, arm=arm)
                if outcome is BUSY:
                    busy.append(item_id)
                elif outcome:
                    return outcome
        for item_id in busy:  # others were leasing these a moment ago; one may still have a place
            if outcome := _try_item(campaign, item_id, annotator, now, gold=gold, wait=True, arm=arm):
                return outcome
    return None


_ASSIGNMENT_FIELDS = [field.attname for field in Assignment._meta.concrete_fields]
_ITEM_FIELDS = ["id", "campaign_id", "external_id", "is_gold", "gold"]
_CAMPAIGN_FIELDS = ["status", "overlap", "ask_rationale"]  # in model order, as sql_instance needs


def _own_assignment(assignment_id: int, annotator: User) -> tuple[Assignment, bool]:
    """The annotator's assignment, locked, with the parts of its item and campaign a submit needs, and whether
    the annotator is still a member of the campaign."""
    if not sql_id_possible(assignment_id):
        raise Assignment.DoesNotExist("No such assignment of yours.")
    lock = " FOR UPDATE OF lease" if connection.vendor == "postgresql" else ""  # only the assignment row
    rows = sql_rows(
        f"SELECT {', '.join(f'lease.{name}' for name in _ASSIGNMENT_FIELDS)},"
        f" {', '.join(f'item.{name}' for name in _ITEM_FIELDS)},"
        f" {', '.join(f'campaign.{name}' for name in _CAMPAIGN_FIELDS)},"
        f" EXISTS (SELECT 1 FROM {MEMBER} member WHERE member.campaign_id = campaign.id AND member.user_id = %s)"
        f" FROM {ASSIGNMENT} lease JOIN {ITEM} item ON item.id = lease.item_id"
        f" JOIN {Campaign._meta.db_table} campaign ON campaign.id = item.campaign_id"
        f" WHERE lease.id = %s AND lease.annotator_id = %s{lock}", [annotator.pk, assignment_id, annotator.pk])
    if not rows:
        raise Assignment.DoesNotExist("No such assignment of yours.")
    values = rows[0]
    items_end = len(_ASSIGNMENT_FIELDS) + len(_ITEM_FIELDS)
    assignment = sql_instance(Assignment, _ASSIGNMENT_FIELDS, values[:len(_ASSIGNMENT_FIELDS)])
    assignment.item = sql_instance(Item, _ITEM_FIELDS, values[len(_ASSIGNMENT_FIELDS):items_end])
    assignment.item.campaign = sql_instance(Campaign, ["id", *_CAMPAIGN_FIELDS],
                                            [assignment.item.campaign_id, *values[items_end:-1]])
    return assignment, bool(values[-1])


@transaction.atomic
def assignment_skip(*, assignment_id: int, annotator: User, reason: str) -> Assignment:
    """Give the item back with a reason; it goes to someone else and never returns to this annotator."""
    assignment, _ = _own_assignment(assignment_id, annotator)
    if assignment.status == Assignment.Status.SUBMITTED:
        raise ValidationError("This item is already judged; it cannot be skipped.")
    if assignment.status == Assignment.Status.ACTIVE:
        assignment.status, assignment.finished_at = Assignment.Status.SKIPPED, timezone.now()
        assignment.skip_reason = (reason or "no reason given").strip()[:200]
        assignment.save(update_fields=["status", "finished_at", "skip_reason"])
    return assignment


def judgment_submit(
    *, assignment_id: int, annotator: User, answer: dict, client_key: str = "", time_on_task_ms: int | None = None,
) -> tuple[Judgment, bool]:
    """Record the answer once. A retry (the same client key, or the same answer to the same assignment) returns the
    first judgment; another answer under a new key is a Conflict naming the judgment it would overwrite."""
    client_key = (client_key or "")[:100]
    try:
        return _judgment_record(assignment_id=assignment_id, annotator=annotator, answer=answer,
                                client_key=client_key, time_on_task_ms=time_on_task_ms)
    except IntegrityError:
        # The client key already names a judgment of this annotator (judgment_unique_client_key): a retry that
        # came through another assignment. Looked up only now, so a first submit needs no read for it.
        earlier = Judgment.objects.filter(annotator=annotator, client_key=client_key).exclude(client_key="").first()
        if earlier is None:
            raise
        return earlier, False


def _submit_check(campaign: Campaign, *, member: bool, fields: dict) -> None:
    """What the web form and the API both obey: only members of a live campaign judge, with a rationale when the
    campaign asks for one, of a bounded length."""
    if not member:
        raise PermissionDenied("You are no longer a member of this campaign.")
    if campaign.status == Campaign.Status.PAUSED:
        raise Conflict("The campaign is paused: submit again once it resumes (your task is kept until then).")
    if campaign.status != Campaign.Status.LIVE:
        raise Conflict(f"The campaign is {campaign.get_status_display().lower()}: it takes no more judgments.")
    if campaign.ask_rationale and not fields["rationale"]:
        raise ValidationError({"rationale": "This campaign asks why: say briefly why."})
    if len(fields["rationale"]) > RATIONALE_MAX_LENGTH:
        raise ValidationError({"rationale": f"Keep it under {RATIONALE_MAX_LENGTH} characters."})


@transaction.atomic
def _judgment_record(
    *, assignment_id: int, annotator: User, answer: dict, client_key: str, time_on_task_ms: int | None,
) -> tuple[Judgment, bool]:
    assignment, member = _own_assignment(assignment_id, annotator)  # locked: a concurrent retry waits, then finds it
    if assignment.status == Assignment.Status.SKIPPED:
        raise ValidationError("You skipped this item, so it cannot be judged.")
    # The presented order is a permutation of the item's responses: no need to read them again.
    fields = answer_clean(protocol=assignment.protocol, candidate_ids=assignment.presented_order, answer=answer)
    if assignment.status == Assignment.Status.SUBMITTED:
        earlier = Judgment.objects.filter(assignment=assignment).first()
        if earlier:
            retry = client_key and client_key == earlier.client_key
            if not retry and any(getattr(earlier, name) != value for name, value in fields.items()):
                raise Conflict(f"You already judged this item (judgment {earlier.pk}) with another answer; "
                               "it stays as it was.")
            return earlier, False
    _submit_check(assignment.item.campaign, member=member, fields=fields)
    item = assignment.item
    now = timezone.now()
    if assignment.expires_at <= now:
        # The lease ran out; the work still counts if nobody took the free place meanwhile.
        locked = sql_rows(f"SELECT judgment_count FROM {ITEM} item WHERE id = %s{_item_lock(wait=True)}", [item.pk])
        if not item.is_gold and _taken(item.pk, locked[0][0], now, excluding=assignment.pk) >= item.campaign.overlap:
            raise LeaseLost("Your lease expired and this item got its judgments from others meanwhile.")
    if not isinstance(time_on_task_ms, int) or time_on_task_ms <= 0:
        time_on_task_ms = int((now - assignment.leased_at).total_seconds() * 1000)
    judgment_writes_hold()
    judgment = Judgment.objects.create(
        assignment=assignment, item=item, annotator=annotator, protocol=assignment.protocol,
        presented_order=assignment.presented_order, time_on_task_ms=time_on_task_ms, client_key=client_key,
        gold_correct=gold_check(protocol=assignment.protocol, gold=item.gold, fields=fields) if item.is_gold else None,
        created_at=now, **fields,
    )
    sql_run(f"UPDATE {ITEM} SET judgment_count = judgment_count + 1 WHERE id = %s", [item.pk])
    assignment.status, assignment.finished_at = Assignment.Status.SUBMITTED, now
    sql_run(f"UPDATE {ASSIGNMENT} SET status = %s, finished_at = %s WHERE id = %s",
            [assignment.status, connection.ops.adapt_datetimefield_value(now), assignment.pk])
    return judgment, True
