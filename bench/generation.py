"""Candidate generation: TransformersBackend's batched decoding against a naive transformers pipeline loop.

Both sides get the same prompts, model directory, max_new_tokens, number of samples and sampling settings. The
naive side is what one would write first: `pipeline("text-generation")` with the model as it loads by default
(float32), one prompt and one sample per call. Only tokens the model really generated count (an end-of-turn token
does not), and each side gets one untimed warm-up call.

    .venv/bin/python -m bench.generation [--model DIR] [--prompts 64] [--max-new-tokens 64] [--n 1] [--dtype auto]

`--job` measures the app around the model instead: generation jobs through the services (generation_job_create,
generation_job_run), every output committed to PostgreSQL as it finishes, on the tiny random model of the tests
(tests/tiny_model.py) so that the figures are the app's cost, not the model's. A job of 64 prompts and one of
`--job-prompts` (10,000) x n (4) run in fresh processes, one after the other: outputs/s, CPU seconds, peak RSS and
the resident size as the big job goes (flat when nothing grows with the job). Then a job of 1,000 prompts is
cancelled halfway, resumed and finished: every output must be there once.

    .venv/bin/python -m bench.generation --job [--job-prompts 10000] [--n 4] [--max-new-tokens 16] [--database URL]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
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


JOB_DATABASE = "postgres://postgres@127.0.0.1:5432/concord_bench_generation"
JOB_DATA_DIR = Path(__file__).resolve().parent.parent / "var" / "bench-generation"


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def _job_create(prompts: int, n: int, max_new_tokens: int, seed: int):
    from modelhost.models import ModelEndpoint
    from modelhost.services.jobs import generation_job_create
    from tests.tiny_model import tiny_model_save

    model = JOB_DATA_DIR / "models" / "tiny-llama"
    if not (model / "config.json").exists():
        tiny_model_save(model)
    endpoint, _ = ModelEndpoint.objects.get_or_create(name="bench-tiny", defaults={
        "model": str(model), "device": "cpu", "dtype": "float32", "max_context": 256})
    conversations = [(f"q{i}", PROMPTS[i % len(PROMPTS)] + f" ({i})") for i in range(prompts)]
    return generation_job_create(label=f"bench {prompts} x {n}", conversations=conversations, endpoints=[endpoint],
                                 n=n, params={"max_new_tokens": max_new_tokens, "temperature": 0.7}, seed=seed)


def job_run(prompts: int, n: int, max_new_tokens: int) -> dict:
    """One job in this process: created, then run as a worker runs it; the resident size sampled as it goes."""
    from django.db import connections

    from modelhost.models import GenerationJob, GenerationOutput
    from modelhost.services.jobs import generation_job_run

    job = _job_create(prompts, n, max_new_tokens, seed=1)
    samples: list[tuple[int, float]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(1.0):
            samples.append((GenerationJob.objects.get(pk=job.pk).done, _rss_mb()))
        connections.close_all()

    sampler = threading.Thread(target=sample, daemon=True)
    started, cpu = time.perf_counter(), time.process_time()
    sampler.start()
    generation_job_run(job_id=job.pk, hostname="bench")
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    stop.set()
    sampler.join()
    job.refresh_from_db()
    stored = GenerationOutput.objects.filter(request__job=job).count()
    # the resident size when a quarter, half, three quarters and all of the job was stored
    marks = [next((rss for done, rss in samples if done >= job.total * share), None) for share in (0.25, 0.5, 0.75)]
    return {"status": job.status, "outputs": stored, "total": job.total, "tokens": job.completion_tokens,
            "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "outputs_per_s": round(stored / wall, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "rss_mb_at_quarters": [None if mark is None else round(mark) for mark in [*marks, _rss_mb()]]}


def job_cancel_resume(prompts: int, n: int, max_new_tokens: int) -> dict:
    """A job cancelled once half of it is stored (from another thread, as the page's button would), then resumed."""
    from django.db import connections

    from modelhost.models import GenerationJob, GenerationOutput
    from modelhost.services.jobs import generation_job_cancel, generation_job_resume, generation_job_run

    job = _job_create(prompts, n, max_new_tokens, seed=2)

    def cancel_halfway() -> None:
        while GenerationJob.objects.get(pk=job.pk).done < job.total // 2:
            time.sleep(0.2)
        generation_job_cancel(job=job)
        connections.close_all()

    canceller = threading.Thread(target=cancel_halfway, daemon=True)
    canceller.start()
    generation_job_run(job_id=job.pk, hostname="bench")
    canceller.join()
    job.refresh_from_db()
    at_cancel = (job.status, job.done)
    generation_job_resume(job=job)
    generation_job_run(job_id=job.pk, hostname="bench")
    job.refresh_from_db()
    keys = list(GenerationOutput.objects.filter(request__job=job).values_list("request_id", "sample_index"))
    return {"cancelled_at": at_cancel, "status": job.status, "total": job.total, "done": job.done,
            "outputs": len(keys), "distinct": len(set(keys))}


def job_main(args: argparse.Namespace) -> None:
    from bench.common import postgres_create

    postgres_create(args.database)
    command = [sys.executable, "-m", "bench.generation", "--database", args.database, "--n", str(args.n),
               "--max-new-tokens", str(args.max_new_tokens)]
    # The jobs' task messages go to a folder nothing reads: they run in the children. One torch thread: on a busy
    # box two threads spin-wait for each other, and the tiny model's matrices gain nothing from a second one.
    env = {**os.environ, "CONCORD_DATA_DIR": str(JOB_DATA_DIR), "MODELHOST_MODEL_DIRS": str(JOB_DATA_DIR / "models"),
           "CELERY_BROKER_URL": "filesystem://", "OMP_NUM_THREADS": "1"}
    print(f"tiny random model (the app's cost, not the model's), n {args.n}, max_new_tokens {args.max_new_tokens}, "
          f"PostgreSQL {args.database.rsplit('/', 1)[-1]}, load {os.getloadavg()[0]:.1f}")
    print("wall and CPU of the job's run (not the process's start); CPU of the process, all its threads")
    print(f"{'job':<22} {'outputs':>8} {'wall s':>7} {'CPU s':>6} {'outputs/s':>10} {'CPU ms/output':>14} "
          f"{'peak RSS MB':>12}  RSS MB at 1/4, 1/2, 3/4, end")
    results = []
    for prompts in (64, args.job_prompts):
        child = subprocess.run([*command, "--job-child", f"run:{prompts}"], capture_output=True, text=True, env=env)
        if child.returncode:
            raise SystemExit(child.stderr[-3000:])
        result = json.loads(child.stdout.strip().splitlines()[-1])
        results.append(result)
        print(f"{f'{prompts:,} prompts x {args.n}':<22} {result['outputs']:>8,} {result['wall_s']:>7} "
              f"{result['cpu_s']:>6} {result['outputs_per_s']:>10} {result['cpu_s'] / result['outputs'] * 1000:>14.2f} "
              f"{result['peak_rss_mb']:>12}  {result['rss_mb_at_quarters']}")
        if result["status"] != "done" or result["outputs"] != result["total"]:
            raise SystemExit(f"the job ended {result['status']} with {result['outputs']} of {result['total']}")
    small, big = results
    print(f"throughput of the big job against the 64-prompt job: {big['outputs_per_s'] / small['outputs_per_s']:.0%}"
          f" (load now {os.getloadavg()[0]:.1f})")
    child = subprocess.run([*command, "--job-child", "cancel:1000"], capture_output=True, text=True, env=env)
    if child.returncode:
        raise SystemExit(child.stderr[-3000:])
    check = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"cancel halfway and resume, 1,000 prompts x {args.n}: {check['cancelled_at'][0]} at "
          f"{check['cancelled_at'][1]:,}, then {check['status']} with {check['outputs']:,} outputs "
          f"({check['distinct']:,} distinct, {check['total']:,} expected)")
    if not check["status"] == "done" or not check["outputs"] == check["distinct"] == check["total"] == check["done"]:
        raise SystemExit("outputs lost or duplicated")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="a safetensors model dir (default: the bundled SmolLM2)")
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, help="default 64; 16 with --job (the tiny model's context)")
    parser.add_argument("--n", type=int, help="samples per prompt: default 1; 4 with --job")
    parser.add_argument("--dtype", choices=get_args(DType), default="auto", help="the backend's dtype")
    parser.add_argument("--skip-naive", action="store_true", help="time only the backend")
    parser.add_argument("--job", action="store_true", help="generation jobs through the services (see above)")
    parser.add_argument("--job-prompts", type=int, default=10_000)
    parser.add_argument("--database", default=JOB_DATABASE)
    parser.add_argument("--job-child", help=argparse.SUPPRESS)  # child: run:P or cancel:P, a JSON line out
    args = parser.parse_args()
    args.max_new_tokens = args.max_new_tokens or (16 if args.job or args.job_child else 64)
    args.n = args.n or (4 if args.job or args.job_child else 1)
    if args.job_child:
        from bench.common import django_setup

        django_setup(args.database)
        kind, prompts = args.job_child.split(":")
        work = job_run if kind == "run" else job_cancel_resume
        print(json.dumps(work(int(prompts), args.n, args.max_new_tokens)))
        return
    if args.job:
        job_main(args)
        return

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
