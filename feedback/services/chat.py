"""Model replies inside conversations, for the native API and the OpenAI-compatible one.

A reply runs where modelhost runs replies: in this process in the embedded default (MODELHOST_STREAM_VIA=inprocess,
holding the model lock), or on a gpu worker (a one-conversation GenerationJob for whole replies, a StreamedReply for
streams), the web process waiting up to a timeout. Generation happens outside any transaction, so a slow model never
holds a database lock; the user's message is committed before and the replies after.

A streamed reply's token counts and finish reason are the backend's own (its stream ends with an Output), carried
on the StreamedReply row or with the relayed stream, so `usage` and the stored message match a whole reply's.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from feedback.models import Conversation, Message
from feedback.pii import scrub
from feedback.selectors import conversation_messages, conversation_path
from feedback.services.conversations import messages_add
from modelhost.backends.base import BackendError, Output, Request
from modelhost.messages import messages_validate
from modelhost.models import GenerationJob, GenerationOutput, ModelEndpoint, StreamedReply
from modelhost.services.endpoints import endpoint_params
from modelhost.services.jobs import generation_job_create
from modelhost.services.replies import reply_create, reply_events

POLL_EVERY_S = 0.05


class ReplyTimeout(Exception):
    """No worker finished the reply in time."""


@dataclass(frozen=True)
class Reply:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: int


def max_tokens_cap(*, endpoint: ModelEndpoint) -> int:
    """The most tokens a reply may ask for: FEEDBACK_MAX_TOKENS, and half the endpoint's context."""
    return max(1, min(settings.FEEDBACK_MAX_TOKENS, endpoint.max_context // 2))


def sampling_values(*, endpoint: ModelEndpoint, max_tokens: int | None = None, temperature: float | None = None,
                    top_p: float | None = None, stop: list[str] | None = None) -> dict:
    """Request values over the endpoint's defaults, max_tokens capped by the endpoint."""
    values = {"temperature": temperature, "top_p": top_p, "stop": stop}
    values = {name: value for name, value in values.items() if value is not None}
    wanted = max_tokens or endpoint.default_params.get("max_new_tokens", 256)
    values["max_new_tokens"] = min(wanted, max_tokens_cap(endpoint=endpoint))
    endpoint_params(endpoint=endpoint, values=values)  # ValidationError for bad values
    return values


def _inprocess(endpoint: ModelEndpoint, messages: list[dict], values: dict, n: int, seed: int | None) -> list[Reply]:
    from modelhost.registry import backend_for, model_lock

    params = endpoint_params(endpoint=endpoint, values=values)
    with model_lock:
        outputs = backend_for(endpoint).generate([Request(key="chat", messages=messages, n=n, params=params,
                                                          seed=seed)])
    return [Reply(o.text, o.finish_reason, o.prompt_tokens, o.completion_tokens, round(o.latency_s * 1000))
            for o in outputs]


def _on_worker(endpoint: ModelEndpoint, messages: list[dict], values: dict, n: int, seed: int | None,
               timeout_s: float, owner) -> list[Reply]:
    job = generation_job_create(label="chat reply", conversations=[("chat", messages)], endpoints=[endpoint], n=n,
                                params=values, seed=seed or 0, source="feedback.chat", created_by=owner)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            status = GenerationJob.objects.filter(pk=job.pk).values_list("status", "error").get()
            if status[0] == GenerationJob.Status.FAILED:
                raise BackendError(status[1])
            if status[0] == GenerationJob.Status.DONE:
                outputs = GenerationOutput.objects.filter(request__job=job).order_by("sample_index")
                return [Reply(o.text, o.finish_reason, o.prompt_tokens, o.completion_tokens, o.latency_ms)
                        for o in outputs]
            time.sleep(POLL_EVERY_S)
        raise ReplyTimeout(f"No gpu worker finished the reply within {timeout_s:g} s.")
    finally:
        job.delete()  # the conversation store keeps the reply; the job would keep the raw prompt


def replies_generate(*, endpoint: ModelEndpoint, messages: list[dict], values: dict, n: int = 1,
                     seed: int | None = None, timeout_s: float | None = None, owner=None) -> list[Reply]:
    """n replies to `messages` (ValidationError for bad input, BackendError, ReplyTimeout)."""
    messages = messages_validate(messages, name="chat")
    if settings.MODELHOST_STREAM_VIA == "worker":
        timeout = timeout_s or settings.FEEDBACK_REPLY_TIMEOUT_SECONDS
        return _on_worker(endpoint, messages, values, n, seed, timeout, owner)
    return _inprocess(endpoint, messages, values, n, seed)


def model_messages(path: list[Message]) -> list[dict]:
    """A branch as the model reads it: the original text where it was kept, else the scrubbed one."""
    return [{"role": m.role, "content": m.raw_content or m.content} for m in path]


@transaction.atomic
def messages_record(*, conversation: Conversation, messages: list[dict]) -> Message:
    """Store a full message list sent by a client (OpenAI style) and return its last message.

    The part already stored on some branch is reused; the rest is appended where the two part, so a client that
    resends its history adds only the new turn, and one that edits an earlier turn starts a branch.
    """
    stored = conversation_messages(conversation=conversation)
    children: dict[int | None, list[Message]] = {}
    for message in stored:
        children.setdefault(message.parent_id, []).append(message)
    parent, matched = None, 0
    for wanted in messages:
        text = scrub(wanted["content"])[0]
        same = [m for m in children.get(parent.pk if parent else None, [])
                if m.role == wanted["role"] and m.content == text]
        if not same:
            break
        parent, matched = same[-1], matched + 1
    added = messages_add(conversation=conversation, parent=parent, messages=messages[matched:])
    return added[-1] if added else parent


@transaction.atomic
def replies_record(*, conversation: Conversation, parent: Message, replies: list[Reply],
                   model_name: str) -> list[Message]:
    """Store replies as siblings under `parent`: n choices or regenerations are branches of one turn."""
    return [
        messages_add(conversation=conversation, parent=parent, messages=[{
            "role": Message.Role.ASSISTANT, "content": reply.text, "model_name": model_name,
            "finish_reason": reply.finish_reason, "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens, "latency_ms": reply.latency_ms,
        }])[0]
        for reply in replies
    ]


def _endpoint(conversation: Conversation) -> ModelEndpoint:
    if conversation.endpoint is None:
        raise ValidationError("This conversation has no model endpoint (it was imported or its endpoint deleted).")
    return conversation.endpoint


def message_reply(*, conversation: Conversation, content: str, parent: Message | None = None,
                  values: dict | None = None, n: int = 1, seed: int | None = None,
                  timeout_s: float | None = None) -> tuple[Message, list[Message]]:
    """Post a user message (after `parent`, by default the latest message) and store the model's n replies."""
    endpoint = _endpoint(conversation)
    values = values if values is not None else sampling_values(endpoint=endpoint)
    path = conversation_path(messages=conversation_messages(conversation=conversation), leaf=parent)
    messages = messages_validate(model_messages(path) + [{"role": "user", "content": content}], name="message")
    (question,) = messages_add(conversation=conversation, parent=path[-1] if path else None,
                               messages=[{"role": Message.Role.USER, "content": content}])
    replies = replies_generate(endpoint=endpoint, messages=messages, values=values, n=n, seed=seed,
                               timeout_s=timeout_s, owner=conversation.owner)
    return question, replies_record(conversation=conversation, parent=question, replies=replies,
                                    model_name=endpoint.name)


def message_regenerate(*, message: Message, values: dict | None = None, seed: int | None = None,
                       timeout_s: float | None = None) -> Message:
    """Another reply to the user message `message` answered: a sibling branch, the old reply kept."""
    if message.role != Message.Role.ASSISTANT or message.parent is None:
        raise ValidationError("Only a model reply to a user message can be regenerated.")
    conversation = message.conversation
    endpoint = _endpoint(conversation)
    values = values if values is not None else sampling_values(endpoint=endpoint)
    path = conversation_path(messages=conversation_messages(conversation=conversation), leaf=message.parent)
    (reply,) = replies_generate(endpoint=endpoint, messages=model_messages(path), values=values, seed=seed,
                                timeout_s=timeout_s, owner=conversation.owner)
    (regenerated,) = replies_record(conversation=conversation, parent=message.parent, replies=[reply],
                                    model_name=endpoint.name)
    return regenerated


def streamed_reply(text: str, counted: Output | StreamedReply, started: float) -> Reply:
    """A streamed reply's record, with the counts of the backend that made it (its Output, or the row a worker
    wrote them on)."""
    return Reply(text, counted.finish_reason, counted.prompt_tokens, counted.completion_tokens,
                 round((time.monotonic() - started) * 1000))


def reply_stream(*, conversation: Conversation, parent: Message, values: dict) -> Iterator[tuple[str, object]]:
    """Stream one reply to the branch ending at `parent`: ("token", text) pieces, then ("done", the stored
    Message) or ("error", why). Reuses modelhost's streamed replies, so it runs where they run."""
    endpoint = _endpoint(conversation)
    path = conversation_path(messages=conversation_messages(conversation=conversation), leaf=parent)
    messages = model_messages(path)
    started = time.monotonic()
    reply = reply_create(endpoint=endpoint, messages=messages, params=values, created_by=conversation.owner)
    pieces: list[str] = []
    try:
        for event, data in reply_events(reply=reply):
            if event == "token":
                pieces.append(data)
                yield "token", data
            elif event == "error":
                yield "error", data
                return
        reply.refresh_from_db(fields=["prompt_tokens", "completion_tokens", "finish_reason"])
        (message,) = replies_record(conversation=conversation, parent=parent, model_name=endpoint.name,
                                    replies=[streamed_reply("".join(pieces), reply, started)])
        yield "done", message
    finally:
        StreamedReply.objects.filter(pk=reply.pk).delete()  # the conversation keeps the reply, not the raw prompt
