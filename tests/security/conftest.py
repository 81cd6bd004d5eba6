"""Maria's world, for attacks by others: a live campaign anna works in, an export, a generation job, a streamed
reply and an API token, all hers."""

from dataclasses import dataclass

import pytest

from accounts.models import ApiToken
from accounts.services.tokens import token_create
from annotate.models import Assignment
from annotate.services.assignments import assignment_next, judgment_submit
from exports.models import Export
from exports.services import export_create, export_run
from modelhost.models import GenerationJob, StreamedReply
from tests.factories import UserFactory, campaign_with_items


@dataclass
class World:
    ids: dict[str, int]  # URL keyword -> the id of maria's object of that kind


@pytest.fixture
def world(manager, annotator, tiny_endpoint, settings, tmp_path) -> World:
    settings.MEDIA_ROOT = tmp_path / "media"
    campaign = campaign_with_items(manager=manager, members=[annotator], prompts=2, name="Maria's")
    judged = assignment_next(campaign=campaign, annotator=annotator)
    judgment_submit(assignment_id=judged.pk, annotator=annotator, answer={"choice": "a"})
    held = assignment_next(campaign=campaign, annotator=annotator)
    export = export_create(spec={"campaigns": [campaign.pk], "format": "raw"}, by=manager)
    export_run(export_id=export.pk)
    job = GenerationJob.objects.create(label="maria's job", total=1, created_by=manager)
    reply = StreamedReply.objects.create(endpoint=tiny_endpoint, messages=[{"role": "user", "content": "Hi"}],
                                         created_by=manager)
    token, _ = token_create(user=manager, name="maria's key")
    return World(ids={"campaign_id": campaign.pk, "assignment_id": held.pk, "user_id": annotator.pk,
                      "export_id": export.pk, "job_id": job.pk, "reply_id": reply.pk, "token_id": token.pk})


@pytest.fixture
def other_manager(db):
    """Mona manages a campaign of her own, not maria's."""
    mona = UserFactory(username="mona", role="manager")
    campaign_with_items(manager=mona, name="Mona's")
    return mona


def state() -> dict:
    """Everything an intruder's request could change in maria's world."""
    from annotate.models import Campaign, Item, Judgment, Prompt

    return {
        "campaigns": sorted(Campaign.objects.values_list("pk", "status", "name")),
        "members": sorted(Campaign.members.through.objects.values_list("campaign_id", "user_id")),
        "assignments": sorted(Assignment.objects.values_list("pk", "status")),
        "judgments": Judgment.objects.count(),
        "prompts and items": (Prompt.objects.count(), Item.objects.count()),
        "exports": sorted(Export.objects.values_list("pk", "status")),
        "jobs": sorted(GenerationJob.objects.values_list("pk", "status")),
        "tokens": sorted(ApiToken.objects.values_list("pk", "revoked_at")),
    }
