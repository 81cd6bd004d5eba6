import json

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Least

from accounts.models import User
from annotate.access import campaigns_managed_by, campaigns_visible_to
from annotate.models import ArmMembership, Assignment, Campaign, Candidate, Item, ItemCandidate, Judgment, Prompt
from annotate.protocols import ATTRIBUTE_RANGE, RATING_RANGE, SAFETY
from core.models import AuditEvent
from core.sql import sql_id_possible, sql_instance, sql_rows


def _count_of(model) -> Coalesce:
    rows = model.objects.filter(campaign=OuterRef("pk")).values("campaign").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(rows), 0)


def campaign_list_for(*, user: User) -> QuerySet[Campaign]:
    """The visible campaigns with their prompt and item counts, for lists (each count its own subquery: counting
    both through one join would multiply prompts by items)."""
    return campaigns_visible_to(user=user).annotate(prompt_count=_count_of(Prompt), item_count=_count_of(Item))


def annotator_progress(*, campaigns: list[Campaign], annotator: User) -> dict[int, dict]:
    """What this annotator has done in each campaign and what is still open to them there, by campaign id: the same
    four queries for one campaign or many (the landing page lists them all)."""
    ids = [campaign.pk for campaign in campaigns]
    done = dict(Judgment.objects.filter(item__campaign__in=ids, annotator=annotator).order_by()
                .values_list("item__campaign").annotate(n=Count("pk")))
    arms = dict(ArmMembership.objects.filter(campaign__in=ids, annotator=annotator).values_list("campaign", "arm"))
    several = Exists(ItemCandidate.objects.filter(item=OuterRef("pk"), position=1))  # more than one response
    scope = Q(pk__in=[])
    for campaign in campaigns:
        in_campaign = Q(campaign=campaign.pk, judgment_count__lt=campaign.overlap)
        if campaign.rate_alone and (arm := arms.get(campaign.pk)):  # each arm its own items (assignments._arm_items)
            in_campaign &= ~several if arm == ArmMembership.Arm.RATING else several
        scope |= in_campaign
    open_items = (Item.objects.filter(scope, is_gold=False, to_people=True)
                  .exclude(assignments__annotator=annotator).exclude(judgments__annotator=annotator))
    remaining = dict(open_items.order_by().values_list("campaign").annotate(n=Count("pk")))
    return {pk: {"done": done.get(pk, 0), "remaining": remaining.get(pk, 0)} for pk in ids}


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
    canonical = [slot.candidate.external_id for slot in slots]
    letters = {candidate: chr(ord("A") + index) for index, candidate in enumerate(canonical)}
    judgments = list(item.judgments.select_related("annotator").order_by("created_at"))
    for judgment in judgments:
        judgment.summary = judgment_in_words(judgment, canonical)
        judgment.checklist_scores = {letters.get(response, response): score for response, score
                                     in judgment.metadata.get("checklist", {}).get("scores", {}).items()}
    skips = item.assignments.filter(status=Assignment.Status.SKIPPED).select_related("annotator")
    return {"item": item, "responses": [(letters[slot.candidate.external_id], slot.candidate) for slot in slots],
            "judgments": judgments, "skips": skips,
            "checklists": item.prompt.checklists.exclude(questions=[]).select_related("endpoint")}


def judgment_in_words(judgment: Judgment, canonical: list[str], *, as_shown: bool = False) -> str:
    """What the annotator answered, responses named by letters: A = the item's first (`canonical`, the candidate ids
    in slot order), or with `as_shown` A = the one this annotator was shown first (their own review)."""
    order = (judgment.presented_order if as_shown else None) or canonical
    letter = {candidate: chr(ord("A") + index) for index, candidate in enumerate(order)}

    def name(candidate_id: str) -> str:
        return letter.get(candidate_id, candidate_id)

    def by_letter(answers: dict) -> list:
        return sorted(answers.items(), key=lambda pair: name(pair[0]))

    if judgment.choice:
        said = "Tie" if judgment.choice == "tie" else f"{name(canonical['ab'.index(judgment.choice)])} is better"
        if judgment.strength is not None:
            flipped = order[0] != canonical[0]  # strength is stored canonically: negative means a is better
            said += f" (strength {-judgment.strength if flipped else judgment.strength:+d})"
        return said
    if judgment.ranking:
        return " > ".join(" = ".join(sorted(name(c) for c in tier)) for tier in judgment.ranking)
    if judgment.ratings:
        return ", ".join(f"{name(c)}: {value}/{RATING_RANGE[1]}" for c, value in by_letter(judgment.ratings))
    if judgment.attributes:
        def scored(key: str, value: int) -> str:
            return f"{key} {value}" if key == SAFETY else f"{key} {value}/{ATTRIBUTE_RANGE[1]}"  # safety is 0 or 1
        return "; ".join(f"{name(c)}: " + ", ".join(scored(*score) for score in scores.items())
                         for c, scores in by_letter(judgment.attributes))
    return ""
