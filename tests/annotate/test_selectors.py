from annotate.models import Campaign
from annotate.selectors import campaign_list_for
from tests.factories import PromptFactory


def names(user) -> set[str]:
    return {campaign.name for campaign in campaign_list_for(user=user)}


def test_an_annotator_sees_only_live_campaigns_they_joined(annotator, campaign, other_campaign):
    assert names(annotator) == {"Helpfulness"}
    campaign.status = Campaign.Status.DRAFT
    campaign.save()
    assert names(annotator) == set()


def test_an_outsider_sees_nothing(outsider, campaign, other_campaign):
    assert names(outsider) == set()


def test_a_manager_sees_the_campaigns_they_manage_with_prompt_counts(manager, campaign, other_campaign):
    PromptFactory.create_batch(3, campaign=campaign)
    counts = {c.name: c.prompt_count for c in campaign_list_for(user=manager)}
    assert counts == {"Helpfulness": 3, "Harmlessness": 0}


def test_an_admin_sees_every_campaign(admin_user, campaign, other_campaign):
    assert names(admin_user) == {"Helpfulness", "Harmlessness"}
