""""Wiser than" votes enter annotate as pairwise judgments, so metrics and exports read them like any other."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from annotate.models import Judgment
from annotate.moralgraph.models import Participant, Vote
from annotate.moralgraph.services.pairs import pairs_to_campaign
from annotate.moralgraph.services.votes import stories_build
from annotate.services.campaigns import campaign_create


@pytest.fixture
def target(manager):
    return campaign_create(creator=manager, name="Wiser-than pairs")


def vote(participant, story, relationship, comment=""):
    return Vote.objects.create(participant=participant, context=story.context, from_card=story.from_card,
                               to_card=story.to_card, story=story.shown, relationship=relationship,
                               comment=comment, created_at=story.created_at)


def test_wiser_votes_become_pairwise_judgments_choosing_the_wiser_card(
        submitted_card, deliberation, manager, participant, other_participant, target):
    faith, justice = submitted_card("Faith in People"), submitted_card("Embodied Justice")
    stories_build(deliberation=deliberation, by=manager)
    distress = deliberation.contexts.get(text="When in distress")
    forward = distress.stories.get(from_card=faith)
    backward = distress.stories.get(from_card=justice)
    vote(participant, forward, "upgrade", "It covers more.")
    vote(other_participant, backward, "upgrade")
    vote(participant, deliberation.contexts.get(text="When seeking information").stories.get(from_card=faith),
         "not_sure")
    vote(Participant.objects.create(deliberation=deliberation, external_id="imported-7"), forward, "upgrade")

    counts = pairs_to_campaign(deliberation=deliberation, campaign=target, by=manager)
    assert (counts["judgments"], counts["items"], counts["annotators"]) == (2, 1, 0)
    judgments = {j.annotator.username: j for j in Judgment.objects.filter(item__campaign=target)}
    first_card = target.items.get().slots.get(position=0).candidate
    assert first_card.text.startswith("Faith in People")  # the lower card id is "a"
    assert (judgments["anna"].choice, judgments["anna"].rationale) == ("b", "It covers more.")
    assert judgments["otto"].choice == "a"
    assert judgments["otto"].presented_order == [f"moralgraph-{deliberation.pk}-card-{justice.pk}",
                                                 f"moralgraph-{deliberation.pk}-card-{faith.pk}"]
    assert pairs_to_campaign(deliberation=deliberation, campaign=target, by=manager)["unchanged"] == 2


def test_only_managers_of_both_move_pairs_and_only_when_there_are_some(deliberation, annotator, manager, target):
    with pytest.raises(PermissionDenied):
        pairs_to_campaign(deliberation=deliberation, campaign=target, by=annotator)
    with pytest.raises(ValidationError, match="No \"wiser\" votes"):
        pairs_to_campaign(deliberation=deliberation, campaign=target, by=manager)


def test_the_manager_copies_pairs_from_the_page(client, deliberation, manager, target):
    client.force_login(manager)
    assert "Copy the wiser-than pairs" in client.get(f"/annotate/moralgraph/{deliberation.pk}/manage/").content.decode()
    response = client.post(f"/annotate/moralgraph/{deliberation.pk}/manage/pairs/annotate/", {"campaign": target.pk},
                           follow=True)
    assert "No &quot;wiser&quot; votes yet." in response.content.decode()
