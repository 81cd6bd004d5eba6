"""Feedback signals on the held-out split: quality against the labels, and throughput on this box.

Quality: precision / recall / F1 / Cohen's kappa for SAT and DSAT and per-category recall, for stage 1 (the saved
feedback/signals/data/stage1.npz) on every held-out turn, and with --stage2-turns N also for stage 1+2 on the first
N held-out turns stage 1 flags (the model stage is slow on CPU; both stacks are then shown on that same subset).
The DSAT curve over thresholds is printed for reading only: the default threshold was tuned on the train split.

Throughput: stage 1 (tokenise, embed, cues, heads) on --turns turns built from the held-out set, as user turns/s of
wall time and per CPU-second of this process (the box is shared, so wall time depends on the neighbours' load).
One torch thread by default: on a small CPU one single-threaded process per core (as Celery workers are) beats
threads that wait on each other, and the per-CPU-second figure times the free cores is what a box can do.

    .venv/bin/python -m bench.feedback_eval [--turns 2000] [--stage2-turns 0] [--model DIR] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from feedback.signals import stage1
from feedback.signals.metrics import evaluate, prf
from feedback.signals.rubric import CATEGORIES

WILDFEEDBACK = "WildFeedback's GPT-4 classifier vs humans (50 conversations): DSAT precision 0.83 at recall 0.48; " \
    "kappa 0.69 (SAT) / 0.50 (DSAT)"


def report(title: str, figures: dict) -> None:
    print(f"\n{title} ({figures['turns']} turns)")
    print(f"{'':6}{'precision':>10}{'recall':>8}{'F1':>7}{'kappa':>7}{'tp/fp/fn':>12}")
    for flag in ("dsat", "sat"):
        f = figures[flag]
        counts = f"{f['tp']}/{f['fp']}/{f['fn']}"
        print(f"{flag.upper():6}{f['precision']:>10.3f}{f['recall']:>8.3f}{f['f1']:>7.3f}{f['kappa']:>7.3f}{counts:>12}")
    recalls = figures["category_recall"]
    print("per-category recall (n):")
    for category in CATEGORIES:
        print(f"  {category:24}{recalls[category]['recall']:>6.2f} ({recalls[category]['n']})")


def dsat_curve(probabilities: np.ndarray, rows: list[dict]) -> None:
    gold = [bool(r["dsat"]) for r in rows]
    print("\nDSAT precision/recall by threshold on held-out (for reading; the default comes from train):")
    for threshold in (0.5, 0.6, 0.7, 0.8, 0.9):
        f = prf(list(probabilities[:, 1] >= threshold), gold)
        print(f"  >= {threshold:.1f}: precision {f['precision']:.3f} recall {f['recall']:.3f}")


def throughput(rows: list[dict], model: stage1.Stage1Model, embedder: stage1.Embedder, turns: int) -> None:
    batch = [rows[i % len(rows)]["messages"] for i in range(turns)]
    stage1.classify(batch[:64], model, embedder)  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    stage1.classify(batch, model, embedder)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"\nstage 1 throughput: {turns / wall:.0f} user turns/s wall, {turns / cpu:.0f} per CPU-second "
        f"({turns} turns, torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs)"
    )


def stage2(rows: list[dict], first: list, count: int, model_dir: Path | None) -> None:
    from feedback.signals.stage2 import LikelihoodJudge, refine
    from modelhost.backends.transformers_backend import TransformersBackend, default_model_path

    path = (model_dir or default_model_path(Path(os.environ.get("CONCORD_DATA_DIR", "var")) / "models")).resolve()
    judge = LikelihoodJudge(TransformersBackend(path, allowed_dirs=[path.parent]), path.name)
    subset = [i for i, signal in enumerate(first) if signal.sat or signal.dsat][:count]
    sub_rows, sub_first = [rows[i] for i in subset], [first[i] for i in subset]
    started = time.perf_counter()
    refined = refine([r["messages"] for r in sub_rows], sub_first, judge)
    wall = time.perf_counter() - started
    report("stage 1 alone on the stage-2 subset", evaluate(sub_first, sub_rows))
    report(f"stage 1+2 ({path.name}) on the same subset", evaluate(refined, sub_rows))
    print(f"\nstage 2 throughput: {len(subset) / wall:.3f} candidate turns/s ({wall / len(subset):.1f} s each)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=2000, help="turns for the stage-1 throughput run")
    parser.add_argument("--stage2-turns", type=int, default=0, help="held-out candidates to re-judge (0: skip)")
    parser.add_argument("--model", type=Path, help="model dir for stage 2 (default: the bundled SmolLM2)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: scale by processes, one per core)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rows = [r for r in stage1.read_rows() if r["split"] == "test"]
    model, embedder = stage1.Stage1Model.load(), stage1.Embedder()
    turns = [r["messages"] for r in rows]
    first = stage1.classify(turns, model, embedder)
    report(f"stage 1 {model.version} on held-out", evaluate(first, rows))
    dsat_curve(model.probabilities(stage1.features(turns, embedder)), rows)
    print(f"\nfor comparison: {WILDFEEDBACK}")
    throughput(rows, model, embedder, args.turns)
    if args.stage2_turns:
        stage2(rows, first, args.stage2_turns, args.model)


if __name__ == "__main__":
    main()
