"""The assignment queue: exactly k distinct annotators per item, leases that expire, idempotent submits.

Capacity of an item = its judgments + its unexpired active leases; it never exceeds the campaign's
overlap. On PostgreSQL the item row is locked (SELECT ... FOR UPDATE) while it is counted and leased;
on SQLite every write transaction takes the database lock at BEGIN (IMMEDIATE), which serialises them.
"""

import random
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from annotate.models import ArmMembership, Assignment, Campaign, Item, Judgment, Protocol
from annotate.services.judging import answer_clean, gold_check

CANDIDATES_PER_TRY = 20


class LeaseLost(ValidationError):
    """The lease expired and the item got its k judgments meanwhile: the work cannot be counted."""


def campaign_check_member(*, campaign: Campaign, user: User) -> None:
    if not campaign.members.filter(pk=user.pk).exists():
        raise PermissionDenied("You are not a member of this campaign.")


def _leases_of(item, now):
    return Assignment.objects.filter(item=item, status=Assignment.Status.ACTIVE, expires_at__gt=now)


def _taken(item: Item, now, *, excluding: Assignment | None = None) -> int:
    """Judgments plus unexpired leases. `item` must be freshly read under its row lock: a submit raises the
    item's judgment_count in its own transaction, which cannot commit while the lock is held."""
    leases = _leases_of(item, now)
    if excluding is not None:
        leases = leases.exclude(pk=excluding.pk)
    return item.judgment_count + leases.count()


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


def protocol_for(*, campaign: Campaign, annotator: User, item_size: int) -> str:
    if campaign.design != Campaign.RANK_VS_RATE:
        return campaign.design
    if arm_for(campaign=campaign, annotator=annotator) == ArmMembership.Arm.RATING:
        return Protocol.RATING
    return Protocol.PAIRWISE if item_size == 2 else Protocol.RANKING


def _open_items(campaign: Campaign, annotator: User, now, *, gold: bool, tried: set[int]) -> list[int]:
    items = (
        Item.objects.filter(campaign=campaign, is_gold=gold)
        .exclude(pk__in=tried)
        .exclude(assignments__annotator=annotator)
        .exclude(judgments__annotator=annotator)
    )
    if not gold:  # gold items go to everyone; normal items to k annotators
        leases = _leases_of(OuterRef("pk"), now).values("item").annotate(n=Count("pk")).values("n")
        items = (
            items.filter(judgment_count__lt=campaign.overlap)  # the index narrows it down before leases count
            .alias(leased=Coalesce(Subquery(leases), 0))
            .filter(judgment_count__lt=campaign.overlap - F("leased"))
        )
    return list(items.order_by("id").values_list("pk", flat=True)[:CANDIDATES_PER_TRY])


def _lease(campaign: Campaign, item: Item, annotator: User, now) -> Assignment:
    order = list(item.slots.values_list("candidate__external_id", flat=True))
    random.shuffle(order)  # per assignment, so position bias can be measured and averages out
    return Assignment.objects.create(
        item=item, annotator=annotator, presented_order=order, leased_at=now,
        expires_at=now + timedelta(minutes=campaign.lease_minutes),
        protocol=protocol_for(campaign=campaign, annotator=annotator, item_size=len(order)),
    )


BUSY = object()


def _try_item(campaign: Campaign, item_id: int, annotator: User, now, *, gold: bool, wait: bool):
    """A lease of the item if it has a place; None if not; BUSY if another request holds it and we do not wait."""
    try:
        with transaction.atomic():  # a savepoint: rolling it back releases the lock of an item without a place
            # NO KEY UPDATE still lets leases and judgments that reference the item be inserted meanwhile;
            # the prompt comes along (unlocked) because the caller shows it next.
            item = (
                Item.objects.select_for_update(no_key=True, skip_locked=not wait, of=("self",))
                .select_related("prompt").filter(pk=item_id).first()
            )
            if item is None:
                return BUSY
            if gold or _taken(item, now) < campaign.overlap:
                return _lease(campaign, item, annotator, now)
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
    current = (
        Assignment.objects.filter(item__campaign=campaign, annotator=annotator, status=Assignment.Status.ACTIVE,
                                  expires_at__gt=now).order_by("id").first()
    )
    if current:
        return current
    pools = [False]
    if campaign.gold_rate and random.random() < campaign.gold_rate:
        pools.insert(0, True)
    for gold in pools:
        tried, busy = set(), []
        # Until no untried item is open: under contention a whole batch of candidates can fill up meanwhile.
        while candidates := _open_items(campaign, annotator, now, gold=gold, tried=tried):
            for item_id in candidates:
                tried.add(item_id)
                outcome = _try_item(campaign, item_id, annotator, now, gold=gold, wait=False)
                if outcome is BUSY:
                    busy.append(item_id)
                elif outcome:
                    return outcome
        for item_id in busy:  # others were leasing these a moment ago; one may still have a place
            if outcome := _try_item(campaign, item_id, annotator, now, gold=gold, wait=True):
                return outcome
    return None


def _own_assignment(assignment_id: int, annotator: User) -> Assignment:
    assignment = (
        # of=self: a plain FOR UPDATE over the join would also lock the item and the one campaign row.
        Assignment.objects.select_for_update(of=("self",)).select_related("item__campaign")
        .filter(pk=assignment_id, annotator=annotator).first()
    )
    if assignment is None:
        raise PermissionDenied("This is not your assignment.")
    return assignment


@transaction.atomic
def assignment_skip(*, assignment_id: int, annotator: User, reason: str) -> Assignment:
    """Give the item back with a reason; it goes to someone else and never returns to this annotator."""
    assignment = _own_assignment(assignment_id, annotator)
    if assignment.status == Assignment.Status.SUBMITTED:
        raise ValidationError("This item is already judged; it cannot be skipped.")
    if assignment.status == Assignment.Status.ACTIVE:
        assignment.status, assignment.finished_at = Assignment.Status.SKIPPED, timezone.now()
        assignment.skip_reason = (reason or "no reason given").strip()[:200]
        assignment.save(update_fields=["status", "finished_at", "skip_reason"])
    return assignment


@transaction.atomic
def judgment_submit(
    *, assignment_id: int, annotator: User, answer: dict, client_key: str = "", time_on_task_ms: int | None = None,
) -> tuple[Judgment, bool]:
    """Record the answer once. A retry (same assignment or same client key) returns the first judgment."""
    assignment = _own_assignment(assignment_id, annotator)
    client_key = (client_key or "")[:100]
    earlier = Judgment.objects.filter(Q(assignment=assignment) | (Q(annotator=annotator, client_key=client_key)
                                                                  if client_key else Q(pk__in=[]))).first()
    if earlier:
        return earlier, False
    if assignment.status == Assignment.Status.SKIPPED:
        raise ValidationError("You skipped this item, so it cannot be judged.")
    item = assignment.item
    # The presented order is a permutation of the item's responses: no need to read them again.
    fields = answer_clean(protocol=assignment.protocol, candidate_ids=assignment.presented_order, answer=answer)
    now = timezone.now()
    if assignment.expires_at <= now:
        # The lease ran out; the work still counts if nobody took the free place meanwhile.
        locked = Item.objects.select_for_update(no_key=True).get(pk=item.pk)
        if not item.is_gold and _taken(locked, now, excluding=assignment) >= item.campaign.overlap:
            raise LeaseLost("Your lease expired and this item got its judgments from others meanwhile.")
    if not isinstance(time_on_task_ms, int) or time_on_task_ms <= 0:
        time_on_task_ms = int((now - assignment.leased_at).total_seconds() * 1000)
    judgment = Judgment.objects.create(
        assignment=assignment, item=item, annotator=annotator, protocol=assignment.protocol,
        presented_order=assignment.presented_order, time_on_task_ms=time_on_task_ms, client_key=client_key,
        gold_correct=gold_check(protocol=assignment.protocol, gold=item.gold, fields=fields) if item.is_gold else None,
        created_at=now, **fields,
    )
    Item.objects.filter(pk=item.pk).update(judgment_count=F("judgment_count") + 1)
    assignment.status, assignment.finished_at = Assignment.Status.SUBMITTED, now
    assignment.save(update_fields=["status", "finished_at"])
    return judgment, True
