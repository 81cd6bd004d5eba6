"""The OpenAI-compatible backend against a small real HTTP server on 127.0.0.1 (stdlib, one thread per request).

The server speaks just enough of the vLLM surface: /v1/models, /v1/chat/completions (n, stream), /tokenize and
/v1/completions with echoed prompt logprobs. Tests queue HTTP failures to check which ones are retried.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from modelhost.backends import (
    BackendError,
    ModelLoadError,
    NotSupported,
    Request,
    SamplingParams,
    TransientBackendError,
)
from modelhost.backends.destinations import DestinationRefused
from modelhost.backends.openai_backend import OpenAIBackend

MODEL = "tiny-chat"
LOCAL = ["127.0.0.1"]  # the test server is on loopback, which the backend refuses unless allowed


@dataclass
class Script:
    """What the server received, and the failures it should answer the next requests with."""

    failures: list[int] = field(default_factory=list)
    delay_s: float = 0.0
    scoring: bool = True
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    redirect_to: str = ""  # answer every request with a 302 to this URL
    refuse: str = ""  # answer 400 to a chat whose last message holds this text


def token_logprob(token: int) -> float:
    return -(token % 7) / 10 - 0.05


class Handler(BaseHTTPRequestHandler):
    script: Script

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self.script.received.append((self.path, {}))
        if self.path == "/v1/models":
            self.send_json(
                {"object": "list", "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "t"}]}
            )
        else:
            self.send_json({"error": {"message": "not found"}}, status=404)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.script.received.append((self.path, body))
        time.sleep(self.script.delay_s)
        if self.script.redirect_to:
            self.send_response(302)
            self.send_header("Location", self.script.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.script.failures:
            status = self.script.failures.pop(0)
            self.send_json({"error": {"message": f"scripted failure {status}"}}, status=status)
        elif self.path == "/v1/chat/completions" and self.script.refuse and \
                self.script.refuse in body["messages"][-1]["content"]:
            self.send_json({"error": {"message": "This prompt is too long for the model."}}, status=400)
        elif self.path == "/v1/chat/completions":
            self.chat(body)
        elif self.path == "/tokenize" and self.script.scoring:
            text = (
                "".join(f"<{m['role']}>{m['content']}" for m in body["messages"]) + "<assistant>"
                if ("messages" in body)
                else body["prompt"]
            )
            self.send_json({"tokens": list(text.encode()), "count": len(text.encode()), "max_model_len": 4096})
        elif self.path == "/v1/completions" and self.script.scoring:
            self.completions(body)
        else:
            self.send_json({"error": {"message": f"no route {self.path}"}}, status=404)

    def chat(self, body: dict[str, Any]) -> None:
        question = body["messages"][-1]["content"]
        replies = [f"reply {i} to {question}" for i in range(body.get("n", 1))]
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            chunks = [[{"index": 0, "delta": {"content": piece + " "}, "finish_reason": None}]
                      for piece in replies[0].split(" ")]
            chunks.append([{"index": 0, "delta": {}, "finish_reason": "length"}])
            for choices in chunks:
                self.wfile.write(f"data: {json.dumps(self.envelope('chat.completion.chunk', choices))}\n\n".encode())
                self.wfile.flush()
            if (body.get("stream_options") or {}).get("include_usage"):  # as vLLM: a last chunk with no choices
                usage = {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}
                self.wfile.write(f"data: {json.dumps(self.envelope('chat.completion.chunk', []) | {'usage': usage})}"
                                 "\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            return
        choices = [
            {"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop" if i else "length"}
            for i, text in enumerate(replies)
        ]
        usage = {"prompt_tokens": 11, "completion_tokens": 4 * len(replies) + 1, "total_tokens": 0}
        self.send_json(self.envelope("chat.completion", choices) | {"usage": usage})

    def completions(self, body: dict[str, Any]) -> None:
        choices = []
        for i, prompt in enumerate(body["prompt"]):
            generated = 42
            logprobs = [None] + [token_logprob(token) for token in prompt[1:]] + [token_logprob(generated)]
            choices.append(
                {
                    "index": i,
                    "text": bytes(prompt + [generated]).decode(),
                    "finish_reason": "length",
                    "logprobs": {"tokens": [], "token_logprobs": logprobs, "top_logprobs": None, "text_offset": []},
                }
            )
        self.send_json(self.envelope("text_completion", choices))

    def envelope(self, kind: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {"id": "cmpl-1", "object": kind, "created": 0, "model": MODEL, "choices": choices}

    def send_json(self, payload: dict[str, Any], status: int = 200) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out has closed its socket before the delayed answer; that is expected here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass
class Server:
    url: str
    script: Script


@pytest.fixture
def server() -> Iterator[Server]:
    script = Script()
    handler = type("ScriptedHandler", (Handler,), {"script": script})
    httpd = QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield Server(f"http://127.0.0.1:{httpd.server_address[1]}/v1", script)
    httpd.shutdown()
    httpd.server_close()


def make(server: Server, **kwargs: Any) -> OpenAIBackend:
    return OpenAIBackend(server.url, MODEL, backoff_s=0.01, allowed_hosts=LOCAL, **kwargs)


def chat_calls(server: Server) -> list[dict[str, Any]]:
    return [body for path, body in server.script.received if path == "/v1/chat/completions"]


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_generate_sends_n_seed_and_stop_and_returns_outputs_in_order(server: Server) -> None:
    params = SamplingParams(max_new_tokens=20, temperature=0.5, top_p=0.9, stop=("\n\n",))
    requests = [Request("a", user("first"), n=3, params=params, seed=11), Request("b", user("second"), params=params)]
    seen = []

    outputs = make(server).generate(requests, on_output=seen.append)

    assert [(o.key, o.sample_index, o.text) for o in outputs] == [
        ("a", 0, "reply 0 to first"),
        ("a", 1, "reply 1 to first"),
        ("a", 2, "reply 2 to first"),
        ("b", 0, "reply 0 to second"),
    ]
    assert sorted(seen, key=lambda o: (o.key, o.sample_index)) == outputs
    assert [o.finish_reason for o in outputs] == ["length", "stop", "stop", "length"]
    assert [o.completion_tokens for o in outputs] == [5, 4, 4, 5]  # 13 for three choices, split to add up
    assert {o.prompt_tokens for o in outputs} == {11} and outputs[0].seed == 11
    sent = {body["messages"][-1]["content"]: body for body in chat_calls(server)}
    assert sent["first"] | {"messages": None} == {
        "model": MODEL,
        "messages": None,
        "n": 3,
        "max_tokens": 20,
        "temperature": 0.5,
        "top_p": 0.9,
        "stop": ["\n\n"],
        "seed": 11,
    }
    assert "seed" not in sent["second"] and sent["second"]["n"] == 1


def test_stream_yields_the_pieces_of_one_reply_then_the_counts_the_server_reports(server: Server) -> None:
    *pieces, output = make(server).stream(user("hello"), SamplingParams())

    assert len(pieces) == 4
    assert "".join(pieces) == output.text == "reply 0 to hello "
    assert (output.prompt_tokens, output.completion_tokens, output.finish_reason) == (11, 5, "length")
    assert chat_calls(server)[0]["stream"] is True
    assert chat_calls(server)[0]["stream_options"] == {"include_usage": True}


def test_transient_failures_are_retried(server: Server) -> None:
    server.script.failures = [500, 429]

    outputs = make(server, max_retries=2).generate([Request("a", user("q"))])

    assert outputs[0].text == "reply 0 to q"
    assert len(chat_calls(server)) == 3


def test_transient_failures_give_up_after_max_retries(server: Server) -> None:
    server.script.failures = [503, 503, 503]

    with pytest.raises(TransientBackendError, match="HTTP 503.*after 3 attempts"):
        make(server, max_retries=2).generate([Request("a", user("q"))])


def test_client_errors_are_not_retried(server: Server) -> None:
    server.script.failures = [400]

    with pytest.raises(BackendError, match="HTTP 400: .*scripted failure 400") as raised:
        make(server).generate([Request("a", user("q"))])

    assert not isinstance(raised.value, TransientBackendError)
    assert len(chat_calls(server)) == 1


def test_timeouts_are_transient(server: Server) -> None:
    server.script.delay_s = 0.5

    with pytest.raises(TransientBackendError, match="APITimeoutError.*after 2 attempts"):
        make(server, timeout=0.1, max_retries=1).generate([Request("a", user("q"))])

    assert len(chat_calls(server)) == 2


def test_score_sums_the_prompt_logprobs_of_each_continuation(server: Server) -> None:
    context = user("which is better?")

    scores = make(server).score(context, ["the first", "B"])

    assert scores == pytest.approx([sum(token_logprob(t) for t in text.encode()) for text in ["the first", "B"]])
    completions = [body for path, body in server.script.received if path == "/v1/completions"]
    assert completions[0]["echo"] is True and completions[0]["prompt"][1][-1] == ord("B")


def test_score_many_scores_each_context_in_order(server: Server) -> None:
    items = [(user("which is better?"), ["the first", "B"]), (user("and now?"), ["C"])]

    scores = make(server).score_many(items)

    assert scores == [
        pytest.approx([sum(token_logprob(t) for t in text.encode()) for text in continuations])
        for _, continuations in items
    ]


def test_score_many_as_the_user_is_not_supported(server: Server) -> None:
    with pytest.raises(NotSupported, match="user message"):
        make(server).score_many([(user("q"), ["a"])], role="user")


def test_score_without_server_support_raises_not_supported(server: Server) -> None:
    server.script.scoring = False

    with pytest.raises(NotSupported, match="cannot score"):
        make(server).score(user("q"), ["a"])


def test_check_accepts_a_served_model_and_explains_failures(server: Server) -> None:
    make(server).check()

    with pytest.raises(ModelLoadError, match="does not serve 'other'.*tiny-chat"):
        OpenAIBackend(server.url, "other", allowed_hosts=LOCAL).check()

    with socket.socket() as unused:  # a port that was free a moment ago: nothing answers there
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(ModelLoadError, match="did not answer /models.*APIConnectionError"):
        OpenAIBackend(f"http://127.0.0.1:{port}/v1", MODEL, max_retries=1, backoff_s=0.01, allowed_hosts=LOCAL).check()


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/v1", "http://localhost/v1", "http://2130706433/v1", "http://0x7f000001/v1",
    "http://0177.0.0.1/v1", "http://127.1/v1", "http://[::1]/v1", "http://[::ffff:127.0.0.1]/v1",
    "http://[::ffff:a9fe:a9fe]/v1", "http://169.254.169.254/latest/meta-data", "http://2852039166/v1",
    "http://10.0.0.7/v1", "http://192.168.1.1/v1", "http://172.16.0.1/v1", "http://100.64.0.1/v1",
    "http://0.0.0.0/v1", "file:///etc/passwd", "gopher://127.0.0.1/", "http://no-such-host.invalid/v1",
])
def test_internal_destinations_are_refused_however_they_are_written(url: str) -> None:
    with pytest.raises(DestinationRefused):
        OpenAIBackend(url, MODEL)


def test_a_redirect_is_not_followed(server: Server) -> None:
    server.script.redirect_to = "http://169.254.169.254/latest/meta-data"

    with pytest.raises(BackendError, match="HTTP 302"):
        make(server).generate([Request("a", user("q"))])

    assert len(server.script.received) == 1  # the redirect went nowhere


def test_a_name_that_turns_internal_after_the_check_is_refused_when_connecting(server: Server, monkeypatch) -> None:
    """DNS rebinding: the name is public when the endpoint is checked and 127.0.0.1 when the client connects."""
    port = int(server.url.rsplit(":", 1)[1].split("/")[0])
    resolve, answers = socket.getaddrinfo, iter(["93.184.215.14"])

    def rebinding_dns(host, *args, **kwargs):  # the attacker's name server, not our code
        if host == "rebind.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers, "127.0.0.1"), port))]
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_dns)
    backend = OpenAIBackend(f"http://rebind.example:{port}/v1", MODEL, backoff_s=0.01)  # checked: public

    with pytest.raises(DestinationRefused, match="127.0.0.1"):
        backend.generate([Request("a", user("q"))])
    assert server.script.received == []  # nothing reached the internal server
