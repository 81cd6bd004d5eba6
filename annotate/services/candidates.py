from django.core.exceptions import ValidationError
from django.db import transaction

from annotate.models import Campaign
from modelhost.models import GenerationJob, ModelEndpoint
from modelhost.services.endpoints import endpoint_get_default
from modelhost.services.jobs import generation_job_create


def campaign_source(campaign: Campaign) -> str:
    return f"annotate.campaign:{campaign.pk}"


def prompt_key(prompt_id: int) -> str:
    """The generation request key of a prompt, by which its outputs come back as candidates."""
    return f"prompt:{prompt_id}"


@transaction.atomic
def campaign_candidates_generate(
    *, campaign: Campaign, endpoints: list[ModelEndpoint] | None = None, n: int = 2,
    params: dict | None = None, seed: int = 0, created_by=None,
) -> GenerationJob:
    """Start a generation job for every prompt of the campaign; outputs are keyed by prompt_key."""
    prompts = list(campaign.prompts.all())
    if not prompts:
        raise ValidationError(f"Campaign {campaign.name!r} has no prompts yet: import some first.")
    return generation_job_create(
        label=f"Candidates for {campaign.name}",
        conversations=[(prompt_key(prompt.pk), prompt.messages) for prompt in prompts],
        endpoints=endpoints or [endpoint_get_default()],
        n=n, params=params, seed=seed, source=campaign_source(campaign), created_by=created_by,
    )
