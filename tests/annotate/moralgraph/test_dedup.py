"""De-duplication with the bundled MiniLM on a fixture set: paraphrases are proposed, distinct values are not;
merges move votes in the graph without rewriting them, and the author says whether the merge represents them."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from annotate.moralgraph.models import DedupProposal, UpgradeStory, ValuesCard, Vote
from annotate.moralgraph.selectors import dedup_checks_open, dedup_verdicts, graph_build, survey_summary
from annotate.moralgraph.services.cards import card_update
from annotate.moralgraph.services.dedup import (
    card_split,
    cards_merge,
    dedup_ask_model,
    dedup_check_submit,
    dedup_propose,
)
from annotate.moralgraph.services.interviews import interview_start, interview_submit
from annotate.moralgraph.services.votes import stories_build
from modelhost.models import GenerationOutput
from modelhost.services.jobs import generation_job_run

FIXTURES = {
    "Faith in People": ["MOMENTS where a person finds their own answer",
                        "SMALL ACTS of trust that open a conversation"],
    "Trusting Others": ["OCCASIONS when someone reaches their own answer",
                        "LITTLE GESTURES of trust that start a conversation"],
    "Checked Facts": ["SOURCES of information that anyone can check", "FACTS about the law that apply here"],
    "Bodily Safety": ["RISKS to a person's health that can be avoided", "DOCTORS who can be reached in time"],
}


@pytest.fixture
def cards(participant):
    made = {}
    for title, policies in FIXTURES.items():
        interview = interview_start(participant=participant)
        made[title] = card_update(interview=interview, source="participant", title=title,
                                  description=f"{title}.", policies=policies)
        interview_submit(interview=interview, by=participant.user)
    return made


def test_paraphrased_values_are_proposed_and_distinct_ones_kept_apart(cards, deliberation, manager):
    assert dedup_propose(deliberation=deliberation, by=manager) == 1
    proposal = DedupProposal.objects.get()
    assert (proposal.card.title, proposal.duplicate_of.title) == ("Trusting Others", "Faith in People")
    assert proposal.similarity > 0.8
    assert dedup_propose(deliberation=deliberation, by=manager) == 0  # proposed once


def test_a_merge_moves_votes_to_the_canonical_card_and_a_split_gives_them_back(
        cards, deliberation, manager, participant):
    faith, trusting, facts = cards["Faith in People"], cards["Trusting Others"], cards["Checked Facts"]
    distress = deliberation.contexts.get(text="When in distress")
    for source in (faith, trusting):
        Vote.objects.create(participant=participant, context=distress, from_card=facts, to_card=source,
                            relationship="upgrade", created_at=distress.created_at)
    assert graph_build(deliberation=deliberation)["edges"] == []  # one vote per edge: not certain yet

    cards_merge(card=trusting, into=faith, by=manager)
    edges = graph_build(deliberation=deliberation)["edges"]
    assert [(e["sourceValueId"], e["wiserValueId"], e["counts"]["markedWiser"]) for e in edges] == [
        (f"c{facts.pk}", f"c{faith.pk}", 2)]
    assert Vote.objects.filter(to_card=trusting).exists()  # the votes themselves are untouched
    stories_build(deliberation=deliberation, by=manager)
    assert not UpgradeStory.objects.filter(from_card=trusting).exists()  # merged cards are not voted on

    card_split(card=trusting, by=manager)
    assert graph_build(deliberation=deliberation)["edges"] == []


def test_merges_are_checked(cards, deliberation, manager, annotator):
    faith, trusting, facts = cards["Faith in People"], cards["Trusting Others"], cards["Checked Facts"]
    with pytest.raises(PermissionDenied):
        cards_merge(card=trusting, into=faith, by=annotator)
    cards_merge(card=trusting, into=faith, by=manager)
    with pytest.raises(ValidationError, match="merge into that one"):
        cards_merge(card=facts, into=trusting, by=manager)
    cards_merge(card=faith, into=facts, by=manager)  # what was merged into faith follows it
    assert ValuesCard.objects.get(pk=trusting.pk).canonical == facts


def test_the_author_says_whether_the_merged_card_represents_them(cards, deliberation, manager, participant,
                                                                  other_participant):
    trusting = cards["Trusting Others"]
    cards_merge(card=trusting, into=cards["Faith in People"], by=manager)
    assert list(dedup_checks_open(participant=participant)) == [trusting]
    with pytest.raises(PermissionDenied):
        dedup_check_submit(participant=other_participant, card=trusting, answer="yes", by=other_participant.user)
    dedup_check_submit(participant=participant, card=trusting, answer="yes", by=participant.user)
    assert list(dedup_checks_open(participant=participant)) == []
    assert survey_summary(deliberation=deliberation)["merged"] == {"yes": 1, "answers": 1, "percent": 100.0}


def test_the_manager_merges_from_the_page_and_the_author_answers_on_theirs(
        client, cards, deliberation, manager, participant, other_annotator):
    base = f"/annotate/moralgraph/{deliberation.pk}"
    client.force_login(manager)
    client.post(f"{base}/manage/dedup/")
    proposal = DedupProposal.objects.get()
    assert "Trusting Others → Faith in People" in client.get(f"{base}/manage/").content.decode()
    client.post(f"{base}/manage/dedup/{proposal.pk}/merge/")
    trusting = ValuesCard.objects.get(title="Trusting Others")
    assert trusting.canonical.title == "Faith in People"

    client.force_login(other_annotator)
    assert client.post(f"{base}/manage/cards/{trusting.pk}/split/").status_code == 404
    client.force_login(participant.user)
    assert 'Does "Faith in People" represent your value?' in client.get(f"{base}/").content.decode()
    client.post(f"{base}/merged/{trusting.pk}/", {"answer": "no"})
    assert survey_summary(deliberation=deliberation)["merged"]["percent"] == 0.0
    assert "represent your value" not in client.get(f"{base}/").content.decode()

    client.force_login(manager)
    client.post(f"{base}/manage/cards/{trusting.pk}/split/")
    assert ValuesCard.objects.get(pk=trusting.pk).canonical is None


def test_the_model_host_gives_its_verdict_beside_each_proposal(client, cards, deliberation, manager):
    dedup_propose(deliberation=deliberation, by=manager)
    job = dedup_ask_model(deliberation=deliberation, by=manager)
    proposal = DedupProposal.objects.get()
    prompt = job.requests.get().messages[-1]["content"]
    assert "MOMENTS where a person finds their own answer" in prompt and "SAME or DIFFERENT" in prompt
    generation_job_run(job_id=job.pk)  # the tiny model answers noise
    assert dedup_verdicts(deliberation=deliberation) == {proposal.pk: "unclear"}
    GenerationOutput.objects.filter(request__job=job).update(text="Same. Both attend to trust.")
    assert dedup_verdicts(deliberation=deliberation) == {proposal.pk: "same"}
    client.force_login(manager)
    assert "the model host says: same" in client.get(
        f"/annotate/moralgraph/{deliberation.pk}/manage/").content.decode()
    assert DedupProposal.objects.get().status == "proposed"  # the manager still decides
