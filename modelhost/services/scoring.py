"""Model work for callers above the model host that run their own jobs (AI judges): scoring continuations and
sampling texts through an endpoint's loaded backend, batched as generation jobs batch."""

from modelhost.backends.base import Message, Request
from modelhost.messages import messages_validate
from modelhost.models import ModelEndpoint
from modelhost.services.endpoints import endpoint_params
from modelhost.services.jobs import request_seed


def continuations_score(*, endpoint: ModelEndpoint, requests: list[tuple[list[Message], list[str]]]
                        ) -> list[list[float]]:
    """Sum log-likelihood of each continuation as the reply to its context, all contexts in as few batches as the
    backend's budget allows."""
    from modelhost.registry import backend_for

    checked = [(messages_validate(messages, name="context"), continuations) for messages, continuations in requests]
    return backend_for(endpoint).score_many(checked)


def texts_sample(*, endpoint: ModelEndpoint, conversations: list[tuple[str, list[Message]]], n: int,
                 params: dict | None, seed: int) -> dict[str, list[str]]:
    """`n` samples of each conversation (key -> texts in sample order), generated in one batched call; each
    conversation's seed comes from `seed` and its key (as a generation job's), whatever else shares the batch."""
    from modelhost.registry import backend_for

    sampling = endpoint_params(endpoint=endpoint, values=params)
    requests = [Request(key=key, messages=messages_validate(messages, name=key), n=n, params=sampling,
                        seed=request_seed(seed, key, endpoint.pk)) for key, messages in conversations]
    texts: dict[str, list[str]] = {key: [] for key, _ in conversations}
    for output in backend_for(endpoint).generate(requests):
        texts[output.key].append(output.text)
    return texts
