"""The pages: members consent and vote, managers run the deliberation and see the graph; others get 404."""

import json

import pytest

from annotate.moralgraph.models import Context, Deliberation, Interview, Participant, Vote
from annotate.moralgraph.services.cards import card_update
from annotate.moralgraph.services.interviews import interview_start
from annotate.moralgraph.services.votes import stories_build
from tests.annotate.moralgraph.conftest import card_fields

BASE = "/annotate/moralgraph"


@pytest.fixture
def voting(submitted_card, deliberation, manager):
    submitted_card("Faith in People"), submitted_card("Embodied Justice")
    stories_build(deliberation=deliberation, by=manager)
    return deliberation


def test_a_member_consents_before_interviewing(client, deliberation, annotator):
    client.force_login(annotator)
    assert deliberation.name in client.get(f"{BASE}/").content.decode()
    page = client.get(f"{BASE}/{deliberation.pk}/").content.decode()
    assert "I agree to take part" in page
    assert client.post(f"{BASE}/{deliberation.pk}/interviews/").status_code == 404  # no consent yet
    client.post(f"{BASE}/{deliberation.pk}/consent/", {})
    assert not Participant.objects.exists()  # the box was not ticked
    client.post(f"{BASE}/{deliberation.pk}/consent/", {"agree": "yes"})
    response = client.post(f"{BASE}/{deliberation.pk}/interviews/")
    assert response.status_code == 302 and "/interviews/" in response["Location"]
    assert "Tell me about a time" in client.get(response["Location"]).content.decode()


def test_a_participant_votes_pair_after_pair_and_a_repeated_submit_counts_once(client, voting, participant):
    client.force_login(participant.user)
    page = client.get(f"{BASE}/{voting.pk}/vote/").content.decode()
    assert "Did this person become wiser?" in page and "moralgraph/vote.js" in page
    for _ in range(2):
        fragment = client.get(f"{BASE}/{voting.pk}/vote/", HTTP_HX_REQUEST="true").content.decode()
        story = int(fragment.split(f"{BASE}/{voting.pk}/vote/")[1].split("/")[0])
        data = {"relationship": "upgrade", "comment": "It covers more.", "client_key": "same-key"}
        first = client.post(f"{BASE}/{voting.pk}/vote/{story}/", data).content.decode()
        assert "Saved." in first
        assert "Already saved." in client.post(f"{BASE}/{voting.pk}/vote/{story}/", data).content.decode()
    assert Vote.objects.count() == 2
    assert "No more pairs to judge" in client.get(f"{BASE}/{voting.pk}/vote/").content.decode()


def test_a_vote_without_an_answer_shows_the_pair_again(client, voting, participant):
    client.force_login(participant.user)
    story = voting.contexts.first().stories.first()
    fragment = client.post(f"{BASE}/{voting.pk}/vote/{story.pk}/", {"relationship": ""}).content.decode()
    assert "Answer one of" in fragment and story.claim.replace('"', "&quot;") in fragment
    assert not Vote.objects.exists()


def test_outsiders_and_members_of_other_campaigns_find_nothing(client, voting, outsider, other_annotator):
    story = voting.contexts.first().stories.first()
    for user in (outsider, other_annotator):
        client.force_login(user)
        assert voting.name not in client.get(f"{BASE}/").content.decode()
        for url in (f"{BASE}/{voting.pk}/", f"{BASE}/{voting.pk}/vote/", f"{BASE}/{voting.pk}/manage/",
                    f"{BASE}/{voting.pk}/graph/", f"{BASE}/{voting.pk}/graph.json"):
            assert client.get(url).status_code == 404, url
        assert client.post(f"{BASE}/{voting.pk}/consent/", {"agree": "yes"}).status_code == 404
        assert client.post(f"{BASE}/{voting.pk}/vote/{story.pk}/", {"relationship": "upgrade"}).status_code == 404
    assert not Vote.objects.exists()


def test_a_participant_does_not_manage(client, voting, annotator):
    client.force_login(annotator)
    assert client.get(f"{BASE}/{voting.pk}/manage/").status_code == 404
    assert client.get(f"{BASE}/{voting.pk}/graph.json").status_code == 404
    assert client.post(f"{BASE}/manage/new/", {"campaign": voting.campaign_id, "name": "x",
                                               "question": "q"}).status_code == 403


def test_a_manager_creates_a_deliberation_and_reviews_contexts(client, campaign, manager, tiny_endpoint):
    client.force_login(manager)
    response = client.post(f"{BASE}/manage/new/", {"campaign": campaign.pk, "name": "Parenting",
                                                     "question": "My son refuses homework. What now?",
                                                     "contexts": "When in conflict\n\nWhen seeking motivation"})
    deliberation = Deliberation.objects.get(name="Parenting")
    assert response["Location"] == f"{BASE}/{deliberation.pk}/manage/"
    assert list(deliberation.contexts.values_list("text", "status")) == [
        ("When in conflict", "approved"), ("When seeking motivation", "approved")]
    client.post(f"{BASE}/{deliberation.pk}/manage/contexts/", {"text": "not a context"})
    assert deliberation.contexts.count() == 2
    proposed = Context.objects.create(deliberation=deliberation, text="When tired", status="proposed",
                                      source="model")
    page = client.get(f"{BASE}/{deliberation.pk}/manage/").content.decode()
    assert "When tired" in page and "Approve" in page
    client.post(f"{BASE}/{deliberation.pk}/manage/contexts/{proposed.pk}/approve/")
    assert Context.objects.get(pk=proposed.pk).status == "approved"


def test_the_model_host_proposes_contexts_that_wait_for_approval(client, deliberation, manager, settings):
    settings.MODELHOST_STREAM_VIA = "inprocess"
    client.force_login(manager)
    fragment = client.post(f"{BASE}/{deliberation.pk}/manage/contexts/propose/").content.decode()
    assert "/manage/contexts/proposals/" in fragment
    url = fragment.split('sse-connect="')[1].split('"')[0]
    body = b"".join(client.get(url).streaming_content).decode()
    # The tiny model writes random text: no usable line, and the manager is told so.
    assert "event: status" in body and "no usable" in body
    assert not deliberation.contexts.filter(status="proposed").exists()


def test_the_manager_sees_the_graph_and_downloads_it(client, voting, participant, other_participant, manager):
    for voter in (participant, other_participant):
        for story in voting.contexts.get(text="When in distress").stories.filter(from_card__title="Faith in People"):
            Vote.objects.create(participant=voter, context=story.context, from_card=story.from_card,
                                to_card=story.to_card, relationship="upgrade", created_at=story.created_at)
    client.force_login(manager)
    page = client.get(f"{BASE}/{voting.pk}/graph/").content.decode()
    assert "<svg" in page and "Embodied Justice" in page and "2 wiser, 0 not wiser" in page
    data = json.loads(client.get(f"{BASE}/{voting.pk}/graph.json").content)
    assert [(e["contexts"], e["counts"]["markedWiser"]) for e in data["edges"]] == [(["When in distress"], 2)]
    assert {v["title"] for v in data["values"]} == {"Faith in People", "Embodied Justice"}
    assert "annotator" not in json.dumps(data) and "anna" not in json.dumps(data)  # participants stay anonymous
    compat = client.get(f"{BASE}/{voting.pk}/graph.json?compat=mai-2023&context=When+in+distress")
    assert json.loads(compat.content)["edges"][0]["summary"].keys() == {"wiserLikelihood", "entropy"}
    assert b"<graphml" in client.get(f"{BASE}/{voting.pk}/graph.graphml").content
    assert client.get(f"{BASE}/{voting.pk}/graph.json?compat=other").status_code == 404
    assert client.get(f"{BASE}/{voting.pk}/graph/?until=2023-01-01T00:00:00%2B00:00").status_code == 200


def test_the_survey_answers_add_up_to_the_papers_two_figures(client, deliberation, participant, manager):
    interview = interview_start(participant=participant)
    card_update(interview=interview, source="participant", **card_fields("Listening First"))
    client.force_login(participant.user)
    client.post(f"{BASE}/interviews/{interview.pk}/submit/", {"card_captures": "yes"})
    assert Interview.objects.get(pk=interview.pk).card_captures == "yes"
    page = client.get(f"{BASE}/{deliberation.pk}/vote/").content.decode()
    assert "Listening First</strong> has no certain edge" in page and "Is the way values are ranked fair" in page
    assert "Thank you." in client.post(f"{BASE}/{deliberation.pk}/survey/", {"graph_fair": "no"}).content.decode()
    assert "Answer one of" in client.post(f"{BASE}/{deliberation.pk}/survey/", {"graph_fair": "?"}).content.decode()
    client.force_login(manager)
    survey = client.get(f"{BASE}/{deliberation.pk}/manage/").content.decode().split('id="survey"')[1]
    assert "<strong>100.0%</strong> (1 of 1)" in survey and "<strong>0.0%</strong> (0 of 1)" in survey


def test_the_manager_asks_for_stories_and_follows_the_job(client, voting, manager):
    client.force_login(manager)
    response = client.post(f"{BASE}/{voting.pk}/manage/pairs/stories/")
    assert response.status_code == 302 and response["Location"].startswith("/models/jobs/")
