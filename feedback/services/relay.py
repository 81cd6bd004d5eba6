"""Streams that hold no web worker: a gpu worker runs the model and appends each piece to a Redis stream; the web
process (an async view under uvicorn workers) reads it with redis.asyncio, waiting on the event loop, not in a
thread. A Redis stream rather than pub/sub, so a reader that starts after the worker still reads every piece.

The worker records the reply in the conversation itself, so it is kept even if the client goes away.
"""

import json
import time
import uuid
from collections.abc import AsyncIterator

from django.conf import settings
from django.db import transaction

from core.queues import Queue
from feedback.models import Conversation, Message
from feedback.selectors import conversation_messages, conversation_path
from feedback.services.chat import model_messages, replies_record, streamed_reply
from modelhost.backends.base import BackendError, Output
from modelhost.services.endpoints import endpoint_params

KEEP_S = 600  # a stream is deleted this long after its last piece
GAP_S = 120  # the longest wait for the next piece once the reply has started


def _redis():
    import redis

    return redis.Redis.from_url(settings.FEEDBACK_STREAM_REDIS_URL)


def reply_relay_start(*, conversation: Conversation, parent: Message, values: dict) -> str:
    """Queue a reply to the branch ending at `parent` on the gpu queue; the key of the stream it will write."""
    from feedback.tasks import reply_relay as task

    key = f"concord:reply:{uuid.uuid4().hex}"
    transaction.on_commit(lambda: task.apply_async(args=[conversation.pk, parent.pk, values, key],
                                                   queue=Queue.GPU))
    return key


def reply_relay_run(*, conversation_id: int, parent_id: int, values: dict, key: str) -> None:
    """Gpu worker side: stream the reply into Redis and record it. A redelivered task does nothing."""
    from modelhost.registry import backend_for

    client = _redis()
    if not client.set(f"{key}:claimed", 1, nx=True, ex=KEEP_S):
        return

    def send(event: str, data: str) -> None:
        client.pipeline().xadd(key, {"event": event, "data": data}).expire(key, KEEP_S).execute()

    conversation = Conversation.objects.select_related("endpoint").filter(pk=conversation_id).first()
    if conversation is None or conversation.endpoint is None:
        send("error", "The conversation was deleted or has no model endpoint.")
        return
    parent = Message.objects.get(pk=parent_id)
    messages = model_messages(conversation_path(messages=conversation_messages(conversation=conversation),
                                                leaf=parent))
    started, pieces, output = time.monotonic(), [], None
    try:
        for piece in backend_for(conversation.endpoint).stream(
                messages, endpoint_params(endpoint=conversation.endpoint, values=values)):
            if isinstance(piece, Output):
                output = piece
                continue
            pieces.append(piece)
            send("token", piece)
    except BackendError as error:
        send("error", str(error))
        return
    (message,) = replies_record(conversation=conversation, parent=parent, model_name=conversation.endpoint.name,
                                replies=[streamed_reply("".join(pieces), output, started)])
    send("done", json.dumps(message.pk))


async def reply_relay_events(*, key: str) -> AsyncIterator[tuple[str, object]]:
    """The ("token", text) pieces of a relayed reply, then ("done", the stored Message) or ("error", why)."""
    import redis.asyncio

    # No socket timeout: XREAD blocks for longer than the client's default one, by design.
    client = redis.asyncio.Redis.from_url(settings.FEEDBACK_STREAM_REDIS_URL, socket_timeout=None)
    last, wait_s = "0-0", settings.MODELHOST_REPLY_PICKUP_SECONDS
    try:
        while True:
            entries = await client.xread({key: last}, block=int(wait_s * 1000), count=256)
            if not entries:
                yield "error", f"No gpu worker answered within {wait_s:g} s; is one running?"
                return
            wait_s = GAP_S
            for entry_id, fields in entries[0][1]:
                last, event, data = entry_id, fields[b"event"].decode(), fields[b"data"].decode()
                if event == "done":
                    yield "done", await Message.objects.aget(pk=json.loads(data))
                    return
                yield event, data
                if event == "error":
                    return
    finally:
        await client.aclose()
