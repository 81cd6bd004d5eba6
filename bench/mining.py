"""Feedback mining through its stages, in this process: user turns/s labelled (stage 1 with the bookkeeping) against
stage 1 alone on the same turns (the baseline, no database), then the judge stage (stage 2 on the flagged turns,
pairs with regenerations and both-order checklist votes) with the tiny random model or SmolLM2, then mining the
same turns again (which must add nothing).

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.mining [--conversations 500] [--model tiny|smollm2] [--database-url URL]

One torch thread (OMP_NUM_THREADS=1), as the stage-1 figures in feedback/signals/README.md: on a shared 2-core box
more threads only fight over the cores (measured: 10x slower under a load average of 13).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from bench.common import django_setup, postgres_create

os.environ.setdefault("HF_HUB_OFFLINE", "1")
QUESTIONS = ["What is the capital of Australia?", "Write a haiku about rain.", "How do I book a table for two?",
             "Explain ranking versus rating.", "Give two facts about the moon."]
FOLLOW_UPS = ["No, that's wrong, try again.", "Thanks, that's perfect!", "Can you make it much shorter?",
              "What about the weather tomorrow?", "ok got it", "You ignored my question about prices."]


def log_write(path: Path, conversations: int) -> None:
    with path.open("w") as out:
        for n in range(conversations):
            question, first, second = (QUESTIONS[n % 5], FOLLOW_UPS[n % 6], FOLLOW_UPS[(n * 7 + 3) % 6])
            out.write(json.dumps({"id": f"b{n}", "messages": [
                {"role": "user", "content": f"{question} ({n})"}, {"role": "assistant", "content": "Here it is."},
                {"role": "user", "content": first}, {"role": "assistant", "content": "Sorry, here is another."},
                {"role": "user", "content": second}]}) + "\n")


def timed(label: str, turns: int, work) -> float:
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    print(f"{label:34} {turns:6} turns in {seconds:7.1f} s: {turns / seconds:8.1f} turns/s")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=500)
    parser.add_argument("--model", choices=["tiny", "smollm2"], default="tiny")
    parser.add_argument("--database-url", help="PostgreSQL (created if missing); default SQLite in a temp folder")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="concord-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
    if args.database_url:
        postgres_create(url)
    model_dir = folder / "tiny"
    django_setup(url, MODELHOST_MODEL_DIRS=str(folder))
    print(f"database  {url}")

    from accounts.models import User
    from feedback.models import Message, MinedPair, MiningRun, TurnSignal
    from feedback.services import mining
    from feedback.services.imports import conversations_import
    from feedback.signals.stage1 import classify
    from modelhost.models import ModelEndpoint
    from modelhost.services.endpoints import endpoint_get_default

    if args.model == "tiny":
        from tests.tiny_model import tiny_model_save

        tiny_model_save(model_dir)
        endpoint, _ = ModelEndpoint.objects.get_or_create(name="bench-tiny", defaults={
            "model": str(model_dir), "device": "cpu", "dtype": "float32", "max_context": 256,
            "default_params": {"max_new_tokens": 16, "temperature": 0.8}})
    else:
        endpoint = endpoint_get_default()
    owner = User.objects.filter(username="bench-miner").first() or User.objects.create(
        username="bench-miner", role=User.Role.ADMIN)
    log_write(folder / "log.jsonl", args.conversations)
    conversations_import(path=folder / "log.jsonl", owner=owner)
    turns = mining.turns_in_scope(run=MiningRun(created_by=owner, source="all"))
    n = turns.count()
    print(f"log       {args.conversations} conversations, {n} user turns after a reply; judge {endpoint.name}")

    model, embedder = mining.stage1_model(), mining.stage1_embedder()
    ids = list(turns.values_list("pk", "conversation_id"))
    threads = mining.Threads(conversation for _, conversation in ids)
    contexts = [threads.context(pk) for pk, _ in ids]
    embedder(["warm up"])
    timed("baseline: stage 1 alone (no DB)", n, lambda: classify(contexts, model, embedder))

    run = mining.mining_run_create(by=owner, endpoint=endpoint)
    timed("label stage (stage 1 + storing)", n, lambda: mining.mining_label(run_id=run.pk))
    run.refresh_from_db()
    flagged = TurnSignal.objects.filter(version=run.version.rsplit("+", 1)[0]).exclude(sat=False, dsat=False).count()
    timed(f"judge stage ({flagged} flagged turns)", flagged, lambda: mining.mining_judge(run_id=run.pk))
    mining.mining_verify(run_id=run.pk)
    run.refresh_from_db()
    print(f"result    {run.status}: {run.signals_created} signals, {run.pairs_kept} pairs kept, "
          f"{run.pairs_dropped} dropped; {MinedPair.objects.exclude(reason='').values('reason').distinct().count()} "
          "distinct drop reasons")
    again = mining.mining_run_create(by=owner, endpoint=endpoint)
    rows = TurnSignal.objects.count()
    timed("mining the same turns again", n, lambda: [stage(run_id=again.pk) for stage in (
        mining.mining_label, mining.mining_judge, mining.mining_verify)])
    assert TurnSignal.objects.count() == rows and Message.objects.exists(), "mining again added labels"


if __name__ == "__main__":
    main()
