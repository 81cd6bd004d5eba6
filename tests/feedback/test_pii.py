import pytest

from feedback.pii import scrub


@pytest.mark.parametrize("text, scrubbed, kind", [
    ("write to bob.smith@example.co.uk today", "write to [EMAIL] today", "email"),
    ("call +1 (555) 123-4567", "call [PHONE]", "phone"),
    ("or 555-123-4567 at home", "or [PHONE] at home", "phone"),
    ("London: +44 20 7946 0958", "London: [PHONE]", "phone"),
    ("my card is 4111 1111 1111 1111", "my card is [CARD]", "card"),
    ("amex 3782-822463-10005", "amex [CARD]", "card"),
    ("server at 192.168.10.254.", "server at [IP].", "ip"),
    ("v6 2001:db8::8a2e:370:7334 here", "v6 [IP] here", "ip"),
    ("https://api.example.com/v1?api_key=sk-abc123&q=cats", "https://api.example.com/v1?api_key=[SECRET]&q=cats",
     "secret"),
    ("clone https://bob:hunter2@git.example.com/repo", "clone https://[SECRET]@git.example.com/repo", "secret"),
])
def test_each_kind_of_pii_is_replaced_and_counted(text, scrubbed, kind):
    assert scrub(text) == (scrubbed, {kind: 1})


@pytest.mark.parametrize("text", [
    "4111 1111 1111 1112 fails the Luhn check",
    "on 2024-10-17 at 10:30:00 I paid 1500 dollars",
    "version 1.2.3 and 999.1.1.1 is no address",
    "see https://example.com/search?q=token&page=2",
    "a ratio of 3:4, the year 2024 and the number 123456",
])
def test_ordinary_text_is_left_alone(text):
    assert scrub(text) == (text, {})


def test_a_message_with_several_kinds_counts_each():
    text, found = scrub("a@b.io, c@d.io, 10.0.0.1 and 4111111111111111")
    assert text == "[EMAIL], [EMAIL], [IP] and [CARD]"
    assert found == {"email": 2, "ip": 1, "card": 1}


def test_chats_are_scrubbed_before_they_are_stored_and_counted_per_conversation(api_as, annotator, tiny_endpoint):
    from feedback.models import Conversation, Message

    app = api_as(annotator)
    conversation = app.post("/api/v1/conversations", {"consent_raw": False}, format="json").json()
    app.post(f"/api/v1/conversations/{conversation['id']}/messages", {"content": "I am ann@example.org, 10.0.0.1"},
             format="json")
    question = Message.objects.get(role="user")
    assert question.content == "I am [EMAIL], [IP]" and question.raw_content == ""
    assert Conversation.objects.get().pii_counts == {"email": 1, "ip": 1}

    kept = app.post("/api/v1/conversations", {"consent_raw": True}, format="json").json()
    app.post(f"/api/v1/conversations/{kept['id']}/messages", {"content": "ann@example.org"}, format="json")
    assert Message.objects.get(conversation_id=kept["id"], role="user").raw_content == "ann@example.org"
