import factory

from accounts.models import User
from annotate.models import Campaign, Prompt


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    role = User.Role.ANNOTATOR
    password = factory.PostGenerationMethodCall("set_password", "a-Good-password-1")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Campaign {n}")
    status = Campaign.Status.LIVE
    created_by = factory.SubFactory(UserFactory, role=User.Role.MANAGER)


class PromptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Prompt

    campaign = factory.SubFactory(CampaignFactory)
    external_id = factory.Sequence(lambda n: f"p{n}")
    messages = factory.LazyAttribute(lambda p: [{"role": "user", "content": f"Question {p.external_id}?"}])


def campaign_with_items(*, manager, members=(), prompts: int = 3, responses: int = 2, **fields):
    """A live campaign built the way a manager builds one: prompts, candidates, items, launch."""
    from annotate.models import Candidate, Prompt
    from annotate.services.campaigns import campaign_create, campaign_items_build, campaign_status_set

    fields.setdefault("responses_per_item", 2 if fields.get("design", "pairwise") == "pairwise" else responses)
    campaign = campaign_create(creator=manager, name=fields.pop("name", f"Campaign {Prompt.objects.count()}"),
                               **fields)
    for p in range(prompts):
        prompt = Prompt.objects.create(campaign=campaign, external_id=f"p{p}",
                                       messages=[{"role": "user", "content": f"Question {p}?"}])
        for r in range(responses):
            Candidate.objects.create(prompt=prompt, external_id=f"p{p}-r{r}", text=f"Answer {r} to {p}.",
                                     model=f"model-{r}")
    campaign_items_build(campaign=campaign)
    campaign.members.add(*members)
    campaign_status_set(campaign=campaign, status="live", by=manager)
    return campaign
