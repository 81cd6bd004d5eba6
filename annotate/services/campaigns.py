from itertools import combinations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import User
from annotate.access import campaign_check_manager
from annotate.models import Campaign, Candidate, Item, ItemCandidate, Prompt
from annotate.services.assignments import items_added
from annotate.services.candidates import campaign_source, prompt_key
from core.services.audit import audit_record
from modelhost.selectors import generation_outputs_for

TRANSITIONS = {
    Campaign.Status.DRAFT: {Campaign.Status.LIVE, Campaign.Status.CLOSED},
    Campaign.Status.LIVE: {Campaign.Status.PAUSED, Campaign.Status.CLOSED},
    Campaign.Status.PAUSED: {Campaign.Status.LIVE, Campaign.Status.CLOSED},
    Campaign.Status.CLOSED: set(),
}


@transaction.atomic
def campaign_create(*, creator: User, name: str, **fields) -> Campaign:
    if not creator.is_manager:
        raise PermissionDenied("Only managers and admins create campaigns.")
    campaign = Campaign(name=name, created_by=creator, **fields)
    if campaign.design == "pairwise" and campaign.responses_per_item != 2:
        raise ValidationError({"responses_per_item": "Pairwise campaigns compare exactly 2 responses."})
    campaign.full_clean()
    campaign.save()
    campaign.managers.add(creator)
    return campaign


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
def campaign_members_remove(*, campaign: Campaign, user: User, by: User) -> None:
    campaign_check_manager(campaign=campaign, user=by)
    campaign.members.remove(user)
    audit_record(actor=by, action="campaign.members_remove", target=f"campaign {campaign.pk}",
                 details={"usernames": [user.username]})


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


@transaction.atomic
def campaign_items_build(*, campaign: Campaign, by: User | None = None) -> int:
    """Turn the campaign's candidates into items: every pair of a prompt's candidates when items hold 2,
    else consecutive groups of `responses_per_item`. Safe to run again: existing items stay as they are."""
    if by is not None:
        campaign_check_manager(campaign=campaign, user=by)
    _attach_generated(campaign)
    size = campaign.responses_per_item
    existing = set(campaign.items.values_list("external_id", flat=True))
    created = 0
    for prompt in Prompt.objects.filter(campaign=campaign).prefetch_related("candidates"):
        candidates = list(prompt.candidates.all())
        groups = combinations(candidates, 2) if size == 2 else (
            candidates[i:i + size] for i in range(0, len(candidates) - size + 1, size))
        for group in groups:
            external_id = f"{prompt.external_id}:" + "+".join(c.external_id for c in group)
            if external_id in existing:
                continue
            item = Item.objects.create(campaign=campaign, prompt=prompt, external_id=external_id)
            ItemCandidate.objects.bulk_create(
                ItemCandidate(item=item, candidate=c, position=i) for i, c in enumerate(group))
            existing.add(external_id)
            created += 1
    if created:
        items_added()
    return created
