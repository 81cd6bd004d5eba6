"""Feedback signals on the held-out split: quality against the labels, and throughput on this box.

Quality: precision / recall / F1 / Cohen's kappa for SAT and DSAT and per-category recall, for stage 1 (the saved
feedback/signals/data/stage1.npz) on every held-out turn, then for stage 1+2 with the default model (SmolLM2) on the
first --stage2-turns held-out turns stage 1 flags, and with --endpoint NAME also with that model-host endpoint as the
judge (both stacks are shown on that same subset, next to stage 1 alone). The DSAT curve over thresholds is printed
for reading only: the default threshold was tuned on the train split.

Throughput on this box (stage 1 next to its baseline, measured in the same run on the same turns):
- stage 1 (tokenise, embed, cues, heads) on --turns turns built from the held-out set, as user turns/s of wall time
  and per CPU-second of this process; baseline: the previous embedder settings (SDPA attention, batches of 128).
  One torch thread by default: on a small CPU one single-threaded process per core (as Celery workers are) beats
  threads that wait on each other, and the per-CPU-second figure times the free cores is what a box can do.
- the model stage: candidate turns/s of `refine` (all candidates in one `score_many` call) in wall time and per
  CPU-second, for the default judge (each option's sentence scored after the turn, on its cached keys and values)
  and for the lettered-choice judge (one forward pass per turn, the shared instructions once per batch), each with
  its quality on the same subset.

    .venv/bin/python -m bench.feedback_eval [--turns 2000] [--stage2-turns 32] [--threads N]
        [--endpoint NAME [--database-url URL]]

--endpoint reads the endpoint from the database (default postgres://postgres@127.0.0.1:5432/signals, migrated).
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
from feedback.signals.stage2 import ChoiceJudge, LikelihoodJudge, Scorer, follow_up_likelihood, refine

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


def timed(work) -> tuple[float, float]:
    """Wall and CPU seconds of `work()` in this process."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def throughput(rows: list[dict], model: stage1.Stage1Model, embedder: stage1.Embedder, turns: int) -> None:
    batch = [rows[i % len(rows)]["messages"] for i in range(turns)]
    baseline = stage1.Embedder(batch_size=128, attention="sdpa")
    print(f"\nstage 1 throughput ({turns} turns, torch threads {torch.get_num_threads()}, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; the box is shared, so wall time varies with it):")
    for name, used in (("baseline: SDPA, batches of 128", baseline), ("now: eager attention, batches of 64", embedder)):
        stage1.classify(batch[:64], model, used)  # warm-up
        wall, cpu = timed(lambda used=used: stage1.classify(batch, model, used))
        print(f"  {name:38} {turns / wall:6.0f} user turns/s wall, {turns / cpu:6.0f} per CPU-second")


def stage2_figures(name: str, backend: Scorer, rows: list[dict], first: list) -> None:
    """Stage 1+2 with each judge on this backend over the candidate rows, and its throughput."""
    turns = [r["messages"] for r in rows]
    speeds = []
    for judge in (LikelihoodJudge(backend, name), ChoiceJudge(backend, name)):
        refined: list = []
        wall, cpu = timed(lambda judge=judge, refined=refined: refined.extend(refine(turns, first, judge)))
        report(f"stage 1+2 ({name}, {type(judge).__name__}) on the same subset", evaluate(refined, rows))
        speeds.append(f"  {type(judge).__name__:16} {len(turns) / wall:7.2f} candidate turns/s wall, "
                      f"{len(turns) / cpu:6.2f} per CPU-second ({len(turns)})")
    print(f"\nmodel stage throughput ({name}, torch threads {torch.get_num_threads()}, load average "
          f"{os.getloadavg()[0]:.1f}):")
    print("\n".join(speeds))
    flr_figures(backend, rows)


def flr_figures(backend: Scorer, rows: list[dict]) -> None:
    """FLR of each reply as a DSAT signal: its ROC AUC (0.5 is chance; below 0.5 means low FLR goes with DSAT)."""
    from sklearn.metrics import roc_auc_score

    from modelhost.backends.base import NotSupported

    flr: list[float] = []
    try:
        wall, _ = timed(lambda: flr.extend(follow_up_likelihood(backend, [r["messages"] for r in rows])))
    except NotSupported as exc:
        print(f"  FLR: {exc}")
        return
    gold = [bool(r["dsat"]) for r in rows]
    if len(set(gold)) < 2:
        return
    auc = roc_auc_score(gold, [-value for value in flr])  # low FLR should mean DSAT
    dsat = [v for v, g in zip(flr, gold, strict=True) if g]
    other = [v for v, g in zip(flr, gold, strict=True) if not g]
    print(f"  FLR (extra signal)                               {len(rows) / wall:8.3f} turns/s; "
          f"ROC AUC of -FLR for DSAT {auc:.2f}; mean FLR {np.mean(dsat):+.2f} on DSAT turns, "
          f"{np.mean(other):+.2f} on the others")


def default_backend() -> tuple[str, Scorer]:
    from modelhost.backends.transformers_backend import TransformersBackend, default_model_path

    path = default_model_path(Path(os.environ.get("CONCORD_DATA_DIR", "var")) / "models").resolve()
    return path.name, TransformersBackend(path, allowed_dirs=[path.parent])


def endpoint_backend(name: str, database_url: str) -> tuple[str, Scorer]:
    from bench.common import django_setup, postgres_create

    postgres_create(database_url)
    django_setup(database_url)
    from modelhost.models import ModelEndpoint
    from modelhost.registry import backend_build

    return f"endpoint {name}", backend_build(ModelEndpoint.objects.get(name=name))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=2000, help="turns for the stage-1 throughput run")
    parser.add_argument("--stage2-turns", type=int, default=32, help="held-out candidates to re-judge (0: skip)")
    parser.add_argument("--endpoint", help="also judge with this model-host endpoint (by name)")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/signals")
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
    if not args.stage2_turns:
        return
    flagged = [i for i, signal in enumerate(first) if signal.sat or signal.dsat]
    print(f"\nstage 1 flags {len(flagged)} of {len(rows)} held-out turns; the model stage re-judges only those")
    subset = flagged[: args.stage2_turns]
    sub_rows, sub_first = [rows[i] for i in subset], [first[i] for i in subset]
    report("stage 1 alone on the stage-2 subset", evaluate(sub_first, sub_rows))
    judges = [default_backend()]
    if args.endpoint:
        judges.append(endpoint_backend(args.endpoint, args.database_url))
    for name, backend in judges:
        stage2_figures(name, backend, sub_rows, sub_first)


if __name__ == "__main__":
    main()
