"""The native chat API end to end, with the tiny model answering in this process."""

import json

import pytest

from feedback.models import Conversation, Feedback, Message
from modelhost.messages import storable  # PostgreSQL holds no NUL: random model text may have one


@pytest.fixture
def app(api_as, annotator, tiny_endpoint):
    return api_as(annotator)


def start(app, **fields) -> dict:
    response = app.post("/api/v1/conversations", {"model": "tiny", **fields}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def say(app, conversation_id: int, content: str, **fields) -> dict:
    response = app.post(f"/api/v1/conversations/{conversation_id}/messages", {"content": content, **fields},
                        format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_an_application_chats_regenerates_and_leaves_feedback(app, annotator):
    conversation = start(app, system="You are terse.", metadata={"app": "demo"})
    first = say(app, conversation["id"], "Hello", max_tokens=4)
    reply = first["replies"][0]
    assert reply["role"] == "assistant" and reply["parent"] == first["message"]["id"] and reply["model"] == "tiny"
    assert reply["completion_tokens"] <= 4 and reply["finish_reason"] in {"stop", "length"}

    regenerated = app.post(f"/api/v1/messages/{reply['id']}/regenerate", {"temperature": 1.0}, format="json").json()
    assert regenerated["parent"] == reply["parent"] and regenerated["id"] != reply["id"]

    feedback = app.post(f"/api/v1/messages/{regenerated['id']}/feedback",
                        {"thumb": "up", "reasons": ["helpful"], "rating": 5, "comment": "Better.",
                         "better_than": reply["id"]}, format="json")
    assert feedback.status_code == 201
    assert Feedback.objects.get().better_than_id == reply["id"]

    detail = app.get(f"/api/v1/conversations/{conversation['id']}").json()
    assert [m["role"] for m in detail["messages"]] == ["system", "user", "assistant", "assistant"]
    assert detail["messages"][3]["feedback"][0]["rating"] == 5


def test_the_next_message_follows_the_latest_branch_unless_a_parent_is_named(app):
    conversation = start(app)
    first = say(app, conversation["id"], "One")
    second = say(app, conversation["id"], "Two")
    assert second["message"]["parent"] == first["replies"][0]["id"] and second["message"]["index"] == 2
    edited = say(app, conversation["id"], "Two, said otherwise", parent=first["replies"][0]["id"])
    assert edited["message"]["parent"] == first["replies"][0]["id"]
    assert Message.objects.filter(parent_id=first["replies"][0]["id"]).count() == 2


def test_a_reply_streams_as_server_sent_events(app):
    conversation = start(app)
    response = app.post(f"/api/v1/conversations/{conversation['id']}/messages",
                        {"content": "Hi", "stream": True}, format="json")
    assert response["Content-Type"] == "text/event-stream"
    events = [block.split("\n", 1) for block in b"".join(response.streaming_content).decode().strip().split("\n\n")]
    names = [name.removeprefix("event: ") for name, _ in events]
    assert names[0] == "message" and names[-1] == "done" and set(names[1:-1]) == {"token"}
    done = json.loads(events[-1][1].removeprefix("data: "))
    tokens = "".join(json.loads(data.removeprefix("data: "))["content"] for _, data in events[1:-1])
    assert done["role"] == "assistant" and done["content"] == storable(tokens)
    assert Message.objects.get(pk=done["id"]).content == storable(tokens)


def test_the_list_is_paginated_and_filters_by_model_date_and_feedback(app):
    rated, plain = start(app), start(app)
    reply = say(app, rated["id"], "Hi")["replies"][0]
    app.post(f"/api/v1/messages/{reply['id']}/feedback", {"thumb": "down", "reasons": ["too_short"]}, format="json")

    page = app.get("/api/v1/conversations").json()
    assert page["count"] == 2 and [c["id"] for c in page["results"]] == [plain["id"], rated["id"]]
    assert [c["id"] for c in app.get("/api/v1/conversations?has_feedback=true").json()["results"]] == [rated["id"]]
    assert [c["id"] for c in app.get("/api/v1/conversations?has_feedback=false").json()["results"]] == [plain["id"]]
    assert app.get("/api/v1/conversations?model=other").json()["count"] == 0
    assert app.get("/api/v1/conversations?since=2999-01-01T00:00:00Z").json()["count"] == 0
    assert app.get("/api/v1/conversations?page_size=1").json()["next"].endswith("page=2&page_size=1")


def test_deleting_a_conversation_removes_every_message_and_feedback(app):
    conversation = start(app, system="Rules.")
    reply = say(app, conversation["id"], "Hi")["replies"][0]
    app.post(f"/api/v1/messages/{reply['id']}/regenerate", {}, format="json")
    app.post(f"/api/v1/messages/{reply['id']}/feedback", {"thumb": "up"}, format="json")

    assert app.delete(f"/api/v1/conversations/{conversation['id']}").status_code == 204
    assert not Conversation.objects.exists() and not Message.objects.exists() and not Feedback.objects.exists()


def test_another_users_conversation_and_messages_are_not_found(app, api_as, outsider, manager):
    conversation = start(app)
    reply = say(app, conversation["id"], "Hi")["replies"][0]
    for stranger in (outsider, manager):  # a manager's API key is an application like any other
        other = api_as(stranger)
        assert other.get(f"/api/v1/conversations/{conversation['id']}").status_code == 404
        assert other.post(f"/api/v1/conversations/{conversation['id']}/messages", {"content": "x"},
                          format="json").status_code == 404
        assert other.post(f"/api/v1/messages/{reply['id']}/regenerate", {}, format="json").status_code == 404
        assert other.post(f"/api/v1/messages/{reply['id']}/feedback", {"thumb": "up"},
                          format="json").status_code == 404
        assert other.delete(f"/api/v1/conversations/{conversation['id']}").status_code == 404
        assert other.get("/api/v1/conversations").json()["count"] == 0
    assert Message.objects.count() == 2


def test_feedback_is_checked(app):
    conversation = start(app)
    posted = say(app, conversation["id"], "Hi")
    question, reply = posted["message"], posted["replies"][0]
    on_question = app.post(f"/api/v1/messages/{question['id']}/feedback", {"thumb": "up"}, format="json")
    assert on_question.status_code == 400 and "assistant message" in str(on_question.json())
    empty = app.post(f"/api/v1/messages/{reply['id']}/feedback", {}, format="json")
    assert empty.status_code == 400
    assert app.post(f"/api/v1/messages/{reply['id']}/feedback", {"rating": 6}, format="json").status_code == 400
    not_sibling = app.post(f"/api/v1/messages/{reply['id']}/feedback", {"better_than": question["id"]},
                           format="json")
    assert not_sibling.status_code == 400 and "same message" in str(not_sibling.json())


def test_max_tokens_is_capped_by_the_endpoint(app, settings):
    settings.FEEDBACK_MAX_TOKENS = 3
    conversation = start(app)
    assert say(app, conversation["id"], "Hi", max_tokens=200)["replies"][0]["completion_tokens"] <= 3


def test_a_conversation_needs_a_known_model_and_authentication(app, api_client):
    assert app.post("/api/v1/conversations", {"model": "nope"}, format="json").status_code == 404
    api_client.credentials()
    assert api_client.get("/api/v1/conversations").status_code == 401


def test_a_retention_past_any_storable_date_is_a_400_naming_the_field(app):
    response = app.post("/api/v1/conversations", {"model": "tiny", "retain_days": 3_165_447}, format="json")
    assert response.status_code == 400 and "retain_days" in response.json()
    assert not Conversation.objects.exists()
