from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from feedback.models import Conversation, Message
from feedback.services.conversations import conversation_create, messages_add


def test_conversations_past_their_retention_date_are_deleted_with_their_messages(annotator, capsys):
    expired = conversation_create(owner=annotator, retain_days=1)
    kept = conversation_create(owner=annotator, retain_days=30)
    forever = conversation_create(owner=annotator)
    for conversation in (expired, kept, forever):
        messages_add(conversation=conversation, parent=None,
                     messages=[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}])
    Conversation.objects.filter(pk=expired.pk).update(retain_until=timezone.now() - timedelta(seconds=1))

    call_command("expire_conversations")
    assert "1 conversation(s) deleted." in capsys.readouterr().out
    assert set(Conversation.objects.values_list("pk", flat=True)) == {kept.pk, forever.pk}
    assert not Message.objects.filter(conversation_id=expired.pk).exists() and Message.objects.count() == 4
