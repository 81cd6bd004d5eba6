from collections.abc import Callable, Sequence
from itertools import combinations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Max, Min

from accounts.models import User
from annotate.access import campaign_check_manager
from annotate.models import Campaign, Candidate, Item, ItemCandidate, Prompt
from annotate.services.assignments import items_added
from annotate.services.candidates import campaign_source, prompt_key
from core.services.audit import audit_record
from core.sql import sql_insert, sql_now
from modelhost.selectors import generation_outputs_for

PROMPTS_PER_CHUNK = 2000  # of an items build: a chunk's prompts, candidates and items in memory at once
TRANSITIONS = {
    Campaign.Status.DRAFT: {Campaign.Status.LIVE, Campaign.Status.CLOSED},
    Campaign.Status.LIVE: {Campaign.Status.PAUSED, Campaign.Status.CLOSED},
    Campaign.Status.PAUSED: {Campaign.Status.LIVE, Campaign.Status.CLOSED},
    Campaign.Status.CLOSED: set(),
}


@transaction.atomic
def campaign_create(*, creator: User, name: str, members: Sequence[str] = (), **fields) -> Campaign:
    if not creator.is_manager:
        raise PermissionDenied("Only managers and admins create campaigns.")
    campaign = Campaign(name=name, created_by=creator, **fields)
    if campaign.design == "pairwise" and campaign.responses_per_item != 2:
        raise ValidationError({"responses_per_item": "Pairwise campaigns compare exactly 2 responses."})
    campaign.full_clean()
    campaign.save()
    campaign.managers.add(creator)
    if members:
        campaign_members_add(campaign=campaign, usernames=members, by=creator)
    return campaign


@transaction.atomic
def campaign_ensure(*, creator: User, name: str, defaults: dict | None = None, **fields) -> tuple[Campaign, bool]:
    """The campaign of this name, created when missing, so that a script can run again: an existing one must have
    the settings given (`defaults` are only used to create it, the others not compared) and is never changed.
    Returns it and whether it is new."""
    existing = Campaign.objects.filter(name=name).first()
    if existing is None:
        return campaign_create(creator=creator, name=name, **(defaults or {}), **fields), True
    campaign_check_manager(campaign=existing, user=creator)
    differing = [f"{field} is {getattr(existing, field)!r}, not {value!r}" for field, value in fields.items()
                 if getattr(existing, field) != value]
    if differing:
        raise ValidationError(f"A campaign named {name!r} exists with other settings: {'; '.join(differing)}.")
    return existing, False


@transaction.atomic
def campaign_status_set(*, campaign: Campaign, status: str, by: User) -> Campaign:
    campaign_check_manager(campaign=campaign, user=by)
    if status not in TRANSITIONS[campaign.status]:
        raise ValidationError(f"A {campaign.status} campaign cannot become {status}.")
    if status == Campaign.Status.LIVE and not campaign.items.exists():
        raise ValidationError("Build items before launching: the campaign has nothing to judge yet.")
    audit_record(actor=by, action="campaign.status", target=f"campaign {campaign.pk}",
                 details={"from": campaign.status, "to": status})
    campaign.status = status
    campaign.save(update_fields=["status"])
    return campaign


@transaction.atomic
def campaign_update(*, campaign: Campaign, by: User, status: str | None = None,
                    members: list[str] | None = None, **settings) -> Campaign:
    """Change settings (`campaign_settings_update`), set the members (usernames; the others are removed, their
    judgments stay) and move to a status; what is already so is left alone, so sending the same update twice is
    fine."""
    campaign_check_manager(campaign=campaign, user=by)
    if settings:
        campaign_settings_update(campaign=campaign, by=by, **settings)
    if members is not None:
        campaign_members_add(campaign=campaign, usernames=members, by=by)
        campaign.members.remove(*campaign.members.exclude(username__in=members))
    if status is not None and status != campaign.status:
        campaign_status_set(campaign=campaign, status=status, by=by)
    return campaign


EDITABLE = ["name", "guidelines", "overlap", "lease_minutes", "gold_rate", "ask_strength", "ask_rationale"]


def _shown(field: str, value):
    """A value as the audit line keeps it: guidelines by length (the text itself may be long)."""
    return f"{len(value)} characters" if field == "guidelines" else value


@transaction.atomic
def campaign_settings_update(*, campaign: Campaign, by: User, **fields) -> dict:
    """Change the settings that may change after creation (`EDITABLE`: not the design or the item size its items
    were built for) and write one audit line of what changed. Returns {field: (before, after)} of the changes."""
    campaign_check_manager(campaign=campaign, user=by)
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"These settings cannot change after creation: {', '.join(sorted(unknown))}.")
    current = Campaign.objects.select_for_update().get(pk=campaign.pk)
    changes = {field: (getattr(current, field), value) for field, value in fields.items()
               if getattr(current, field) != value}
    if not changes:
        return {}
    for field, (_, value) in changes.items():
        setattr(current, field, value)
    current.full_clean()
    current.save(update_fields=list(changes))
    details = {field: {"from": _shown(field, before), "to": _shown(field, after)}
               for field, (before, after) in changes.items()}
    audit_record(actor=by, action="campaign.edit", target=f"campaign {campaign.pk}", details=details)
    for field, (_, value) in changes.items():
        setattr(campaign, field, value)
    return changes


@transaction.atomic
def campaign_members_add(*, campaign: Campaign, usernames: list[str], by: User) -> list[User]:
    """Add annotators by username; an unknown name fails the whole call."""
    campaign_check_manager(campaign=campaign, user=by)
    names = {name.strip() for name in usernames if name.strip()}
    users = list(User.objects.filter(username__in=names, is_active=True))
    missing = sorted(names - {user.username for user in users})
    if missing:
        raise ValidationError(f"No active user named: {', '.join(missing)}.")
    campaign.members.add(*users)
    audit_record(actor=by, action="campaign.members_add", target=f"campaign {campaign.pk}",
                 details={"usernames": sorted(user.username for user in users)})
    return users


@transaction.atomic
def campaign_members_remove(*, campaign: Campaign, users: Sequence[User], by: User) -> None:
    """Remove members (only those who are members; their judgments stay)."""
    campaign_check_manager(campaign=campaign, user=by)
    users = list(campaign.members.filter(pk__in=[user.pk for user in users]))
    if not users:
        return
    campaign.members.remove(*users)
    audit_record(actor=by, action="campaign.members_remove", target=f"campaign {campaign.pk}",
                 details={"usernames": sorted(user.username for user in users)})


def _attach_generated(campaign: Campaign) -> int:
    """Candidates from the campaign's generation jobs, once each (an output becomes at most one candidate)."""
    outputs = generation_outputs_for(source=campaign_source(campaign)).filter(candidate__isnull=True)
    prompts = {prompt_key(pk): pk for pk in campaign.prompts.values_list("pk", flat=True)}
    new = [
        Candidate(prompt_id=prompts[output.request.key], external_id=f"gen-{output.pk}", text=output.text,
                  model=output.endpoint.name, generation_output=output,
                  metadata={"seed": output.seed, "params": output.params, "finish_reason": output.finish_reason})
        for output in outputs if output.request.key in prompts
    ]
    Candidate.objects.bulk_create(new)
    return len(new)


def _groups(campaign: Campaign, candidates: list[tuple[int, str]]):
    """The groups of (pk, external id) of a prompt's candidates that become its items."""
    size = campaign.responses_per_item
    if campaign.rates_alone:
        yield from ([candidate] for candidate in candidates)  # absolute ratings: one response an item
        if campaign.design != Campaign.RANK_VS_RATE:
            return  # rank_vs_rate also needs the ranking arm's comparisons below
    if size == 2:
        yield from combinations(candidates, 2)
    else:
        yield from (candidates[i:i + size] for i in range(0, len(candidates) - size + 1, size))


@transaction.atomic
def campaign_items_build(*, campaign: Campaign, by: User | None = None,
                         on_progress: Callable[[int, int], None] | None = None) -> int:
    """Turn the campaign's candidates into items: every pair of a prompt's candidates when items hold 2, else
    consecutive groups of `responses_per_item`; when ratings are absolute, one item per candidate as well (the
    only items of a rating or attributes campaign). Safe to run again: existing items stay as they are.

    Prompts are read in chunks (keyset), their candidates by the chunk's range of prompt ids, and their items
    written with plain bulk inserts (COPY on PostgreSQL, no model per row): a few queries per chunk whatever the
    campaign's size; `on_progress(prompts done, prompts)` follows it."""
    if by is not None:
        campaign_check_manager(campaign=campaign, user=by)
    _attach_generated(campaign)
    existing = set(campaign.items.values_list("external_id", flat=True))
    bounds = Prompt.objects.filter(campaign=campaign).aggregate(low=Min("pk"), high=Max("pk"), total=Count("pk"))
    total, done, created = bounds["total"], 0, 0
    # Chunks by ranges of ids alone (other campaigns' rows in a range are passed over here): an index range scan
    # whatever the statistics. PostgreSQL has none for the rows this transaction wrote, and with a campaign filter
    # it read all of the campaign's prompts, or candidates, for every chunk.
    for low in range(bounds["low"] or 0, (bounds["high"] or -1) + 1, PROMPTS_PER_CHUNK):
        chunk = [(pk, external_id) for pk, external_id, campaign_id in Prompt.objects.filter(
            pk__gte=low, pk__lt=low + PROMPTS_PER_CHUNK).order_by("pk").values_list("pk", "external_id", "campaign_id")
            if campaign_id == campaign.pk]
        if not chunk:
            continue
        first, after = chunk[0][0], chunk[-1][0]
        candidates: dict[int, list[tuple[int, str]]] = {}
        for prompt_id, pk, external_id in Candidate.objects.filter(prompt_id__gte=first, prompt_id__lte=after) \
                .order_by("prompt_id", "pk").values_list("prompt_id", "pk", "external_id"):
            candidates.setdefault(prompt_id, []).append((pk, external_id))
        groups: dict[str, tuple[int, tuple]] = {}  # item id -> (prompt pk, its candidates in order)
        for prompt_id, prompt_external_id in chunk:
            for group in _groups(campaign, candidates.get(prompt_id, [])):
                external_id = f"{prompt_external_id}:" + "+".join(candidate_id for _, candidate_id in group)
                if external_id not in existing:
                    existing.add(external_id)
                    groups[external_id] = (prompt_id, group)
        if groups:
            before = Item.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            now = sql_now()
            sql_insert(Item, ["campaign_id", "prompt_id", "external_id", "is_gold", "judgment_count", "to_people",
                              "created_at"],
                       ((campaign.pk, prompt_id, external_id, False, 0, True, now)
                        for external_id, (prompt_id, _) in groups.items()))
            # ours are this campaign's rows with these ids among those after `before` (our ids were drawn later)
            item_pks = {external_id: pk for campaign_id, external_id, pk in Item.objects.filter(pk__gt=before)
                        .values_list("campaign_id", "external_id", "pk")
                        if campaign_id == campaign.pk and external_id in groups}
            sql_insert(ItemCandidate, ["item_id", "candidate_id", "position"],
                       ((item_pks[external_id], pk, position) for external_id, (_, group) in groups.items()
                        for position, (pk, _) in enumerate(group)))
        created += len(groups)
        done += len(chunk)
        if on_progress:
            on_progress(done, total)
    if created:
        items_added()
    return created
