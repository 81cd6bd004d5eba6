"""The official openai client, unchanged, against a live server: base_url = the app's /v1."""

import openai
import pytest

from feedback.models import Conversation, Message
from modelhost.messages import storable  # PostgreSQL holds no NUL: random model text may have one

pytestmark = pytest.mark.django_db(transaction=True)  # the live server thread reads committed rows


@pytest.fixture
def client(live_server, annotator, api_key, tiny_endpoint):
    return openai.OpenAI(base_url=f"{live_server.url}/v1", api_key=api_key(annotator), max_retries=0)


def test_the_openai_client_lists_the_endpoints_as_models(client, tiny_endpoint):
    assert [model.id for model in client.models.list()] == ["tiny"]
    assert client.models.retrieve("tiny").owned_by == "concord"


def test_a_chat_completion_answers_in_openai_shape_and_is_logged_as_a_conversation(client, annotator):
    completion = client.chat.completions.create(
        model="tiny", messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        max_tokens=5, temperature=0.7, top_p=0.9, seed=3, user="end-user-7",
    )
    assert completion.object == "chat.completion" and completion.id.startswith("chatcmpl-")
    (choice,) = completion.choices
    assert choice.message.role == "assistant" and choice.finish_reason in {"stop", "length"}
    assert 1 <= completion.usage.completion_tokens <= 5
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens

    conversation = Conversation.objects.get()
    assert conversation.owner == annotator and conversation.metadata == {"user": "end-user-7"}
    assert [(m.role, m.content) for m in conversation.messages.order_by("index")] == [
        ("system", "Be brief."), ("user", "Hi"), ("assistant", storable(choice.message.content))]


def test_the_same_seed_gives_the_same_reply(client):
    def ask():
        return client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Hi"}],
                                              seed=11, temperature=1.0).choices[0].message.content

    assert ask() == ask()


def test_n_choices_are_stored_as_sibling_branches(client):
    completion = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Hi"}], n=3)
    assert [choice.index for choice in completion.choices] == [0, 1, 2]
    question = Message.objects.get(role="user")
    assert question.children.count() == 3


def test_a_streamed_completion_arrives_in_chunks_and_ends_like_openai(client):
    stream = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Hi"}],
                                            stream=True, stream_options={"include_usage": True}, max_tokens=6)
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    finish = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices and chunk.choices[0].finish_reason]
    assert finish in (["stop"], ["length"])
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens >= 1
    assert Message.objects.get(role="assistant").content == storable(text)


def test_a_streamed_reply_counts_its_tokens_as_exactly_as_a_whole_reply(client):
    """The tokens are counted by the model's tokenizer where they are made, streamed or not: the same seed gives
    the same reply and the same usage both ways, and the stored message keeps those counts."""
    ask = {"model": "tiny", "messages": [{"role": "system", "content": "Count well."},
                                         {"role": "user", "content": "How many tokens is this prompt?"}],
           "max_tokens": 12, "temperature": 1.0, "seed": 5}
    whole = client.chat.completions.create(**ask)
    chunks = list(client.chat.completions.create(**ask, stream=True, stream_options={"include_usage": True}))
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    finish = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices and chunk.choices[0].finish_reason]
    assert text == whole.choices[0].message.content and finish == [whole.choices[0].finish_reason]
    assert chunks[-1].usage.model_dump() == whole.usage.model_dump()
    assert whole.usage.prompt_tokens > 10  # the chat template's tokens too, not only the words
    streamed = Message.objects.filter(role="assistant").latest("id")
    assert (streamed.prompt_tokens, streamed.completion_tokens, streamed.finish_reason) == (
        whole.usage.prompt_tokens, whole.usage.completion_tokens, whole.choices[0].finish_reason)


def test_a_conversation_id_continues_the_conversation_with_only_the_new_turn(client):
    first = client.chat.completions.with_raw_response.create(
        model="tiny", messages=[{"role": "user", "content": "Hi"}])
    conversation_id = first.headers["X-Conversation-Id"]
    reply = first.parse().choices[0].message.content
    client.chat.completions.create(
        model="tiny", metadata={"conversation_id": conversation_id},
        messages=[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": reply},
                  {"role": "user", "content": "And then?"}],
    )
    client.chat.completions.create(  # the header works too, streaming as well
        model="tiny", extra_headers={"X-Conversation-Id": conversation_id}, stream=True,
        messages=[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": reply},
                  {"role": "user", "content": "Something else"}],
    ).close()
    conversation = Conversation.objects.get()
    assert conversation.messages.filter(role="user", index=0).count() == 1  # "Hi" stored once
    assert set(conversation.messages.filter(index=2).values_list("content", flat=True)) == {
        "And then?", "Something else"}  # two branches after the first reply


def test_someone_elses_conversation_id_is_not_found(client, live_server, api_key, outsider):
    first = client.chat.completions.with_raw_response.create(model="tiny",
                                                             messages=[{"role": "user", "content": "Hi"}])
    stranger = openai.OpenAI(base_url=f"{live_server.url}/v1", api_key=api_key(outsider), max_retries=0)
    with pytest.raises(openai.NotFoundError):
        stranger.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Hi"}],
                                         extra_headers={"X-Conversation-Id": first.headers["X-Conversation-Id"]})


def test_errors_come_back_in_openai_shape_with_the_right_status(client, live_server):
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="gpt-5", messages=[{"role": "user", "content": "Hi"}])
    assert missing.value.body["code"] == "model_not_found"

    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Hi"}], temperature=3)
    assert bad.value.body["param"] == "temperature" and bad.value.body["type"] == "invalid_request_error"

    wrong_key = openai.OpenAI(base_url=f"{live_server.url}/v1", api_key="ccd_nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as denied:
        wrong_key.models.list()
    assert denied.value.body["code"] == "invalid_api_key"
    assert not Conversation.objects.exists()


def test_too_many_requests_get_429_with_retry_after(client, settings):
    settings.FEEDBACK_REQUESTS_PER_MINUTE = 2
    for _ in range(2):
        client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Hi"}], max_tokens=2)
    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Hi"}])
    assert limited.value.body["code"] == "rate_limit_exceeded"
    assert 0 < int(limited.value.response.headers["Retry-After"]) <= 60
