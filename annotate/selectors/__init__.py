import json

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Least

from accounts.models import User
from annotate.access import campaigns_managed_by, campaigns_visible_to
from annotate.models import ArmMembership, Assignment, Campaign, Candidate, Item, ItemCandidate, Judgment, Prompt
from core.models import AuditEvent
from core.sql import sql_id_possible, sql_instance, sql_rows


def _count_of(model) -> Coalesce:
    rows = model.objects.filter(campaign=OuterRef("pk")).values("campaign").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(rows), 0)


def campaign_list_for(*, user: User) -> QuerySet[Campaign]:
    """The visible campaigns with their prompt and item counts, for lists (each count its own subquery: counting
    both through one join would multiply prompts by items)."""
    return campaigns_visible_to(user=user).annotate(prompt_count=_count_of(Prompt), item_count=_count_of(Item))


def annotator_progress(*, campaign: Campaign, annotator: User) -> dict:
    """What this annotator has done and what is still open to them."""
    done = Judgment.objects.filter(item__campaign=campaign, annotator=annotator).count()
    open_items = (
        Item.objects.filter(campaign=campaign, is_gold=False, to_people=True, judgment_count__lt=campaign.overlap)
        .exclude(assignments__annotator=annotator).exclude(judgments__annotator=annotator)
    )
    arm = ArmMembership.objects.filter(campaign=campaign, annotator=annotator).values_list("arm", flat=True).first()
    if campaign.rate_alone and arm:  # the queue serves each arm its own items (assignments._arm_items)
        sized = open_items.annotate(size=Count("slots"))
        open_items = sized.filter(size=1) if arm == ArmMembership.Arm.RATING else sized.filter(size__gt=1)
    return {"done": done, "remaining": open_items.count()}


def campaign_progress(*, campaign: Campaign) -> dict:
    """Per item and per annotator progress for the manager's page."""
    items = campaign.items.annotate(judged=F("judgment_count")).order_by("id")
    # Summed in SQL: a campaign may hold a hundred thousand items.
    totals = campaign.items.filter(is_gold=False, to_people=True).aggregate(  # routing kept the rest from people
        items=Count("pk"), judged=Sum(Least("judgment_count", Value(campaign.overlap))))
    total_needed = totals["items"] * campaign.overlap
    judged = totals["judged"] or 0
    annotators = (
        User.objects.filter(Q(campaigns_joined=campaign) | Q(judgments__item__campaign=campaign)).distinct()
        .annotate(
            judged=Count("judgments", filter=Q(judgments__item__campaign=campaign), distinct=True),
            skipped=Count("assignments", filter=Q(assignments__item__campaign=campaign,
                                                  assignments__status=Assignment.Status.SKIPPED), distinct=True),
            gold_right=Count("judgments", filter=Q(judgments__item__campaign=campaign, judgments__gold_correct=True),
                             distinct=True),
            gold_seen=Count("judgments", filter=Q(judgments__item__campaign=campaign,
                                                  judgments__gold_correct__isnull=False), distinct=True),
        ).order_by("username")
    )
    return {"items": items, "judged": judged, "needed": total_needed,
            "percent": int(100 * judged / total_needed) if total_needed else 0, "annotators": annotators}


def assignment_task(*, assignment: Assignment) -> dict:
    """What the API shows of a task: the item, its prompt and its responses in the order this annotator sees them.
    One query, as it runs for every task served."""
    rows = sql_rows(
        "SELECT item.external_id, prompt.messages, candidate.external_id, candidate.text, prompt.metadata"
        f" FROM {Item._meta.db_table} item"
        f" JOIN {Prompt._meta.db_table} prompt ON prompt.id = item.prompt_id"
        f" JOIN {ItemCandidate._meta.db_table} slot ON slot.item_id = item.id"
        f" JOIN {Candidate._meta.db_table} candidate ON candidate.id = slot.candidate_id"
        " WHERE item.id = %s", [assignment.item_id])
    texts = {response: text for _, _, response, text, _ in rows}
    metadata = json.loads(rows[0][4])
    return {
        "assignment": assignment.pk, "item": rows[0][0], "prompt": json.loads(rows[0][1]),
        "context": metadata.get("context", ""),  # shown beside the prompt (mined feedback: the user's reply)
        "protocol": assignment.protocol,
        "responses": [{"id": response, "text": texts[response]} for response in assignment.presented_order],
        "expires_at": assignment.expires_at,
    }


_QUEUE_FIELDS = ["id", "name", "status", "design", "rate_alone", "overlap", "lease_minutes", "gold_rate"]


def campaign_for_queue(*, campaign_id: int) -> Campaign | None:
    """The campaign fields the assignment queue reads (the rest deferred), in one plain statement: the API reads
    them for every task it hands out."""
    if not sql_id_possible(campaign_id):
        return None
    rows = sql_rows(f"SELECT {', '.join(_QUEUE_FIELDS)} FROM {Campaign._meta.db_table} WHERE id = %s", [campaign_id])
    return sql_instance(Campaign, _QUEUE_FIELDS, rows[0]) if rows else None


def campaign_history(*, campaign: Campaign) -> list[str]:
    """The campaign's audit trail in words, newest first, for its managers."""
    lines = []
    for event in AuditEvent.objects.filter(target=f"campaign {campaign.pk}")[:50]:
        who, when = event.actor_name or "system", f"{event.at:%Y-%m-%d %H:%M}"
        if event.action == "campaign.edit":
            # By field name: PostgreSQL's jsonb keeps keys in its own order, not the order they were written in.
            what = "; ".join(f"{field.replace('_', ' ')} {change['from']!r} → {change['to']!r}"
                             for field, change in sorted(event.details.items()))
        elif event.action == "campaign.status":
            what = f"status {event.details.get('from')} → {event.details.get('to')}"
        elif event.action in ("campaign.members_add", "campaign.members_remove"):
            verb = "added" if event.action.endswith("add") else "removed"
            what = f"{verb} {', '.join(event.details.get('usernames', []))}"
        else:
            what = event.action.removeprefix("campaign.").replace("_", " ")
        lines.append(f"{when} {who}: {what}")
    return lines


ITEM_STATES = {"open": "Not judged yet", "partial": "Judged, needs more", "complete": "Fully judged", "gold": "Gold"}


def browse_items(*, user: User, campaign_id: int | None = None, query: str = "", state: str = "",
                 annotator: str = "") -> QuerySet[Item]:
    """Items of the campaigns this user manages, for the item browser: `query` searches the item id, the prompt,
    the responses and the rationales; `state` is one of ITEM_STATES; `annotator` keeps the items that username
    judged."""
    items = Item.objects.filter(campaign__in=campaigns_managed_by(user=user)).select_related("campaign", "prompt")
    if campaign_id is not None:
        items = items.filter(campaign_id=campaign_id)
    if query:
        matching = (Q(external_id__icontains=query) | Q(prompt__messages__icontains=query)
                    | Q(candidates__text__icontains=query) | Q(judgments__rationale__icontains=query))
        items = items.filter(pk__in=Item.objects.filter(matching).values("pk"))
    if state == "open":
        items = items.filter(is_gold=False, judgment_count=0)
    elif state == "partial":
        items = items.filter(is_gold=False, judgment_count__gt=0, judgment_count__lt=F("campaign__overlap"))
    elif state == "complete":
        items = items.filter(is_gold=False, judgment_count__gte=F("campaign__overlap"))
    elif state == "gold":
        items = items.filter(is_gold=True)
    if annotator:
        items = items.filter(judgments__annotator__username=annotator)
    return items.order_by("campaign_id", "id").distinct()


def browse_item(*, user: User, item_id: int) -> dict:
    """One item as its managers see it: the prompt, the responses in canonical order (A = the item's first), every
    judgment with who gave it (an AI judge's with its checklist scores by letter), the skips and the checklists
    AI judges wrote for its prompt. Raises Item.DoesNotExist outside the user's campaigns."""
    item = browse_items(user=user).get(pk=item_id)
    slots = list(item.slots.select_related("candidate").order_by("position"))
    letters = {slot.candidate.external_id: chr(ord("A") + slot.position) for slot in slots}
    judgments = list(item.judgments.select_related("annotator").order_by("created_at"))
    for judgment in judgments:
        judgment.summary = _judgment_in_words(judgment, letters)
        judgment.checklist_scores = {letters.get(response, response): score for response, score
                                     in judgment.metadata.get("checklist", {}).get("scores", {}).items()}
    skips = item.assignments.filter(status=Assignment.Status.SKIPPED).select_related("annotator")
    return {"item": item, "responses": [(letters[slot.candidate.external_id], slot.candidate) for slot in slots],
            "judgments": judgments, "skips": skips,
            "checklists": item.prompt.checklists.exclude(questions=[]).select_related("endpoint")}


def _judgment_in_words(judgment: Judgment, letters: dict[str, str]) -> str:
    """What the annotator answered, with responses named by their letters."""
    def name(candidate_id: str) -> str:
        return letters.get(candidate_id, candidate_id)

    if judgment.choice:
        said = "tie" if judgment.choice == "tie" else f"{judgment.choice.upper()} is better"
        if judgment.strength is not None:
            said += f" (strength {judgment.strength:+d})"
        return said
    if judgment.ranking:
        return " > ".join(" = ".join(name(c) for c in tier) for tier in judgment.ranking)
    if judgment.ratings:
        return ", ".join(f"{name(c)}: {value}/7" for c, value in judgment.ratings.items())
    if judgment.attributes:
        return "; ".join(f"{name(c)}: " + ", ".join(f"{key} {value}" for key, value in values.items())
                         for c, values in judgment.attributes.items())
    return ""
