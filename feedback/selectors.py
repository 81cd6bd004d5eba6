from datetime import datetime

from django.db.models import Exists, Max, OuterRef, Q, QuerySet

from accounts.models import User
from feedback.models import Conversation, ConversationImport, Feedback, Message


def conversation_list_for(*, user: User) -> QuerySet[Conversation]:
    """What the pages list: admins browse everyone's conversations; managers their own (application keys and
    imports they made) and those of annotator accounts, the people every manager works with (as on the People
    page), never another manager's (tests/security/test_cross_tenant.py); anyone else their own."""
    conversations = Conversation.objects.select_related("owner", "endpoint")
    if user.is_admin:
        return conversations
    if user.is_manager:
        return conversations.filter(Q(owner=user) | Q(owner__role=User.Role.ANNOTATOR))
    return conversations.filter(owner=user)


def conversation_list_owned(*, user: User) -> QuerySet[Conversation]:
    """What an API key may read, continue and delete: its user's conversations only, whatever the role."""
    return Conversation.objects.filter(owner=user).select_related("endpoint")


def conversation_filter(
    conversations: QuerySet[Conversation],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    model: str = "",
    has_feedback: bool | None = None,
    source: str = "",
) -> QuerySet[Conversation]:
    if since:
        conversations = conversations.filter(created_at__gte=since)
    if until:
        conversations = conversations.filter(created_at__lt=until)
    if model:
        conversations = conversations.filter(model_name=model)
    if source:
        conversations = conversations.filter(source=source)
    if has_feedback is not None:
        rated = Feedback.objects.filter(message__conversation=OuterRef("pk"))
        conversations = conversations.filter(Exists(rated) if has_feedback else ~Exists(rated))
    return conversations


def conversation_messages(*, conversation: Conversation) -> list[Message]:
    """Every message of every branch, depth first in the order they were written, with their feedback."""
    return list(conversation.messages.prefetch_related("feedback").order_by("index", "id"))


def conversation_path(*, messages: list[Message], leaf: Message | None = None) -> list[Message]:
    """The branch ending at `leaf` (by default the latest message), from the first message down."""
    if not messages:
        return []
    by_id = {message.pk: message for message in messages}
    node = leaf or max(messages, key=lambda message: message.pk)
    path = []
    while node is not None:
        path.append(node)
        node = by_id.get(node.parent_id)
    return path[::-1]


def message_get_owned(*, user: User, message_id: int) -> Message | None:
    return Message.objects.select_related("conversation__endpoint").filter(
        pk=message_id, conversation__owner=user
    ).first()


def import_list_for(*, user: User) -> QuerySet[ConversationImport]:
    return ConversationImport.objects.all() if user.is_admin else ConversationImport.objects.filter(created_by=user)


def conversation_tree(*, messages: list[Message]) -> list[tuple[Message, int, int, int]]:
    """(message, nesting, alternative number, alternatives) in reading order: a branch follows the one before
    it, nested one level deeper for each point where the conversation forked above it."""
    children: dict[int | None, list[Message]] = {}
    for message in messages:
        children.setdefault(message.parent_id, []).append(message)
    rows: list[tuple[Message, int, int, int]] = []
    stack = [(message, 0, number, len(children[None])) for number, message in enumerate(children.get(None, []), 1)]
    stack.reverse()
    while stack:
        message, nesting, number, count = stack.pop()
        rows.append((message, nesting, number, count))
        below = children.get(message.pk, [])
        deeper = nesting + (len(below) > 1)
        stack.extend(reversed([(child, deeper, n, len(below)) for n, child in enumerate(below, 1)]))
    return rows


def signal_versions() -> list[str]:
    """Classifier versions with labels, newest first."""
    from feedback.models import TurnSignal

    newest = (TurnSignal.objects.order_by().values("version").annotate(last=Max("created_at")).order_by("-last"))
    return [row["version"] for row in newest]


def signal_list(*, version: str, conversations: QuerySet[Conversation] | None = None) -> QuerySet:
    """One version's signals, by conversation and turn (of the conversations given, when given)."""
    from feedback.models import TurnSignal

    signals = TurnSignal.objects.filter(version=version).select_related("conversation")
    if conversations is not None:
        signals = signals.filter(conversation__in=conversations.values("pk"))
    return signals.order_by("conversation_id", "turn", "message_id")
