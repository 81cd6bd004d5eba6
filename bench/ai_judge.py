"""AI judging: pairs judged in both orders by label likelihood, batched across pairs as a judge run does, against a
loop that scores one order of one pair at a time, measured in the same run.

Both sides build the same judge prompts (annotate.judges) and score the same labels through the same backend; each
call reads all labels off one forward row. The batched side passes the contexts of ITEMS_PER_BATCH pairs (both
orders) per call, as annotate.services.judges does; the loop makes one call per pair and order. The loop is timed on
the first --loop-pairs pairs (a rate, so a subset measures it), and both sides must give the same verdicts there.

    .venv/bin/python -m bench.ai_judge [--pairs 1000] [--loop-pairs 100] [--model DIR] [--dtype auto] [--device auto]
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path
from typing import get_args

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from annotate.judges import (
    ITEMS_PER_BATCH,
    LABELS,
    ORDERS,
    canonical,
    judge_messages,
    label_probabilities,
    pairwise_verdict,
)
from modelhost.backends.transformers_backend import Device, DType, TransformersBackend, default_model_path

TOPICS = ["photosynthesis", "the moon", "coffee", "volcanoes", "friendship", "the internet", "honey bees", "rain",
          "tides", "bread", "glaciers", "chess"]
QUESTIONS = ["What is {}?", "Explain {} in simple words.", "Give two facts about {}.", "Why does {} matter?"]
SENTENCES = ["{} is a topic many people find interesting.", "Scientists have studied {} for a long time.",
             "In short, {} depends on several factors.", "I am not sure, but {} may be related to the weather.",
             "Here is a clear answer: {} works through a simple process.", "Many books describe {} in detail.",
             "{} can be explained with an everyday example.", "Some of this is uncertain."]


def pairs(count: int, seed: int = 0) -> list[tuple[list[dict], list[str]]]:
    """(conversation, [answer a, answer b]) pairs of short, different answers."""
    rng = random.Random(seed)
    found = []
    for index in range(count):
        topic = TOPICS[index % len(TOPICS)]
        question = QUESTIONS[(index // len(TOPICS)) % len(QUESTIONS)].format(topic)
        answers = [" ".join(sentence.format(topic) for sentence in rng.sample(SENTENCES, rng.randint(2, 4)))
                   for _ in range(2)]
        found.append(([{"role": "user", "content": question}], answers))
    return found


def contexts(pair: tuple[list[dict], list[str]]) -> list[list[dict]]:
    messages, answers = pair
    return [judge_messages(guidelines="", messages=messages, answers=[answers[slot] for slot in shown],
                           evidence=False) for shown in ORDERS]


def verdict(scores: list[list[float]]) -> dict:
    return pairwise_verdict([{"probs": [canonical(label_probabilities(values), shown)]}
                             for values, shown in zip(scores, ORDERS, strict=True)])


def run_batched(backend: TransformersBackend, work: list) -> tuple[list[dict], float]:
    started = time.perf_counter()
    verdicts = []
    for start in range(0, len(work), ITEMS_PER_BATCH):
        batch = work[start:start + ITEMS_PER_BATCH]
        scores = backend.score_many([(context, list(LABELS)) for pair in batch for context in contexts(pair)])
        verdicts += [verdict(scores[2 * index:2 * index + 2]) for index in range(len(batch))]
    if backend.device.type == "cuda":
        torch.cuda.synchronize()
    return verdicts, time.perf_counter() - started


def run_loop(backend: TransformersBackend, work: list) -> tuple[list[dict], float]:
    started = time.perf_counter()
    verdicts = [verdict([backend.score(context, list(LABELS)) for context in contexts(pair)]) for pair in work]
    if backend.device.type == "cuda":
        torch.cuda.synchronize()
    return verdicts, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="a safetensors model dir (default: the bundled SmolLM2)")
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--loop-pairs", type=int, default=100, help="pairs the one-at-a-time loop is timed on")
    parser.add_argument("--dtype", choices=get_args(DType), default="auto")
    parser.add_argument("--device", choices=get_args(Device), default="auto")
    parser.add_argument("--token-budget", type=int, default=16384, help="tokens per forward batch (the backend's)")
    args = parser.parse_args()

    cache_root = Path(os.environ.get("CONCORD_DATA_DIR", "var")) / "models"
    model = (args.model or default_model_path(cache_root)).resolve()
    backend = TransformersBackend(model, allowed_dirs=[model.parent], dtype=args.dtype, device=args.device,
                                  token_budget=args.token_budget)
    work = pairs(args.pairs)
    loop_work = work[:min(args.loop_pairs, len(work))]
    prompt_tokens = sum(len(backend._template(context)) for pair in work for context in contexts(pair)) / len(work)
    print(f"model {model}, device {backend.device}, dtype {str(backend.dtype).removeprefix('torch.')}, "
          f"{len(work)} pairs x 2 orders (~{prompt_tokens / 2:.0f} prompt tokens each), labels {LABELS}, "
          f"token budget {args.token_budget}, torch threads {torch.get_num_threads()}")
    run_batched(backend, work[:1])  # warm-up, untimed
    run_loop(backend, work[:1])
    loop_verdicts, loop_wall = run_loop(backend, loop_work)
    verdicts, wall = run_batched(backend, work)
    same = sum(a["order_verdicts"] == b["order_verdicts"] for a, b in zip(verdicts, loop_verdicts, strict=False))
    conflicts = sum(found["conflict"] for found in verdicts)
    loop_rate, rate = len(loop_work) / loop_wall, len(work) / wall
    print(f"{'':28}{'one at a time':>16}{'batched':>16}")
    print(f"{'pairs':28}{len(loop_work):>16}{len(work):>16}")
    print(f"{'wall s':28}{loop_wall:>16.2f}{wall:>16.2f}")
    print(f"{'pairs/s (both orders)':28}{loop_rate:>16.2f}{rate:>16.2f}")
    print(f"speed-up: {rate / loop_rate:.1f}x pairs/s; same verdicts on {same}/{len(loop_work)} pairs both sides "
          f"judged; order conflicts {conflicts}/{len(work)} ({conflicts / len(work):.0%})")


if __name__ == "__main__":
    main()
