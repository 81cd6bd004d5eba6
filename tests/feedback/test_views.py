import json

import pytest

from feedback.models import Conversation, ConversationImport
from feedback.services.conversations import conversation_create, messages_add
from feedback.services.feedback import feedback_submit
from feedback.services.imports import conversations_import


@pytest.fixture
def chat(annotator, tiny_endpoint):
    """A chat with a regenerated reply (two branches) and feedback preferring the second."""
    conversation = conversation_create(owner=annotator, endpoint=tiny_endpoint)
    (question,) = messages_add(conversation=conversation, parent=None,
                               messages=[{"role": "user", "content": "Mail me at ann@example.org <script>x</script>"}])
    first, second = (messages_add(conversation=conversation, parent=question,
                                  messages=[{"role": "assistant", "content": text}])[0]
                     for text in ("**Sure**", "Right away"))
    feedback_submit(message=second, author=annotator, thumb="up", reasons=["helpful"], better_than=first)
    return conversation


def test_a_manager_sees_chats_and_imported_logs_side_by_side(client, manager, chat, tmp_path):
    log = tmp_path / "wildchat.jsonl"
    log.write_text(json.dumps({"conversation_id": "w-42", "model": "gpt-4", "timestamp": "2023-04-09T00:02:53Z",
                               "conversation": [{"role": "user", "content": "Hi"}]}) + "\n")
    conversations_import(path=log, owner=manager)
    client.force_login(manager)
    page = client.get("/feedback/conversations/").content.decode()
    assert f"#{chat.pk}" in page and "w-42" in page and "Chat API" in page and "Imported log" in page

    only_imports = client.get("/feedback/conversations/?source=import").content.decode()
    assert "w-42" in only_imports and f"#{chat.pk}</a>" not in only_imports
    rated = client.get("/feedback/conversations/?has_feedback=true").content.decode()
    assert f"#{chat.pk}" in rated and "w-42" not in rated


def test_the_conversation_view_shows_branches_and_feedback_sanitised(client, manager, chat):
    client.force_login(manager)
    page = client.get(f"/feedback/conversations/{chat.pk}/").content.decode()
    assert "[EMAIL]" in page and "ann@example.org" not in page
    assert "<script>" not in page and "<strong>Sure</strong>" in page
    assert "branch&nbsp;1/2" in page and "branch&nbsp;2/2" in page
    assert "Thumbs up" in page and "better than" in page and "helpful" in page


def test_annotators_and_outsiders_have_no_access(client, annotator, outsider, chat):
    for person in (annotator, outsider):
        client.force_login(person)
        assert client.get("/feedback/conversations/").status_code == 403
        assert client.get(f"/feedback/conversations/{chat.pk}/").status_code == 403
        assert client.get("/feedback/imports/").status_code == 403


def test_a_manager_uploads_a_small_log_imported_at_once(client, manager, tmp_path):
    client.force_login(manager)
    log = tmp_path / "share.jsonl"
    log.write_text(json.dumps({"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Yo"}]})
                   + "\n")
    with log.open("rb") as upload:
        response = client.post("/feedback/imports/", {"file": upload, "format": "auto"}, follow=True)
    assert "1 conversation(s) imported" in response.content.decode()
    assert Conversation.objects.get().source == "import"


def test_an_upload_with_a_bad_line_shows_the_line_and_imports_nothing(client, manager, tmp_path):
    client.force_login(manager)
    log = tmp_path / "bad.jsonl"
    log.write_text('{"messages": [{"role": "user", "content": "ok"}]}\n{"messages": 3}\n')
    with log.open("rb") as upload:
        page = client.post("/feedback/imports/", {"file": upload, "format": "auto"}).content.decode()
    assert "line 2: jsonl: the message list is missing or empty" in page
    assert not Conversation.objects.exists()


def test_a_large_upload_becomes_a_background_import_with_progress(client, manager, tmp_path, settings,
                                                                  django_capture_on_commit_callbacks):
    settings.FEEDBACK_IMPORT_INLINE_BYTES = 10
    client.force_login(manager)
    log = tmp_path / "big.jsonl"
    log.write_text(json.dumps({"messages": [{"role": "user", "content": "a long enough line"}]}) + "\n")
    with django_capture_on_commit_callbacks() as callbacks, log.open("rb") as upload:
        client.post("/feedback/imports/", {"file": upload, "format": "auto"})
    assert len(callbacks) == 1
    run = ConversationImport.objects.get()
    fragment = client.get("/feedback/imports/", HTTP_HX_REQUEST="true").content.decode()
    assert "big.jsonl" in fragment and 'hx-trigger="every 1s"' in fragment and "<html" not in fragment
    assert run.status == "queued"
