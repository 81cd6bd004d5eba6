"""Dataset export at scale: N pairwise judgments in PostgreSQL, exported to Parquet and JSONL.

Builds (once; a rerun reuses it) a pairwise campaign in its own database: N/3 prompts of 100-1,000 characters,
two responses each of 200-2,800 characters (mean ~1,500, as HelpSteer2's), one item per prompt and three
annotators' judgments per item, loaded with COPY. Then each file type is exported in a fresh process, as a
worker would run it: DPO rows per annotator (one row per judgment), conversational, with provenance. Prints wall
time, its CPU time and the whole machine's (the export, PostgreSQL and anything else running: on a quiet machine,
when that is cores x wall, the run used every core), rows/s, the process's peak RSS and the seconds and rows/s of
each stage (read, aggregate, format, write; see exports/clock.py). Targets: Parquet and JSONL each under 30 s,
peak RSS under 1 GB.

The baseline runs in the same way from the code of another commit (`--baseline REV`, default the commit before
the export was made to stream with orjson; `--baseline ""` skips it), extracted with `git archive`.

    .venv/bin/python -m bench.export [--judgments 1000000] [--filetypes parquet jsonl] [--keep-files]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bench.common import BASELINE, baseline_tree, box_busy_seconds, django_setup, postgres_create

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "postgres://postgres@127.0.0.1:5432/concord_bench_export"
DATA_DIR = ROOT / "var" / "bench-export"
CAMPAIGN = "bench: export"
ANNOTATORS = 300
JUDGES_PER_ITEM = 3
WORDS = ("the of and to in is that for it as with was on be by at this are from or an which have not they but his "
         "their can more one all would there were when what so about out if some them other into time has only "
         "model answer prompt response better helpful correct reason because example first second however").split()


def _texts(rng: np.random.Generator, count: int, low: int, high: int) -> list[str]:
    """Distinct texts of random words, low..high characters: slices of one long random corpus."""
    corpus = " ".join(rng.choice(WORDS, size=2_000_000)) + " "
    starts = rng.integers(0, len(corpus) - high, size=count)
    lengths = rng.integers(low, high, size=count)
    return [corpus[s:s + n].strip() for s, n in zip(starts.tolist(), lengths.tolist(), strict=True)]


def _copy(table: str, columns: list[str], rows) -> None:
    from django.db import connection

    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def load(judgments: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import User
    from annotate.models import Campaign, Candidate, Item, ItemCandidate, Judgment, Prompt

    call_command("migrate", verbosity=0)
    campaign = Campaign.objects.filter(name=CAMPAIGN).first()
    if campaign and Judgment.objects.filter(item__campaign=campaign).count() == judgments:
        print(f"Reusing the {judgments:,} judgments already loaded.")
        return
    started = time.perf_counter()
    tables = ", ".join(model._meta.db_table for model in (Judgment, ItemCandidate, Item, Candidate, Prompt, Campaign))
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    manager = User.objects.filter(username="bench-manager").first() or User.objects.create(
        username="bench-manager", role=User.Role.MANAGER)
    annotators = [User.objects.get_or_create(username=f"bench-annotator-{i}")[0].pk for i in range(ANNOTATORS)]
    campaign = Campaign.objects.create(name=CAMPAIGN, created_by=manager, status=Campaign.Status.LIVE)
    items = -(-judgments // JUDGES_PER_ITEM)  # the last item may have fewer judgments

    def judged(item: int) -> int:
        return min(JUDGES_PER_ITEM, judgments - JUDGES_PER_ITEM * item)

    rng = np.random.default_rng(0)
    now = datetime.now(UTC)
    prompts = _texts(rng, items, 100, 1000)
    _copy(Prompt._meta.db_table, ["campaign_id", "external_id", "messages", "metadata", "created_at"],
          ((campaign.pk, f"p{i}", json.dumps([{"role": "user", "content": text}]), "{}", now)
           for i, text in enumerate(prompts)))
    del prompts
    responses = _texts(rng, 2 * items, 200, 2800)
    _copy(Candidate._meta.db_table, ["prompt_id", "external_id", "text", "model", "metadata", "created_at"],
          ((i // 2 + 1, f"p{i // 2}-r{i % 2}", text, f"model-{i % 2}", "{}", now) for i, text in enumerate(responses)))
    del responses
    _copy(Item._meta.db_table, ["campaign_id", "prompt_id", "external_id", "is_gold", "judgment_count", "to_people",
                                "created_at"],
          ((campaign.pk, i + 1, f"i{i}", False, judged(i), True, now) for i in range(items)))
    _copy(ItemCandidate._meta.db_table, ["item_id", "candidate_id", "position"],
          ((i // 2 + 1, i + 1, i % 2) for i in range(2 * items)))
    judges = rng.integers(0, ANNOTATORS, size=(items, JUDGES_PER_ITEM))
    strengths = rng.choice([-3, -2, -1, 0, 1, 2, 3], size=(items, JUDGES_PER_ITEM))

    def judgment_rows():
        for item in range(items):
            chosen = set()
            for k in range(judged(item)):
                judge = int(judges[item, k])
                while judge in chosen:  # three distinct annotators per item
                    judge = (judge + 1) % ANNOTATORS
                chosen.add(judge)
                strength = int(strengths[item, k])
                choice = "a" if strength < 0 else "b" if strength > 0 else "tie"
                yield (item + 1, annotators[judge], "pairwise", choice, strength, "", "", "{}", now)

    _copy(Judgment._meta.db_table, ["item_id", "annotator_id", "protocol", "choice", "strength", "rationale",
                                    "client_key", "metadata", "created_at"], judgment_rows())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"Loaded {judgments:,} judgments on {items:,} items in {time.perf_counter() - started:.0f} s.")


def run(filetype: str) -> dict:
    """One export in this process, timed from the queued row to the recorded files."""
    from annotate.models import Campaign
    from exports.models import Export
    from exports.services import export_create, export_run

    class Stages(logging.Handler):  # the export logs its seconds per stage when it finishes (older code: not)
        seconds: dict = {}

        def emit(self, record: logging.LogRecord) -> None:
            self.seconds.update(getattr(record, "stages", {}))

    handler = Stages()
    logging.getLogger("exports.services").addHandler(handler)
    logging.getLogger("exports.services").setLevel(logging.INFO)
    campaign = Campaign.objects.get(name=CAMPAIGN)
    export = export_create(spec={"campaigns": [campaign.pk], "format": "dpo", "filetype": filetype, "test_size": 0.05},
                           by=None, queue=False)
    started = time.perf_counter()
    export_run(export_id=export.pk)
    wall = time.perf_counter() - started
    export = Export.objects.get(pk=export.pk)
    return {"filetype": filetype, "status": export.status, "error": export.error, "rows": export.rows,
            "judgments": export.total, "wall_s": round(wall, 1), "rows_per_s": round(export.rows / wall),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "bytes": sum(entry["bytes"] for entry in export.files), "directory": str(export.directory),
            "stages": handler.seconds}


def report(label: str, result: dict) -> None:
    print(f"{label:<24} {result['rows']:>10,} {result['wall_s']:>8} {result['cpu_s']:>7} {result['box_cpu_s']:>11} "
          f"{result['rows_per_s']:>9,} {result['peak_rss_mb']:>12} {result['bytes'] / 1e6:>9,.0f}")
    counts = {"read": result["judgments"], "aggregate": result["judgments"], "format": result["rows"],
              "write": result["rows"]}
    if result["stages"]:
        print("    " + ", ".join(f"{stage} {seconds:.1f} s" + (f" ({counts[stage] / seconds:,.0f} rows/s)"
                                                               if stage in counts and seconds else "")
                                 for stage, seconds in result["stages"].items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--judgments", type=int, default=1_000_000)
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--filetypes", nargs="+", default=["parquet", "jsonl"])
    parser.add_argument("--keep-files", action="store_true", help="leave the exported files in var/bench-export")
    parser.add_argument("--baseline", default=BASELINE, help="the commit whose code runs as the baseline")
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)  # child: build the data
    parser.add_argument("--run", help=argparse.SUPPRESS)  # child: one export, a JSON line out
    args = parser.parse_args()
    if args.load or args.run:
        django_setup(args.database, migrate=False, CONCORD_DATA_DIR=str(DATA_DIR))
        if args.load:
            load(args.judgments)
        else:
            print(json.dumps(run(args.run)))
        return

    # Everything runs in children and this process stays small: a child's getrusage peak starts from its
    # parent's resident size at fork, so a parent that had loaded the data would inflate every figure.
    postgres_create(args.database)
    command = [sys.executable, "-m", "bench.export", "--database", args.database, "--judgments", str(args.judgments)]
    subprocess.run([*command, "--load"], check=True)
    trees = [("this tree", ROOT)] + ([(f"baseline {args.baseline}", baseline_tree(args.baseline))]
                                     if args.baseline else [])
    print(f"{'file type':<24} {'rows':>10} {'wall s':>8} {'CPU s':>7} {'box CPU s':>11} {'rows/s':>9} "
          f"{'peak RSS MB':>12} {'size MB':>9}")
    for filetype in args.filetypes:
        for label, tree in trees:
            before, busy = resource.getrusage(resource.RUSAGE_CHILDREN), box_busy_seconds()
            child = subprocess.run([*command, "--run", filetype], capture_output=True, text=True, check=True,
                                   cwd=tree, env={**os.environ, "CONCORD_DATA_DIR": str(DATA_DIR)})
            after, busy = resource.getrusage(resource.RUSAGE_CHILDREN), box_busy_seconds() - busy
            result = json.loads(child.stdout.strip().splitlines()[-1])
            # CPU time next to wall time: on a shared machine the wall clock also counts waiting for a core
            result["cpu_s"] = round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1)
            result["box_cpu_s"] = round(busy, 1)  # the export, PostgreSQL and whatever else ran meanwhile
            result.setdefault("stages", {})
            result.setdefault("judgments", args.judgments)
            if result["status"] != "done":
                raise SystemExit(f"{filetype}: {result['error']}")
            report(f"{filetype}, {label}", result)
            if not args.keep_files:
                shutil.rmtree(result["directory"], ignore_errors=True)


if __name__ == "__main__":
    main()
