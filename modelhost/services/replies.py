"""One chat reply, streamed token by token.

In the embedded default the web process runs the model itself (`reply_stream`). With a real broker a
gpu worker runs it (`reply_run`) and appends to the row as it goes; the web process relays the new text
(`reply_events`). Either way the finished text is saved on the reply row.
"""

import time
from collections.abc import Iterator

from django.conf import settings
from django.db import transaction

from modelhost.backends.base import BackendError
from modelhost.messages import messages_validate, storable
from modelhost.models import ModelEndpoint, StreamedReply
from modelhost.services.endpoints import endpoint_params

FLUSH_EVERY_S = 0.1  # how often a worker writes the growing text
POLL_EVERY_S = 0.1
GIVE_UP_AFTER_S = 600


@transaction.atomic
def reply_create(*, endpoint: ModelEndpoint, messages, params: dict | None = None, created_by=None) -> StreamedReply:
    messages = messages_validate(messages, name="prompt")
    endpoint_params(endpoint=endpoint, values=params)
    reply = StreamedReply.objects.create(endpoint=endpoint, messages=messages, params=params or {},
                                         created_by=created_by)
    if settings.MODELHOST_STREAM_VIA == "worker":
        from modelhost.tasks import reply_run as task

        transaction.on_commit(lambda: task.delay(reply.pk))
    return reply


def _tokens(reply: StreamedReply) -> Iterator[str]:
    from modelhost.registry import backend_for, model_lock

    params = endpoint_params(endpoint=reply.endpoint, values=reply.params)
    with model_lock:
        yield from backend_for(reply.endpoint).stream(reply.messages, params)


def _save(reply: StreamedReply, text: str, status: str, error: str = "") -> None:
    StreamedReply.objects.filter(pk=reply.pk).update(text=storable(text), status=status, error=error)


def reply_stream(*, reply: StreamedReply) -> Iterator[str]:
    """Run the model here and yield the reply's pieces; the full text is saved when it ends."""
    if not StreamedReply.objects.filter(pk=reply.pk, status=StreamedReply.Status.QUEUED).update(
        status=StreamedReply.Status.RUNNING
    ):
        yield reply.text  # already streamed once (a reconnect): send what was written
        return
    pieces = []
    try:
        for piece in _tokens(reply):
            pieces.append(piece)
            yield piece
    except BackendError as error:
        _save(reply, "".join(pieces), StreamedReply.Status.FAILED, str(error))
        raise
    _save(reply, "".join(pieces), StreamedReply.Status.DONE)


def reply_run(*, reply_id: int) -> None:
    """Worker side: stream into the row, writing the growing text every FLUSH_EVERY_S."""
    reply = StreamedReply.objects.select_related("endpoint").filter(pk=reply_id).first()
    if reply is None or not StreamedReply.objects.filter(pk=reply.pk, status=StreamedReply.Status.QUEUED).update(
        status=StreamedReply.Status.RUNNING
    ):
        return
    text, flushed = "", time.monotonic()
    try:
        for piece in _tokens(reply):
            text += piece
            if time.monotonic() - flushed >= FLUSH_EVERY_S:
                _save(reply, text, StreamedReply.Status.RUNNING)
                flushed = time.monotonic()
    except BackendError as error:
        _save(reply, text, StreamedReply.Status.FAILED, str(error))
        return
    _save(reply, text, StreamedReply.Status.DONE)


def reply_events(*, reply: StreamedReply) -> Iterator[tuple[str, str]]:
    """(event, data) pairs for an SSE stream: "token" pieces, then "done" or "error"."""
    if settings.MODELHOST_STREAM_VIA != "worker":
        try:
            for piece in reply_stream(reply=reply):
                yield "token", piece
        except BackendError as error:
            yield "error", str(error)
            return
        yield "done", ""
        return
    started, pickup_s = time.monotonic(), settings.MODELHOST_REPLY_PICKUP_SECONDS
    sent, deadline, pickup_deadline = 0, started + GIVE_UP_AFTER_S, started + pickup_s
    while time.monotonic() < deadline:
        row = StreamedReply.objects.filter(pk=reply.pk).values("text", "status", "error").get()
        if len(row["text"]) > sent:
            yield "token", row["text"][sent:]
            sent = len(row["text"])
        if row["status"] == StreamedReply.Status.DONE:
            yield "done", ""
            return
        if row["status"] == StreamedReply.Status.FAILED:
            yield "error", row["error"]
            return
        if row["status"] == StreamedReply.Status.QUEUED and time.monotonic() > pickup_deadline:
            error = f"No gpu worker started this reply within {pickup_s:g} s; is one running?"
            # Given up for good, so a worker that comes back skips it instead of running it before the retry.
            if StreamedReply.objects.filter(pk=reply.pk, status=StreamedReply.Status.QUEUED).update(
                    status=StreamedReply.Status.FAILED, error=error):
                yield "error", error
                return
            continue  # a worker took it just now
        time.sleep(POLL_EVERY_S)
    yield "error", "No worker answered in time."
