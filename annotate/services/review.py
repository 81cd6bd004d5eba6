"""What an annotator does after a submit: take a judgment back to change it, and flag an item for the managers."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from annotate.access import campaign_check_member
from annotate.models import Assignment, Campaign, Flag, Item, Judgment
from core.errors import Conflict
from core.services.audit import audit_record
from core.values import text_check

ANSWER_FIELDS = ["choice", "strength", "ranking", "ratings", "attributes", "rationale"]


def judgment_changeable(*, campaign: Campaign, item: Item) -> bool:
    """The rule `judgment_withdraw` enforces, for pages that offer the button: the campaign still takes judgments
    and the item still waits for one (others have not given it all its judgments besides this one)."""
    return campaign.status == Campaign.Status.LIVE and (item.is_gold or item.judgment_count <= campaign.overlap)


@transaction.atomic
def judgment_withdraw(*, assignment_id: int, annotator: User) -> Assignment:
    """Take back one's own judgment so the item can be judged again: the judgment is deleted (its answer kept in
    the audit trail), the item needs one more judgment, and the assignment is leased again to the same annotator,
    so the queue serves that item next. Only one's own, only while `judgment_changeable`; a retry finds the
    assignment already open and changes nothing."""
    assignment = (Assignment.objects.select_for_update().select_related("item__campaign")
                  .filter(pk=assignment_id, annotator=annotator).first())
    if assignment is None:
        raise Assignment.DoesNotExist("No such judgment of yours.")
    item, campaign = assignment.item, assignment.item.campaign
    campaign_check_member(campaign=campaign, user=annotator)
    judgment = Judgment.objects.filter(assignment=assignment).first()
    if judgment is None:
        if assignment.status == Assignment.Status.ACTIVE:
            return assignment  # withdrawn already: a retry
        raise ValidationError("You skipped this item: there is no judgment of yours to change.")
    item = Item.objects.select_for_update().get(pk=item.pk)  # its count, as the queue keeps it
    if not judgment_changeable(campaign=campaign, item=item):
        if campaign.status != Campaign.Status.LIVE:
            raise Conflict(f"The campaign is {campaign.get_status_display().lower()}: its judgments stay as they are.")
        raise Conflict("Others have since given this item all its judgments: yours stays as it is.")
    audit_record(actor=annotator, action="judgment.withdraw", target=f"item {item.pk}",
                 details={"judgment": judgment.pk, "campaign": campaign.pk,
                          "answer": {name: getattr(judgment, name) for name in ANSWER_FIELDS}})
    judgment.delete()
    Item.objects.filter(pk=item.pk).update(judgment_count=F("judgment_count") - 1)
    now = timezone.now()
    assignment.status, assignment.finished_at = Assignment.Status.ACTIVE, None
    assignment.leased_at, assignment.expires_at = now, now + timedelta(minutes=campaign.lease_minutes)
    assignment.save(update_fields=["status", "finished_at", "leased_at", "expires_at"])
    return assignment


@transaction.atomic
def flag_set(*, assignment_id: int, annotator: User, kind: str, comment: str = "") -> Flag:
    """Flag the item of one's own task for the campaign's managers; flagging it again replaces the flag."""
    assignment = (Assignment.objects.select_related("item__campaign")
                  .filter(pk=assignment_id, annotator=annotator).first())
    if assignment is None:
        raise Assignment.DoesNotExist("No such task of yours.")
    campaign_check_member(campaign=assignment.item.campaign, user=annotator)
    if kind not in Flag.Kind.values:
        raise ValidationError({"kind": f"Pick one of: {', '.join(Flag.Kind.values)}."})
    comment = text_check(comment, "comment").strip()
    if len(comment) > Flag.COMMENT_MAX_LENGTH:
        raise ValidationError({"comment": f"Keep it under {Flag.COMMENT_MAX_LENGTH} characters."})
    if kind == Flag.Kind.OTHER and not comment:
        raise ValidationError({"comment": "Say what is wrong."})
    flag, _ = Flag.objects.update_or_create(item=assignment.item, annotator=annotator,
                                            defaults={"kind": kind, "comment": comment})
    return flag
