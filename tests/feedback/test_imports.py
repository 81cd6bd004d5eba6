import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from feedback.models import Conversation, Message
from feedback.services.imports import (
    MAX_LINE_BYTES,
    conversation_import_create,
    conversation_import_run,
    conversations_import,
)

OURS = {"id": "c1", "model": "gpt-x", "metadata": {"topic": "math"},
        "messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "2+2?"},
                     {"role": "assistant", "content": "4"}]}
SHAREGPT = {"id": "s1", "conversations": [{"from": "human", "value": "Hi, I'm bob@example.com"},
                                          {"from": "gpt", "value": "Hello Bob"}]}
WILDCHAT = {"conversation_id": "w1", "model": "gpt-4", "timestamp": "2023-04-09 00:02:53+00:00", "language": "English",
            "hashed_ip": "abc", "conversation": [{"role": "user", "content": "Write a poem", "country": "France"},
                                                 {"role": "assistant", "content": "Roses..."},
                                                 {"role": "user", "content": "Shorter!"}]}


def write(tmp_path, *records, name="log.jsonl") -> object:
    path = tmp_path / name
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def test_the_three_layouts_import_in_one_file(tmp_path, manager):
    result = conversations_import(path=write(tmp_path, OURS, "", SHAREGPT, WILDCHAT), owner=manager)
    assert (result.created, result.duplicates, result.lines) == (3, 0, 4)

    ours = Conversation.objects.get(external_id="c1")
    assert ours.source == "import" and ours.model_name == "gpt-x" and ours.metadata == {"topic": "math"}
    assert [(m.index, m.role, m.content) for m in ours.messages.all()] == [
        (0, "system", "Be kind."), (1, "user", "2+2?"), (2, "assistant", "4")]
    assert ours.messages.get(index=2).parent == ours.messages.get(index=1)

    sharegpt = Conversation.objects.get(external_id="s1")
    assert [m.role for m in sharegpt.messages.all()] == ["user", "assistant"]
    assert sharegpt.messages.first().content == "Hi, I'm [EMAIL]" and sharegpt.pii_counts == {"email": 1}
    assert sharegpt.messages.first().raw_content == ""  # no consent to keep it

    wildchat = Conversation.objects.get(external_id="w1")
    assert wildchat.started_at.isoformat() == "2023-04-09T00:02:53+00:00"
    assert wildchat.metadata == {"language": "English"}  # the hashed IP is not kept
    assert wildchat.messages.filter(role="assistant").get().model_name == "gpt-4"


def test_importing_the_same_file_twice_adds_nothing(tmp_path, manager):
    path = write(tmp_path, OURS, SHAREGPT, OURS)
    first = conversations_import(path=path, owner=manager)
    second = conversations_import(path=path, owner=manager)
    assert (first.created, first.duplicates) == (2, 1)
    assert (second.created, second.duplicates) == (0, 3)
    assert Conversation.objects.count() == 2 and Message.objects.count() == 5


def test_a_file_with_bad_lines_imports_nothing_and_names_every_bad_line(tmp_path, manager):
    path = write(tmp_path, OURS, "{not json", {"messages": []}, {"conversations": [{"from": "robot", "value": "x"}]},
                 {"conversation": [{"role": "user", "content": 5}]}, ["a list"], {"prompt": "what layout?"})
    with pytest.raises(ValidationError) as error:
        conversations_import(path=path, owner=manager)
    messages = error.value.messages
    assert messages[0].startswith("line 2: not valid JSON")
    assert messages[1] == "line 3: jsonl: the message list is missing or empty"
    assert messages[2] == "line 4: message 1: from must be one of assistant, gpt, human, system, user"
    assert messages[3] == "line 5: message 1: content must be text"
    assert messages[4] == "line 6: a line must hold a JSON object"
    assert messages[5].startswith("line 7: no \"messages\" (ours)")
    assert messages[-1] == "6 bad line(s); nothing imported."
    assert not Conversation.objects.exists()


def test_a_forced_format_checks_every_line_against_it(tmp_path, manager):
    with pytest.raises(ValidationError, match="line 1: sharegpt: the message list is missing"):
        conversations_import(path=write(tmp_path, OURS), owner=manager, format="sharegpt")


def test_a_huge_line_is_refused_without_being_parsed(tmp_path, manager):
    huge = json.dumps({"messages": [{"role": "user", "content": "x" * MAX_LINE_BYTES}]})
    with pytest.raises(ValidationError, match=f"line 2: longer than {MAX_LINE_BYTES} bytes"):
        conversations_import(path=write(tmp_path, OURS, huge), owner=manager)
    assert not Conversation.objects.exists()


def test_consent_keeps_the_raw_text_beside_the_scrubbed_one(tmp_path, manager):
    conversations_import(path=write(tmp_path, SHAREGPT), owner=manager, consent_raw=True)
    first = Message.objects.get(index=0)
    assert first.content == "Hi, I'm [EMAIL]" and first.raw_content == "Hi, I'm bob@example.com"


def test_the_command_imports_and_reports(tmp_path, admin_user, capsys):
    call_command("import_conversations", str(write(tmp_path, WILDCHAT)), "--format", "wildchat")
    assert "1 conversation(s) imported, 0 duplicate(s) skipped" in capsys.readouterr().out
    assert Conversation.objects.get().owner == admin_user
    with pytest.raises(CommandError, match="line 1: wildchat: the message list is missing"):
        call_command("import_conversations", str(write(tmp_path, OURS, name="b.jsonl")), "--format", "wildchat")


def test_an_uploaded_file_is_queued_on_the_default_queue_and_its_run_records_the_outcome(
        tmp_path, manager, django_capture_on_commit_callbacks):
    from config.celery import app
    from core.queues import Queue
    from feedback.tasks import conversation_import_run as task

    with django_capture_on_commit_callbacks() as callbacks:
        run = conversation_import_create(path=write(tmp_path, OURS, SHAREGPT), filename="log.jsonl",
                                         format="auto", by=manager)
    assert len(callbacks) == 1 and app.amqp.router.route({}, task.name)["queue"].name == Queue.DEFAULT

    conversation_import_run(import_id=run.pk)
    conversation_import_run(import_id=run.pk)  # a redelivered message does nothing more
    run.refresh_from_db()
    assert (run.status, run.created, run.duplicates, run.lines_checked) == ("done", 2, 0, 2)
    assert Conversation.objects.count() == 2

    bad = conversation_import_create(path=write(tmp_path, "oops", name="bad.jsonl"), filename="bad.jsonl",
                                     format="auto", by=manager)
    conversation_import_run(import_id=bad.pk)
    bad.refresh_from_db()
    assert bad.status == "failed" and bad.error.startswith("line 1: not valid JSON")


def test_text_no_database_can_store_is_a_line_error_and_nothing_is_imported(tmp_path, manager):
    path = write(tmp_path, OURS, '{"messages": [{"role": "user", "content": "bad \\ud800 text"}]}',
                 {"messages": [{"role": "user", "content": "ok"}], "metadata": {"score": float("nan")}})
    with pytest.raises(ValidationError) as error:
        conversations_import(path=path, owner=manager)
    assert "line 2: " in error.value.messages[0] and "lone surrogate" in error.value.messages[0]
    assert "line 3: " in error.value.messages[1] and "not a JSON number" in error.value.messages[1]
    assert not Conversation.objects.exists()


def test_imported_rows_take_ids_no_deleted_row_had_and_chats_after_them_get_fresh_ones(tmp_path, manager):
    from feedback.services.conversations import conversation_create, conversation_delete, messages_add

    conversations_import(path=write(tmp_path, OURS), owner=manager)
    first = Conversation.objects.get()
    first_id, last_message = first.pk, Message.objects.order_by("-id").first().pk
    conversation_delete(conversation=first)

    conversations_import(path=write(tmp_path, SHAREGPT, name="b.jsonl"), owner=manager)
    again = Conversation.objects.get()
    assert again.pk > first_id and min(m.pk for m in again.messages.all()) > last_message

    chat = conversation_create(owner=manager)
    user, reply = messages_add(conversation=chat, parent=None, messages=[
        {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}])
    assert chat.pk > again.pk and reply.parent == user and user.pk > max(m.pk for m in again.messages.all())
