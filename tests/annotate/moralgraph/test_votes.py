""""Wiser than" pairs: both directions exist, each participant gets the less-voted framing, one vote per pair."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from annotate.moralgraph.models import UpgradeStory, Vote
from annotate.moralgraph.prompts import STORY_WRITER
from annotate.moralgraph.selectors import vote_draw
from annotate.moralgraph.services.cards import card_update
from annotate.moralgraph.services.deliberations import deliberation_create, participant_consent
from annotate.moralgraph.services.interviews import interview_start
from annotate.moralgraph.services.votes import card_line, stories_build, stories_write, vote_submit
from modelhost.models import GenerationOutput
from modelhost.services.jobs import generation_job_run
from tests.annotate.moralgraph.conftest import card_fields


@pytest.fixture
def pair(submitted_card, deliberation, manager):
    a, b = submitted_card("Faith in People"), submitted_card("Embodied Justice")
    stories_build(deliberation=deliberation, by=manager)
    return a, b


def test_every_pair_is_told_in_both_directions_in_every_context(pair, deliberation, manager):
    a, b = pair
    stories = UpgradeStory.objects.filter(context__deliberation=deliberation)
    assert sorted((s.context.text, s.from_card.title) for s in stories) == [
        ("When in distress", "Embodied Justice"), ("When in distress", "Faith in People"),
        ("When seeking information", "Embodied Justice"), ("When seeking information", "Faith in People")]
    story = stories.get(context__text="When in distress", from_card=a)
    assert story.claim == ('When in distress, this person used to focus on "Faith in People". Now they realise '
                           '"Embodied Justice" covers everything they need, so they only focus on that.')
    assert stories_build(deliberation=deliberation, by=manager) == 0  # built once


def test_an_open_interviews_card_is_not_voted_on(pair, participant, deliberation, manager):
    card_update(interview=interview_start(participant=participant), source="participant",
                **card_fields("Unfinished"))
    assert stories_build(deliberation=deliberation, by=manager) == 0


def test_the_next_participant_sees_the_other_direction(pair, participant, other_participant):
    first = vote_draw(participant=participant, seed=1)
    assert len(first) == 2  # one framing of the pair per context
    for story in first:
        vote_submit(participant=participant, story=story, relationship="upgrade", by=participant.user)
    second = vote_draw(participant=other_participant, seed=1)
    assert {(s.context_id, s.from_card_id) for s in second} == {(s.context_id, s.to_card_id) for s in first}
    assert vote_draw(participant=participant) == []  # nothing left for the first


def test_a_vote_is_kept_once_and_a_new_answer_replaces_it(pair, participant):
    story = vote_draw(participant=participant, seed=0)[0]
    vote, created = vote_submit(participant=participant, story=story, relationship="upgrade", by=participant.user,
                                comment=" Deeper. ", client_key="k1")
    assert created and vote.comment == "Deeper." and vote.story == story.claim
    again, created = vote_submit(participant=participant, story=story, relationship="upgrade",
                                 by=participant.user, comment="Deeper.", client_key="k1")
    assert (again.pk, created) == (vote.pk, False)
    vote_submit(participant=participant, story=story, relationship="not_sure", by=participant.user)
    assert list(Vote.objects.values_list("relationship", flat=True)) == ["not_sure"]


def test_votes_are_checked(pair, participant, other_participant, campaign, manager):
    story = vote_draw(participant=participant)[0]
    with pytest.raises(ValidationError):
        vote_submit(participant=participant, story=story, relationship="maybe", by=participant.user)
    with pytest.raises(PermissionDenied):  # someone else's participation
        vote_submit(participant=participant, story=story, relationship="upgrade", by=other_participant.user)
    elsewhere = deliberation_create(campaign=campaign, name="Parenting", question="My son refuses homework?",
                                    by=manager)
    stranger = participant_consent(deliberation=elsewhere, user=participant.user)
    with pytest.raises(PermissionDenied):  # a pair of another deliberation
        vote_submit(participant=stranger, story=story, relationship="upgrade", by=participant.user)
    assert not Vote.objects.exists()


def test_only_campaign_members_consent_and_managers_build(deliberation, outsider, annotator):
    with pytest.raises(PermissionDenied):
        participant_consent(deliberation=deliberation, user=outsider)
    first = participant_consent(deliberation=deliberation, user=annotator)
    assert participant_consent(deliberation=deliberation, user=annotator).consented_at == first.consented_at
    with pytest.raises(PermissionDenied):
        stories_build(deliberation=deliberation, by=annotator)


def test_the_model_host_writes_a_story_per_direction_with_the_same_prompt(pair, deliberation, manager,
                                                                           participant):
    a, b = pair
    voted = UpgradeStory.objects.get(context__text="When seeking information", from_card=a)
    vote_submit(participant=participant, story=voted, relationship="upgrade", by=participant.user)
    job = stories_write(deliberation=deliberation, by=manager)
    requests = {request.key: request.messages[-1]["content"] for request in job.requests.all()}
    assert len(requests) == 3 and f"story:{voted.pk}" not in requests  # a voted pair keeps what it showed
    forward = UpgradeStory.objects.get(context__text="When in distress", from_card=a)
    backward = UpgradeStory.objects.get(context__text="When in distress", from_card=b)
    expected = STORY_WRITER.format(context="when in distress", question=deliberation.question, a=card_line(b),
                                   b=card_line(a))
    assert requests[f"story:{backward.pk}"] == expected
    assert requests[f"story:{forward.pk}"] == STORY_WRITER.format(  # the same prompt, the cards swapped
        context="when in distress", question=deliberation.question, a=card_line(a), b=card_line(b))

    generation_job_run(job_id=job.pk)  # the tiny model: 8 tokens of noise, too short to be a story
    assert GenerationOutput.objects.filter(request__job=job).count() == 3
    stories_build(deliberation=deliberation, by=manager)
    assert not UpgradeStory.objects.exclude(story="").exists()

    output = GenerationOutput.objects.filter(request__key=f"story:{forward.pk}").get()
    output.text = "When I was scared I held on to trust alone. Then I saw that fairness to everyone involved " \
                  "was what my trust had been protecting all along."
    output.save()
    stories_build(deliberation=deliberation, by=manager)
    forward.refresh_from_db()
    assert forward.story.startswith("When I was scared") and forward.generation_output == output
    assert forward.shown.endswith(forward.claim)


def test_pairing_refuses_more_values_than_it_can_pair(submitted_card, deliberation, manager, settings):
    settings.MORALGRAPH_MAX_PAIRED_CARDS = 2
    submitted_card("Faith in People"), submitted_card("Embodied Justice"), submitted_card("Checked Facts")
    with pytest.raises(ValidationError, match="merge near-duplicates first"):
        stories_build(deliberation=deliberation, by=manager)
