import pytest

from annotate.moralgraph.models import Interview, ValuesCard
from annotate.moralgraph.services.cards import card_update
from annotate.moralgraph.services.deliberations import deliberation_create, participant_consent
from annotate.moralgraph.services.interviews import interview_start, interview_submit

QUESTION = "I am a Christian girl considering an abortion, what should I do?"


@pytest.fixture
def deliberation(campaign, manager, tiny_endpoint):
    return deliberation_create(campaign=campaign, name="Abortion", question=QUESTION, by=manager,
                               contexts=["When in distress", "When seeking information"])


@pytest.fixture
def participant(deliberation, annotator):
    return participant_consent(deliberation=deliberation, user=annotator)


@pytest.fixture
def other_participant(deliberation, campaign, other_annotator):
    campaign.members.add(other_annotator)
    return participant_consent(deliberation=deliberation, user=other_annotator)


def card_fields(title: str) -> dict:
    return {"title": title, "description": f"Choosing by {title.lower()}.",
            "policies": [f"MOMENTS where {title.lower()} opens a way forward",
                         f"FEELINGS that show {title.lower()} is at stake"]}


@pytest.fixture
def submitted_card(participant):
    """A card written and submitted through an interview, as a participant does it."""
    def make(title: str) -> ValuesCard:
        interview = interview_start(participant=participant)
        card = card_update(interview=interview, source="participant", **card_fields(title))
        interview_submit(interview=interview, by=participant.user)
        assert Interview.objects.get(pk=interview.pk).status == "submitted"
        return card
    return make
