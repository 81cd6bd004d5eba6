"""Judgments in the exchange format, imported the way a user imports a file: `import_judgments`' service."""

import json
import random

from annotate.protocols import ATTRIBUTES
from annotate.services.exchange import judgments_import

ANNOTATORS = ("anna", "bob", "cid", "dan")
MODELS = ("model-x", "model-y", "model-z")


def responses(*ids: str, models: dict[str, str] | None = None) -> list[dict]:
    models = models or {}
    return [{"id": response, "text": f"Answer {response}.", **({"model": models[response]} if response in models
                                                               else {})} for response in ids]


def line(item: str, annotator: str, protocol: str, listed: list[dict], prompt: str | None = None, **answer) -> str:
    return json.dumps({"item": item, "prompt": prompt or f"Question of {item}?", "responses": listed,
                       "annotator": annotator, "protocol": protocol, **answer})


def imported(campaign, lines: list[str]):
    judgments_import(campaign=campaign, lines=lines)
    return campaign


def _ranking(rng: random.Random, ids: list[str]) -> list[list[str]]:
    order = rng.sample(ids, len(ids))
    return [order[:1], order[1:]] if rng.random() < 0.3 else [[response] for response in order]


def mixed_lines(*, seed: int = 0, prompts: int = 30) -> list[str]:
    """Every protocol in one campaign. Prompt i has responses q<i>-0, q<i>-1, q<i>-2 by three models; three of
    the four annotators judge each item: pairwise choices (with the shown order) and ratings of responses 0 and 1,
    and, for a third of the prompts, rankings (with the shown order) and attribute scores of all three."""
    rng = random.Random(seed)
    lines = []

    def add(item: str, prompt: int, protocol: str, ids: list[str], answer):
        listed = responses(*ids, models={f"q{prompt}-{k}": MODELS[(prompt + k) % 3] for k in range(3)})
        for name in rng.sample(ANNOTATORS, 3):
            minute = len(lines)
            lines.append(line(item, name, protocol, listed, prompt=f"Prompt {prompt}",
                              created_at=f"2025-01-01T{minute // 60:02d}:{minute % 60:02d}:00+00:00", **answer()))

    for prompt in range(prompts):
        pair = [f"q{prompt}-0", f"q{prompt}-1"]
        add(f"pair-{prompt}", prompt, "pairwise", pair, lambda pair=pair: {
            "choice": rng.choice(["a", "a", "b", "tie"]), "presented_order": rng.sample(pair, 2)})
        add(f"rate-{prompt}", prompt, "rating", pair, lambda pair=pair: {
            "ratings": {response: rng.randint(3, 7) for response in pair}})
    for prompt in range(prompts // 3):
        three = [f"q{prompt}-0", f"q{prompt}-1", f"q{prompt}-2"]
        add(f"rank-{prompt}", prompt, "ranking", three, lambda three=three: {
            "ranking": _ranking(rng, three), "presented_order": rng.sample(three, 3)})
        add(f"attr-{prompt}", prompt, "attributes", three, lambda three=three: {
            "attributes": {response: {name: rng.randint(1, 4) for name in ATTRIBUTES} for response in three}})
    return lines
