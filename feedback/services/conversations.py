"""Writing conversations and their messages: everything stored passes through `message_add`'s scrubbing."""

import hashlib
import json
from collections import Counter
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from feedback.models import Conversation, Message
from feedback.pii import scrub
from modelhost.messages import storable
from modelhost.models import ModelEndpoint


def content_hash(messages: list[dict]) -> str:
    """SHA-256 of the roles and texts, the identity of an imported conversation."""
    canonical = json.dumps([[m["role"], m["content"]] for m in messages], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


MAX_RETAIN_DAYS = 36_500  # a century; past year 9999 a date cannot be stored


@transaction.atomic
def conversation_create(
    *,
    owner: User,
    endpoint: ModelEndpoint | None = None,
    consent_raw: bool = False,
    consent_research: bool = True,
    retain_days: int | None = None,
    metadata: dict | None = None,
) -> Conversation:
    return Conversation.objects.create(
        owner=owner, endpoint=endpoint, model_name=endpoint.name if endpoint else "", consent_raw=consent_raw,
        consent_research=consent_research, metadata=metadata or {}, started_at=timezone.now(),
        retain_until=timezone.now() + timedelta(days=retain_days) if retain_days else None,
    )


def message_build(*, conversation: Conversation, role: str, text: str, parent: Message | None,
                  counts: Counter, **fields) -> Message:
    """An unsaved message with its text scrubbed (raw kept only with consent); what was found adds to `counts`."""
    text = storable(text)
    clean, found = scrub(text)
    counts.update(found)
    return Message(
        conversation=conversation, parent=parent, index=parent.index + 1 if parent else 0, role=role,
        content=clean, raw_content=text if conversation.consent_raw and clean != text else "", **fields,
    )


@transaction.atomic
def messages_add(*, conversation: Conversation, parent: Message | None, messages: list[dict]) -> list[Message]:
    """Append a chain of messages ({role, content, and any Message field}) under `parent`, one after the other.

    Messages after the first need their parent's id, so they are saved one by one: chats add one or two at a time
    (imports build in bulk, see services/imports.py).
    """
    added, counts = [], Counter()
    for values in messages:
        values = dict(values)
        parent = message_build(conversation=conversation, role=values.pop("role"), text=values.pop("content"),
                               parent=parent, counts=counts, **values)
        parent.save()
        added.append(parent)
    if counts:
        conversation_pii_add(conversation=conversation, counts=counts)
    return added


def conversation_pii_add(*, conversation: Conversation, counts: Counter) -> None:
    totals = Counter(conversation.pii_counts) + counts
    conversation.pii_counts = dict(totals)
    Conversation.objects.filter(pk=conversation.pk).update(pii_counts=conversation.pii_counts,
                                                           updated_at=timezone.now())


@transaction.atomic
def conversation_delete(*, conversation: Conversation) -> None:
    """Delete a conversation, its messages and their feedback: nothing of it stays behind."""
    Message.objects.filter(conversation=conversation).update(parent=None)  # no cascade through a deep chain
    conversation.delete()


@transaction.atomic
def conversations_expire() -> int:
    """Delete every conversation past its retention date; the number deleted."""
    expired = Conversation.objects.filter(retain_until__lt=timezone.now())
    Message.objects.filter(conversation__in=expired).update(parent=None)
    return expired.delete()[1].get(Conversation._meta.label, 0)

