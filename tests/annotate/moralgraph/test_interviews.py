"""The interview runs on the real (tiny, random) model: its replies are garbage, so the participant's own card
is the path that must always work; a reply holding a card JSON block updates the card."""

import json

import pytest

from annotate.moralgraph.models import CardVersion, Interview, Message
from annotate.moralgraph.prompts import INTERVIEWER, INTERVIEWER_VERSION, prompt_hash
from annotate.moralgraph.services.interviews import interview_reply_finish, interview_start
from modelhost.models import ModelEndpoint, StreamedReply
from tests.annotate.moralgraph.conftest import QUESTION, card_fields


@pytest.fixture(autouse=True)
def in_process(settings):
    settings.MODELHOST_STREAM_VIA = "inprocess"  # the embedded default: the web process runs the model


def stream(client, message_id: int) -> str:
    response = client.get(f"/annotate/moralgraph/messages/{message_id}/stream/")
    assert response["Content-Type"] == "text/event-stream"
    return b"".join(response.streaming_content).decode()


def test_an_interview_opens_with_a_question_and_keeps_its_provenance(participant, tiny_endpoint):
    interview = interview_start(participant=participant)
    assert interview.endpoint == tiny_endpoint and interview.prompt_version == INTERVIEWER_VERSION
    assert interview.prompt_hash == prompt_hash(INTERVIEWER.format(question=QUESTION))
    assert QUESTION in interview.messages.get().content


def test_a_turn_streams_from_the_model_and_the_transcript_keeps_it(client, participant):
    interview = interview_start(participant=participant)
    client.force_login(participant.user)
    fragment = client.post(f"/annotate/moralgraph/interviews/{interview.pk}/messages/",
                           {"text": "My aunt listened before she advised."}).content.decode()
    message = Message.objects.filter(role="assistant").last()
    assert f"/annotate/moralgraph/messages/{message.pk}/stream/" in fragment
    assert "My aunt listened" in fragment

    body = stream(client, message.pk)
    assert "event: token" in body and "event: done" in body
    message.refresh_from_db()
    assert message.content == message.reply.text and message.content  # random text, but kept
    sent = message.reply.messages
    assert sent[0]["role"] == "system" and sent[-1] == {"role": "user",
                                                        "content": "My aunt listened before she advised."}
    assert not hasattr(Interview.objects.get(pk=interview.pk), "card")  # garbage proposes no card
    assert stream(client, message.pk).count("event: token") == 1  # a reconnect resends, never reruns


def test_a_failed_reply_offers_a_retry_and_the_participant_still_writes_the_card(
        client, participant, deliberation, tmp_path, settings):
    settings.MODELHOST_MODEL_DIRS = [str(tmp_path)]
    deliberation.endpoint = ModelEndpoint.objects.create(name="broken", model=str(tmp_path / "missing"),
                                                         device="cpu")
    deliberation.save()
    interview = interview_start(participant=participant)
    client.force_login(participant.user)
    client.post(f"/annotate/moralgraph/interviews/{interview.pk}/messages/", {"text": "A story."})
    message = Message.objects.filter(role="assistant").last()
    body = stream(client, message.pk)
    assert "Retry" in body and f"/annotate/moralgraph/messages/{message.pk}/retry/" in body
    assert StreamedReply.objects.get(pk=message.reply_id).status == "failed"

    retried = client.post(f"/annotate/moralgraph/messages/{message.pk}/retry/").content.decode()
    message.refresh_from_db()
    assert f"/annotate/moralgraph/messages/{message.pk}/stream/" in retried
    assert StreamedReply.objects.filter(pk=message.reply_id, status="queued").exists()

    fields = card_fields("Listening First")
    panel = client.post(f"/annotate/moralgraph/interviews/{interview.pk}/card/",
                        {**fields, "policies": "\n".join(fields["policies"])}).content.decode()
    assert "Card saved." in panel and "Listening First" in panel
    response = client.post(f"/annotate/moralgraph/interviews/{interview.pk}/submit/")
    assert response.status_code == 302 and response["Location"].endswith(f"/{deliberation.pk}/vote/")
    assert Interview.objects.get(pk=interview.pk).status == "submitted"
    assert [turn.role for turn in interview.messages.all()] == ["assistant", "user", "assistant"]


def test_a_bad_card_edit_shows_what_is_wrong_and_keeps_the_typing(client, participant):
    interview = interview_start(participant=participant)
    client.force_login(participant.user)
    panel = client.post(f"/annotate/moralgraph/interviews/{interview.pk}/card/",
                        {"title": "Mine", "description": "One line.", "policies": "love and openness"}).content
    assert b"must start with a capitalised plural noun" in panel and b"love and openness" in panel
    assert client.post(f"/annotate/moralgraph/interviews/{interview.pk}/submit/").status_code == 302
    assert Interview.objects.get(pk=interview.pk).status == "open"  # no card, no submit


def test_a_reply_with_a_card_block_becomes_the_next_card_version(participant, tiny_endpoint):
    interview = interview_start(participant=participant)
    card = card_fields("Faith in People")
    reply = StreamedReply.objects.create(endpoint=tiny_endpoint, messages=[], status="done",
                                         text=f"Here is a try:\n```json\n{json.dumps(card)}\n```")
    message = Message.objects.create(interview=interview, role="assistant", reply=reply)
    assert interview_reply_finish(message=message) is True
    assert interview_reply_finish(message=message) is False  # once per reply
    assert list(CardVersion.objects.values_list("source", "title")) == [("model", "Faith in People")]


def test_nobody_else_reads_or_writes_an_interview(client, participant, other_annotator, outsider):
    interview = interview_start(participant=participant)
    message = interview.messages.get()
    for user in (other_annotator, outsider):
        client.force_login(user)
        assert client.get(f"/annotate/moralgraph/interviews/{interview.pk}/").status_code == 404
        assert client.post(f"/annotate/moralgraph/interviews/{interview.pk}/messages/",
                           {"text": "hi"}).status_code == 404
        assert client.post(f"/annotate/moralgraph/interviews/{interview.pk}/card/", {}).status_code == 404
        assert client.get(f"/annotate/moralgraph/messages/{message.pk}/stream/").status_code == 404


def test_the_interviewer_revises_the_card_as_the_participant_left_it(client, participant):
    interview = interview_start(participant=participant)
    client.force_login(participant.user)
    fields = card_fields("Listening First")
    client.post(f"/annotate/moralgraph/interviews/{interview.pk}/card/",
                {**fields, "policies": "\n".join(fields["policies"])})
    client.post(f"/annotate/moralgraph/interviews/{interview.pk}/messages/", {"text": "Make it shorter."})
    system = Message.objects.filter(role="assistant").last().reply.messages[0]["content"]
    assert system.startswith(INTERVIEWER.format(question=QUESTION))
    assert system.endswith(json.dumps(fields, ensure_ascii=False))
