"""Generation through an OpenAI-compatible server (vLLM, SGLang, llama.cpp server, ...) with the `openai` client.

The server owns batching and the chat template; this backend sends requests concurrently so a batching server has
work to batch, and retries only failures that can pass: connection errors, timeouts, 429 and 5xx.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, TypeVar

import httpcore2
import httpx2
import openai
from openai.types.chat import ChatCompletion

from .base import (
    BackendError,
    Message,
    ModelLoadError,
    NotSupported,
    Output,
    Request,
    Role,
    SamplingParams,
    TransientBackendError,
)
from .destinations import DestinationRefused, destination_addresses, destination_allowed, destination_check

T = TypeVar("T")
_TRANSIENT = (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError)  # incl. timeouts


class _CheckedNetwork(httpcore2.SyncBackend):
    """Connections that resolve the host once, check every address, and connect to a checked one, so a DNS answer
    that changes after destination_check (rebinding) cannot lead inwards."""

    def __init__(self, allowed_hosts: Collection[str]) -> None:
        self.allowed_hosts = allowed_hosts

    def connect_tcp(self, host: str, port: int, timeout=None, local_address=None, socket_options=None):
        if not destination_allowed(host, allowed_hosts=self.allowed_hosts):
            host = destination_addresses(host, port)[0]
        return super().connect_tcp(host, port, timeout, local_address, socket_options)


def _http_client(allowed_hosts: Collection[str]) -> httpx2.Client:
    transport = httpx2.HTTPTransport()
    transport._pool._network_backend = _CheckedNetwork(allowed_hosts)  # httpx takes no network backend argument
    return openai.DefaultHttpxClient(follow_redirects=False, transport=transport)


class OpenAIBackend:
    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 60,
        max_retries: int = 2,
        max_context: int = 8192,
        concurrency: int = 8,
        backoff_s: float = 0.5,
        allowed_hosts: Collection[str] = (),
    ) -> None:
        destination_check(base_url, allowed_hosts=allowed_hosts)
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.max_context = max_context
        self.max_retries = max_retries
        self.concurrency = concurrency
        self.backoff_s = backoff_s
        # The client's own retries are off so that ours are the only ones. Without a key, send a placeholder rather
        # than let the client read OPENAI_API_KEY, which must not go to an arbitrary server. Redirects are not
        # followed: a checked public URL could otherwise answer 302 to the metadata service (a 3xx is an error).
        # Each connection checks its address again (DNS rebinding).
        self._client = openai.OpenAI(
            base_url=self.base_url, api_key=api_key or "no-key", timeout=timeout, max_retries=0,
            http_client=_http_client(allowed_hosts),
        )

    def generate(self, requests: list[Request], on_output: Callable[[Output], None] | None = None,
                 on_step: Callable[[int], None] | None = None) -> list[Output]:
        results: dict[int, list[Output]] = {}
        sampled = 0  # the server reports tokens per finished reply only
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures = {pool.submit(self._generate_one, request): index for index, request in enumerate(requests)}
            try:
                for future in as_completed(futures):
                    outputs = future.result()
                    results[futures[future]] = outputs
                    if on_output is not None:
                        for output in outputs:
                            on_output(output)
                    sampled += sum(output.completion_tokens for output in outputs)
                    if on_step is not None:
                        on_step(sampled)
            except BaseException:
                pool.shutdown(cancel_futures=True)  # do not start requests whose results would be thrown away
                raise
        return [output for index in range(len(requests)) for output in results[index]]

    def stream(self, messages: list[Message], params: SamplingParams) -> Iterator[str | Output]:
        """The server's pieces, then an Output with the counts it reports in its last chunk (`include_usage`,
        which vLLM, SGLang and OpenAI send); a server that sends none is counted one token a piece."""
        # Retries can only happen before the first piece; a broken stream raises rather than repeat text.
        started = time.perf_counter()
        chunks = self._call(
            lambda: self._client.chat.completions.create(
                **self._chat_arguments(messages, params, n=1, seed=params.seed), stream=True,
                stream_options={"include_usage": True},
            )
        )
        pieces, finish, usage = [], "stop", None
        with chunks:  # closes the HTTP response if the consumer stops reading early
            for chunk in chunks:
                usage = chunk.usage or usage
                if not chunk.choices:
                    continue
                if chunk.choices[0].finish_reason == "length":
                    finish = "length"
                if chunk.choices[0].delta.content:
                    pieces.append(chunk.choices[0].delta.content)
                    yield pieces[-1]
        yield Output(
            key="stream", sample_index=0, text="".join(pieces), prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else len(pieces), finish_reason=finish,
            latency_s=time.perf_counter() - started, seed=params.seed,
        )

    def score(self, context_messages: list[Message], continuations: list[str]) -> list[float]:
        """Scores with vLLM's `/tokenize` (to apply the server's chat template) and completions with prompt logprobs.

        The continuation is tokenized on its own and appended to the templated context, as the transformers
        backend does. Servers without these endpoints raise NotSupported.
        """
        if not continuations:
            return []
        try:
            context = self._tokenize({"messages": context_messages, "add_generation_prompt": True})
            tails = [self._tokenize({"prompt": text}) for text in continuations]
            completion = self._call(
                lambda: self._client.completions.create(
                    model=self.model,
                    prompt=[context + tail for tail in tails],
                    echo=True,
                    logprobs=0,
                    max_tokens=1,
                    temperature=0,
                )
            )
        except TransientBackendError:
            raise
        except BackendError as exc:
            raise NotSupported(f"{self.base_url} cannot score continuations: {exc}") from exc
        scores = [0.0] * len(tails)
        for choice in completion.choices:
            tail = tails[choice.index]
            logprobs = choice.logprobs.token_logprobs if choice.logprobs else None
            values = (logprobs or [])[len(context) : len(context) + len(tail)]
            if len(values) != len(tail) or any(value is None for value in values):
                raise NotSupported(f"{self.base_url} did not return the prompt's log-probabilities (echo=True).")
            scores[choice.index] = float(sum(values))
        return scores

    def score_many(
        self, items: list[tuple[list[Message], list[str]]], *, role: Role = "assistant"
    ) -> list[list[float]]:
        """One `score` call per context: the server batches concurrent work itself. Only the assistant's role:
        vLLM's `/tokenize` applies its template up to a generation prompt, not up to a user message."""
        if role != "assistant":
            raise NotSupported(f"{self.base_url}: scoring a {role} message is not supported, only the assistant's.")
        return [self.score(messages, continuations) for messages, continuations in items]

    def check(self) -> None:
        """Raise ModelLoadError unless the server answers `/models` and lists this backend's model."""
        try:
            served = [model.id for model in self._call(self._client.models.list)]
        except BackendError as exc:
            raise ModelLoadError(f"{self.base_url} did not answer /models: {exc}") from exc
        if self.model not in served:
            raise ModelLoadError(f"{self.base_url} does not serve {self.model!r}; it serves {served}.")

    def close(self) -> None:
        self._client.close()

    # --- helpers ----------------------------------------------------------------------------------------------

    def _generate_one(self, request: Request) -> list[Output]:
        seed = request.effective_seed
        started = time.perf_counter()
        completion: ChatCompletion = self._call(
            lambda: self._client.chat.completions.create(
                **self._chat_arguments(request.messages, request.params, n=request.n, seed=seed)
            )
        )
        latency = time.perf_counter() - started
        choices = sorted(completion.choices, key=lambda choice: choice.index)
        prompt_tokens = completion.usage.prompt_tokens if completion.usage else 0
        # The server reports one completion total for all n choices; split it so the per-sample counts add up.
        total = completion.usage.completion_tokens if completion.usage else 0
        shares = [total // len(choices) + (i < total % len(choices)) for i in range(len(choices))]
        return [
            Output(
                key=request.key,
                sample_index=choice.index,
                text=choice.message.content or "",
                prompt_tokens=prompt_tokens,
                completion_tokens=share,
                finish_reason="length" if choice.finish_reason == "length" else "stop",
                latency_s=latency,
                seed=seed,
            )
            for choice, share in zip(choices, shares, strict=True)
        ]

    def _chat_arguments(self, messages: list[Message], params: SamplingParams, *, n: int, seed: int | None) -> dict:
        arguments: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "n": n,
            "max_tokens": params.max_new_tokens,  # max_completion_tokens is newer; servers all accept this one
            "temperature": params.temperature,
            "top_p": params.top_p,
        }
        if params.stop:
            arguments["stop"] = list(params.stop)
        if seed is not None:
            arguments["seed"] = seed
        return arguments

    def _tokenize(self, body: dict[str, Any]) -> list[int]:
        # vLLM serves /tokenize at the server root, beside /v1.
        url = self.base_url.removesuffix("/v1") + "/tokenize"
        answer = self._call(lambda: self._client.post(url, cast_to=dict, body={"model": self.model, **body}))
        return list(answer["tokens"])

    def _call(self, send: Callable[[], T]) -> T:
        """Send, retrying transient failures with jittered exponential backoff; others raise at once."""
        attempt = 0
        while True:
            try:
                return send()
            except _TRANSIENT as exc:
                refused = _refusal(exc)
                if refused is not None:  # the connection-time check, wrapped by the client as a connection error
                    raise refused from exc
                if attempt >= self.max_retries:
                    raise TransientBackendError(
                        f"{self.base_url}: {_describe(exc)} (gave up after {attempt + 1} attempts)"
                    ) from exc
                time.sleep(self.backoff_s * 2**attempt * random.uniform(0.5, 1.5))
                attempt += 1
            except openai.APIStatusError as exc:
                raise BackendError(f"{self.base_url} refused the request: {_describe(exc)}") from exc


def _refusal(exc: BaseException) -> DestinationRefused | None:
    while exc is not None:
        if isinstance(exc, DestinationRefused):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _describe(exc: openai.APIError) -> str:
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}: {exc.message}"
    return f"{type(exc).__name__}: {exc.message}"
