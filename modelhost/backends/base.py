"""The interface every model backend implements, and the values that cross it.

Nothing here imports torch or an HTTP client, so callers (services, tasks, tests) can type against `Backend`
without loading a model.

Truncation policy (applied by backends that see tokens, i.e. the transformers backend): a prompt fits when its
templated token count plus `max_new_tokens` is at most `max_context`. If it does not fit, the oldest non-system
messages are dropped first, one at a time, never a system message nor the last user message. If it still does not
fit, only the tail of the remaining prompt tokens is kept (left truncation). Either way the number of prompt tokens
cut is reported as `Output.truncated_prompt_tokens`, so a caller can flag or refuse truncated generations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": "..."}
FinishReason = Literal["stop", "length"]
Role = Literal["assistant", "user"]


class BackendError(Exception):
    """A backend could not do what was asked; the message says why."""


class ModelLoadError(BackendError):
    """The model could not be loaded (not allowed, not found, unsafe format) or the server does not serve it."""


class NotSupported(BackendError):
    """The backend or the server behind it cannot do this operation."""


class TransientBackendError(BackendError):
    """A temporary failure (connection, timeout, 429, 5xx) that outlived the backend's own retries; retry later."""


@dataclass(frozen=True)
class SamplingParams:
    max_new_tokens: int = 256
    temperature: float = 0.7  # 0 means greedy
    top_p: float = 0.95
    stop: tuple[str, ...] = ()
    seed: int | None = None


@dataclass(frozen=True)
class Request:
    """One conversation to generate `n` samples for.

    `seed`, when set, overrides `params.seed`, so one SamplingParams can be shared by many requests that each
    carry their own seed.
    """

    key: str
    messages: list[Message]
    n: int = 1
    params: SamplingParams = field(default_factory=SamplingParams)
    seed: int | None = None

    @property
    def effective_seed(self) -> int | None:
        return self.seed if self.seed is not None else self.params.seed


@dataclass(frozen=True)
class Output:
    key: str
    sample_index: int
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason
    latency_s: float  # wall time from the start of its batch (or HTTP call) to this output's end
    seed: int | None  # the seed this sample was drawn with, to reproduce it
    truncated_prompt_tokens: int = 0


class Backend(Protocol):
    max_context: int

    def generate(self, requests: list[Request], on_output: Callable[[Output], None] | None = None,
                 on_step: Callable[[int], None] | None = None) -> list[Output]:
        """Generate `n` samples for each request; returns them in request order, then sample order.

        `on_output` is called for each output as soon as it is finished, so a caller can commit progress and a
        crash loses only what was still being written. `on_step` is called as generation goes (after each decoding
        step, or each finished reply of a server) with the tokens sampled so far in this call, finished or not, so
        a caller can show speed before any output is done.
        """
        ...

    def stream(self, messages: list[Message], params: SamplingParams) -> Iterator[str | Output]:
        """Yield the text of one reply piece by piece (the pieces join to the full reply), then its Output: the
        tokens counted where they were made (a piece is not a token) and the finish reason."""
        ...

    def score(self, context_messages: list[Message], continuations: list[str]) -> list[float]:
        """Sum log-likelihood (natural log) of each continuation as the assistant's reply to the context."""
        ...

    def score_many(
        self, items: list[tuple[list[Message], list[str]]], *, role: Role = "assistant"
    ) -> list[list[float]]:
        """`score` for many (context, continuations) pairs at once, in order; backends batch across contexts.

        role "user" scores each continuation as the user's next message instead; a backend that cannot raises
        NotSupported.
        """
        ...

    def close(self) -> None: ...
