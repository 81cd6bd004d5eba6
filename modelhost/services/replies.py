"""One chat reply, streamed token by token.

In the embedded default the web process runs the model itself (`reply_stream`), except for a long prompt, which
would hold a web process for minutes: that one goes to the gpu worker, as every reply does with a real broker.
A worker (`reply_run`) appends to the row as it goes; the web process relays the new text (`reply_events`). Either
way the finished text is saved on the reply row, and a reply can be stopped (`reply_stop`) while it is written.
"""

import time
from collections.abc import Iterator

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from modelhost.backends.base import BackendError, Output
from modelhost.messages import messages_validate, storable
from modelhost.models import ModelEndpoint, StreamedReply
from modelhost.services.endpoints import endpoint_params

FLUSH_EVERY_S = 0.1  # how often a worker writes the growing text
POLL_EVERY_S = 0.1
GIVE_UP_AFTER_S = 600
LONG_PROMPT_CHARS = 8000  # about 2000 tokens: more than a CPU reads in a few seconds
CHARS_PER_TOKEN = 4  # a rough estimate, without loading the tokenizer in the web process


def reply_long_prompt_note(*, endpoint: ModelEndpoint, messages: list[dict]) -> str:
    """What a person should know before a long prompt runs ("" for an ordinary one)."""
    chars = sum(len(message["content"]) for message in messages)
    if chars < LONG_PROMPT_CHARS:
        return ""
    tokens = chars // CHARS_PER_TOKEN
    note = (f"A long prompt (about {tokens:,} tokens): it runs in the gpu worker and may take a while before the "
            "first words appear.")
    if tokens >= endpoint.max_context:
        note += (f" {endpoint.name} reads at most {endpoint.max_context:,} tokens, reply included, so the oldest part "
                 "of the prompt will be cut.")
    return note


@transaction.atomic
def reply_create(*, endpoint: ModelEndpoint, messages, params: dict | None = None, created_by=None) -> StreamedReply:
    messages = messages_validate(messages, name="prompt")
    endpoint_params(endpoint=endpoint, values=params)
    in_worker = (settings.MODELHOST_STREAM_VIA == "worker"
                 or bool(reply_long_prompt_note(endpoint=endpoint, messages=messages)))
    reply = StreamedReply.objects.create(endpoint=endpoint, messages=messages, params=params or {},
                                         created_by=created_by, in_worker=in_worker)
    if in_worker:
        from modelhost.tasks import reply_run as task

        transaction.on_commit(lambda: task.delay(reply.pk))
    return reply


def reply_follow_up(*, parent: StreamedReply, prompt: str) -> list[dict]:
    """The messages of the next turn of a chat: the parent's messages, its reply, and the new prompt."""
    if parent.status in StreamedReply.ACTIVE:
        raise ValidationError("The last reply is still being written: wait for it or stop it first.")
    return [*parent.messages, {"role": "assistant", "content": parent.text}, {"role": "user", "content": prompt}]


def reply_stop(*, reply: StreamedReply) -> bool:
    """Stop a reply that is queued or being written; what it wrote so far stays. False if it had already ended."""
    return bool(StreamedReply.objects.filter(pk=reply.pk, status__in=StreamedReply.ACTIVE)
                .update(status=StreamedReply.Status.STOPPED))


def _tokens(reply: StreamedReply) -> Iterator[str | Output]:
    from modelhost.registry import backend_for, model_lock

    params = endpoint_params(endpoint=reply.endpoint, values=reply.params)
    with model_lock:
        yield from backend_for(reply.endpoint).stream(reply.messages, params)


def _save(reply: StreamedReply, text: str, status: str, error: str = "", output: Output | None = None) -> bool:
    """Write the text and status (and the backend's counts, given its Output) unless the reply was stopped
    meanwhile (then only its text); False if stopped."""
    running = StreamedReply.objects.filter(pk=reply.pk, status=StreamedReply.Status.RUNNING)
    counts = ({"prompt_tokens": output.prompt_tokens, "completion_tokens": output.completion_tokens,
               "finish_reason": output.finish_reason} if output else {})
    if running.update(text=storable(text), status=status, error=error, **counts):
        return True
    StreamedReply.objects.filter(pk=reply.pk, status=StreamedReply.Status.STOPPED).update(text=storable(text))
    return False


def _stopped(reply: StreamedReply) -> bool:
    return StreamedReply.objects.filter(pk=reply.pk, status=StreamedReply.Status.STOPPED).exists()


def reply_stream(*, reply: StreamedReply) -> Iterator[str]:
    """Run the model here and yield the reply's pieces; the full text is saved when it ends."""
    if not StreamedReply.objects.filter(pk=reply.pk, status=StreamedReply.Status.QUEUED).update(
        status=StreamedReply.Status.RUNNING
    ):
        yield reply.text  # already streamed once (a reconnect): send what was written
        return
    pieces, checked, output = [], time.monotonic(), None
    try:
        for piece in _tokens(reply):
            if isinstance(piece, Output):
                output = piece
                continue
            pieces.append(storable(piece))  # what the page shows is what is saved
            yield pieces[-1]
            if time.monotonic() - checked >= FLUSH_EVERY_S:
                checked = time.monotonic()
                if _stopped(reply):
                    break  # closing the generator ends the model's decoding loop
    except BackendError as error:
        _save(reply, "".join(pieces), StreamedReply.Status.FAILED, str(error))
        raise
    _save(reply, "".join(pieces), StreamedReply.Status.DONE, output=output)


def reply_run(*, reply_id: int) -> None:
    """Worker side: stream into the row, writing the growing text every FLUSH_EVERY_S."""
    reply = StreamedReply.objects.select_related("endpoint").filter(pk=reply_id).first()
    if reply is None or not StreamedReply.objects.filter(pk=reply.pk, status=StreamedReply.Status.QUEUED).update(
        status=StreamedReply.Status.RUNNING
    ):
        return
    text, flushed, output = "", time.monotonic(), None
    try:
        for piece in _tokens(reply):
            if isinstance(piece, Output):
                output = piece
                continue
            text += piece
            if time.monotonic() - flushed >= FLUSH_EVERY_S:
                if not _save(reply, text, StreamedReply.Status.RUNNING):
                    return  # stopped: the text so far is kept
                flushed = time.monotonic()
    except BackendError as error:
        _save(reply, text, StreamedReply.Status.FAILED, str(error))
        return
    _save(reply, text, StreamedReply.Status.DONE, output=output)


def reply_end_note(*, reply_id: int) -> str:
    """What the page says when a reply ends: why a finished reply is cut short, else nothing."""
    finish_reason, tokens = StreamedReply.objects.filter(pk=reply_id).values_list(
        "finish_reason", "completion_tokens").get()
    if finish_reason != "length":
        return ""
    return f"Cut at the token limit ({tokens} tokens): raise Max tokens for a longer reply."


def reply_events(*, reply: StreamedReply) -> Iterator[tuple[str, str]]:
    """(event, data) pairs for an SSE stream: "token" pieces, then "done" (also when stopped; its data says why a
    reply was cut short) or "error"."""
    if not reply.in_worker:
        try:
            for piece in reply_stream(reply=reply):
                yield "token", piece
        except BackendError as error:
            yield "error", str(error)
            return
        yield "done", reply_end_note(reply_id=reply.pk)
        return
    started, pickup_s = time.monotonic(), settings.MODELHOST_REPLY_PICKUP_SECONDS
    sent, deadline, pickup_deadline = 0, started + GIVE_UP_AFTER_S, started + pickup_s
    while time.monotonic() < deadline:
        row = StreamedReply.objects.filter(pk=reply.pk).values("text", "status", "error").get()
        if len(row["text"]) > sent:
            yield "token", row["text"][sent:]
            sent = len(row["text"])
        if row["status"] in (StreamedReply.Status.DONE, StreamedReply.Status.STOPPED):
            yield "done", reply_end_note(reply_id=reply.pk)
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
