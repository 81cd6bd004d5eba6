"""Streams under ASGI (what uvicorn workers serve): async all the way, in-process or relayed through Redis."""

import asyncio
import json
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import AsyncClient

from accounts.services.tokens import token_create
from feedback.models import Message
from modelhost.backends.base import Request
from modelhost.messages import storable  # PostgreSQL holds no NUL: random model text may have one
from modelhost.registry import backend_for
from modelhost.services.endpoints import endpoint_params

REDIS_URL = "redis://127.0.0.1:6379/15"


def redis_running() -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", 6379)) == 0


def stream(path: str, body: dict, authorization: str) -> tuple[int, str]:
    """POST through Django's ASGI handler and read the streamed body as it comes."""
    async def run():
        response = await AsyncClient().post(path, body, content_type="application/json",
                                            headers={"Authorization": authorization})
        assert response.is_async  # an async iterator: nothing buffered, no thread held between pieces
        return response.status_code, "".join([part.decode() async for part in response.streaming_content])

    # In a thread of its own: the event loop Playwright's sync API leaves in the main thread forbids one here.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, run()).result()


def chunks(text: str) -> list[dict]:
    lines = [line.removeprefix("data: ") for line in text.strip().split("\n\n")]
    assert lines[-1] == "[DONE]"
    return [json.loads(line) for line in lines[:-1]]


@pytest.mark.django_db(transaction=True)  # the ASGI handler's thread has its own connection
def test_without_redis_an_asgi_stream_runs_the_model_in_process(annotator, tiny_endpoint, settings):
    settings.FEEDBACK_STREAM_REDIS_URL = ""
    status, body = stream("/v1/chat/completions", {"model": "tiny", "stream": True,
                                                   "messages": [{"role": "user", "content": "Hi"}]},
                          f"Bearer {token_create(user=annotator, name='app')[1]}")
    parts = chunks(body)
    assert status == 200 and parts[-1]["choices"][0]["finish_reason"] in {"stop", "length"}
    text = "".join(part["choices"][0]["delta"].get("content", "") for part in parts)
    assert Message.objects.get(role="assistant").content == storable(text)

    conversation_id = Message.objects.get(role="assistant").conversation_id
    status, body = stream(f"/api/v1/conversations/{conversation_id}/messages", {"content": "More", "stream": True},
                          f"Token {token_create(user=annotator, name='app')[1]}")
    events = [block.split("\n")[0] for block in body.strip().split("\n\n")]
    assert status == 201 and events[0] == "event: message" and events[-1] == "event: done"


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not redis_running(), reason="needs Redis on 127.0.0.1:6379")
def test_with_redis_a_gpu_worker_streams_the_reply_through_it_and_records_it(
        annotator, tiny_endpoint, settings, start_worker):
    settings.FEEDBACK_STREAM_REDIS_URL = REDIS_URL
    start_worker(queues=("gpu",), env={"FEEDBACK_STREAM_REDIS_URL": REDIS_URL,
                                       "MODELHOST_MODEL_DIRS": settings.MODELHOST_MODEL_DIRS[0]})
    key = token_create(user=annotator, name="app")[1]
    status, body = stream("/v1/chat/completions", {"model": "tiny", "stream": True, "max_tokens": 6, "seed": 4,
                                                   "stream_options": {"include_usage": True},
                                                   "messages": [{"role": "user", "content": "Hi"}]}, f"Bearer {key}")
    *parts, usage = chunks(body)
    assert status == 200 and parts[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(part["choices"][0]["delta"].get("content", "") for part in parts)
    reply = Message.objects.get(role="assistant")  # recorded by the worker
    assert reply.content == storable(text)
    # Counted by the worker's tokenizer: what the same model reports for the same sampling, here.
    params = endpoint_params(endpoint=tiny_endpoint, values={"max_new_tokens": 6, "seed": 4})
    (whole,) = backend_for(tiny_endpoint).generate([Request("hi", [{"role": "user", "content": "Hi"}], params=params)])
    assert (reply.prompt_tokens, reply.completion_tokens, reply.finish_reason) == (
        whole.prompt_tokens, whole.completion_tokens, whole.finish_reason)
    assert usage["usage"] == {"prompt_tokens": whole.prompt_tokens, "completion_tokens": whole.completion_tokens,
                              "total_tokens": whole.prompt_tokens + whole.completion_tokens}

    status, body = stream(f"/api/v1/conversations/{reply.conversation_id}/messages",
                          {"content": "More", "stream": True}, f"Token {key}")
    events = [block.split("\n")[0] for block in body.strip().split("\n\n")]
    assert status == 201 and events[0] == "event: message" and events[-1] == "event: done"
