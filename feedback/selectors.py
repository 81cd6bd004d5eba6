import functools
import operator
from datetime import datetime

from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet, Window
from django.db.models.functions import Coalesce, RowNumber, TruncWeek

from accounts.models import User
from feedback.models import Conversation, ConversationImport, Feedback, Message, MiningRun, TurnSignal
from feedback.pii import scrub
from feedback.signals.rubric import CATEGORIES


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
    newest = (TurnSignal.objects.order_by().values("version").annotate(last=Max("created_at")).order_by("-last"))
    return [row["version"] for row in newest]


def signal_list(*, version: str, conversations: QuerySet[Conversation] | None = None) -> QuerySet:
    """One version's signals, by conversation and turn (of the conversations given, when given)."""
    signals = TurnSignal.objects.filter(version=version).select_related("conversation")
    if conversations is not None:
        signals = signals.filter(conversation__in=conversations.values("pk"))
    return signals.order_by("conversation_id", "turn", "message_id")


def mining_run_list_for(*, user: User) -> QuerySet:
    runs = MiningRun.objects.select_related("endpoint", "campaign", "created_by")
    return runs if user.is_admin else runs.filter(created_by=user)


EXAMPLES_PER_CATEGORY = 3


def signals_dashboard(*, user: User, version: str) -> dict:
    """One version's signals over the conversations `user` may see: how many conversations carry feedback, each
    category's count by week and by model endpoint, and a few example turns per category (scrubbed again on the way
    out, in case a rule was added since the text was stored)."""
    signals = signal_list(version=version, conversations=conversation_list_for(user=user))
    mined = signals.values("conversation_id").distinct().count()
    with_feedback = signals.filter(Q(sat=True) | Q(dsat=True)).values("conversation_id").distinct().count()
    counts = signals.aggregate(turns=Count("pk"), sat=Count("pk", filter=Q(sat=True)),
                               dsat=Count("pk", filter=Q(dsat=True)),
                               **{c: Count("pk", filter=Q(**{c: True})) for c in CATEGORIES})
    by_week: dict[str, dict[str, int]] = {}
    by_endpoint: dict[str, dict[str, int]] = {}
    rows = signals.annotate(week=TruncWeek(Coalesce("conversation__started_at", "conversation__created_at")),
                            model=Coalesce("conversation__endpoint__name", "conversation__model_name")) \
        .values("week", "model").annotate(**{c: Count("pk", filter=Q(**{c: True})) for c in CATEGORIES})
    for row in rows:
        week, model = row["week"].date().isoformat(), row["model"] or "unknown"
        for c in CATEGORIES:
            by_week.setdefault(week, dict.fromkeys(CATEGORIES, 0))[c] += row[c]
            by_endpoint.setdefault(model, dict.fromkeys(CATEGORIES, 0))[c] += row[c]
    return {"version": version, "conversations": mined, "with_feedback": with_feedback,
            "share": with_feedback / mined if mined else None, "counts": counts, "by_week": by_week,
            "by_endpoint": by_endpoint, "examples": _examples(signals)}


def _examples(signals: QuerySet[TurnSignal]) -> dict[str, list[tuple]]:
    """The most confident few turns of each category, in one query: each category ranks its rows by confidence (a
    window per category) and a row is read when it is among the first few of any category it carries."""
    ranks = {f"rank_{c}": Window(RowNumber(), partition_by=[F(c)], order_by=[F("confidence").desc(), F("pk")])
             for c in CATEGORIES}
    wanted = functools.reduce(operator.or_, (Q(**{c: True, f"rank_{c}__lte": EXAMPLES_PER_CATEGORY})
                                            for c in CATEGORIES))
    examples: dict[str, list[tuple]] = {}
    for row in signals.select_related("message").annotate(**ranks).filter(wanted).order_by("-confidence", "pk"):
        for c in CATEGORIES:
            if getattr(row, c) and getattr(row, f"rank_{c}") <= EXAMPLES_PER_CATEGORY:
                examples.setdefault(c, []).append(
                    (row.conversation_id, row.turn, scrub(row.message.content)[0], row.confidence))
    return {c: examples[c] for c in CATEGORIES if c in examples}
