"""Candidate generation: TransformersBackend's batched decoding against a naive transformers pipeline loop.

Both sides get the same prompts, model directory, max_new_tokens, number of samples and sampling settings. The
naive side is what one would write first: `pipeline("text-generation")` with the model as it loads by default
(float32), one prompt and one sample per call. Only tokens the model really generated count (an end-of-turn token
does not), and each side gets one untimed warm-up call.

    .venv/bin/python -m bench.generation [--model DIR] [--prompts 64] [--max-new-tokens 64] [--n 1] [--dtype auto]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import get_args

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from transformers import pipeline

from modelhost.backends import Request, SamplingParams
from modelhost.backends.transformers_backend import DType, TransformersBackend, default_model_path

TEMPLATES = [
    "What is {}?",
    "Explain {} in simple words.",
    "Write a haiku about {}.",
    "Give two facts about {}.",
    "Why does {} matter?",
    "Write one sentence about {}.",
    "Describe {} to a child.",
    "List three words related to {}.",
]
TOPICS = ["photosynthesis", "the moon", "coffee", "volcanoes", "friendship", "the internet", "honey bees", "rain"]
PROMPTS = [template.format(topic) for topic in TOPICS for template in TEMPLATES]


def run_backend(
    model: Path, prompts: list[str], params: SamplingParams, n: int, dtype: DType
) -> tuple[int, int, float, str]:
    backend = TransformersBackend(model, allowed_dirs=[model.parent], dtype=dtype)
    backend.generate([Request("warm-up", [{"role": "user", "content": prompts[0]}], params=params)])
    requests = [
        Request(str(i), [{"role": "user", "content": prompt}], n=n, params=params, seed=i)
        for i, prompt in enumerate(prompts)
    ]
    started = time.perf_counter()
    outputs = backend.generate(requests)
    wall = time.perf_counter() - started
    return len(outputs), sum(output.completion_tokens for output in outputs), wall, str(backend.dtype)


def run_naive(model: Path, prompts: list[str], params: SamplingParams, n: int) -> tuple[int, int, float, str]:
    generator = pipeline("text-generation", model=str(model))
    tokenizer = generator.tokenizer
    stop_ids = {tokenizer.eos_token_id, tokenizer.pad_token_id}
    options = {
        "max_new_tokens": params.max_new_tokens,
        "do_sample": True,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "return_tensors": True,
    }

    def generated_tokens(prompt: str) -> int:
        messages = [{"role": "user", "content": prompt}]
        prompt_length = len(
            tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)["input_ids"]
        )
        ids = generator(messages, **options)[0]["generated_token_ids"][prompt_length:]
        return sum(1 for token in ids if token not in stop_ids)

    generated_tokens(prompts[0])
    torch.manual_seed(0)
    started = time.perf_counter()
    tokens = sum(generated_tokens(prompt) for prompt in prompts for _ in range(n))
    wall = time.perf_counter() - started
    return len(prompts) * n, tokens, wall, str(generator.model.dtype)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="a safetensors model dir (default: the bundled SmolLM2)")
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--n", type=int, default=1, help="samples per prompt")
    parser.add_argument("--dtype", choices=get_args(DType), default="auto", help="the backend's dtype")
    parser.add_argument("--skip-naive", action="store_true", help="time only the backend")
    args = parser.parse_args()

    cache_root = Path(os.environ.get("CONCORD_DATA_DIR", "var")) / "models"
    model = (args.model or default_model_path(cache_root)).resolve()
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(args.prompts)]
    params = SamplingParams(max_new_tokens=args.max_new_tokens, temperature=0.7, top_p=0.95)
    print(
        f"model {model}, {len(prompts)} prompts x {args.n} samples, max_new_tokens {args.max_new_tokens}, "
        f"temperature 0.7, top_p 0.95, torch threads {torch.get_num_threads()}"
    )

    sides = {"batched backend": run_backend(model, prompts, params, args.n, args.dtype)}
    if not args.skip_naive:
        sides = {"naive pipeline": run_naive(model, prompts, params, args.n)} | sides
    print(f"{'':22}" + "".join(f"{name:>18}" for name in sides))
    rows = {
        "dtype": [dtype.removeprefix("torch.") for _, _, _, dtype in sides.values()],
        "candidates": [str(count) for count, _, _, _ in sides.values()],
        "generated tokens": [str(tokens) for _, tokens, _, _ in sides.values()],
        "wall s": [f"{wall:.1f}" for _, _, wall, _ in sides.values()],
        "tokens/s": [f"{tokens / wall:.1f}" for _, tokens, wall, _ in sides.values()],
        "candidates/s": [f"{count / wall:.2f}" for count, _, wall, _ in sides.values()],
    }
    for label, values in rows.items():
        print(f"{label:22}" + "".join(f"{value:>18}" for value in values))
    if not args.skip_naive:
        (naive_count, naive_tokens, naive_wall, _), (count, tokens, wall, _) = sides.values()
        print(
            f"speed-up: {(count / wall) / (naive_count / naive_wall):.1f}x candidates/s, "
            f"{(tokens / wall) / (naive_tokens / naive_wall):.1f}x tokens/s"
        )


if __name__ == "__main__":
    main()
