"""`manage.py report --from FILE` on a generated exchange file: wall time and peak memory of the whole command.

Generates (once; reused when it is there) an exchange file of N lines in the shape of the ranking-vs-rating
experiment: prompts with three responses by different models (some markdown, lengths that vary), pairwise items
of two responses, absolute ratings of one response, and rankings of all three, each item judged by three of
sixty annotators. Then runs the command in a child process, so its peak RSS is the command's alone.

    .venv/bin/python -m bench.report_from_file [--lines 1000000] [--style-control] [--properties] [--rebuild]
        [--profile] [--baseline REV]

The same command then runs from the code of another commit (`--baseline`, default the code before the report's
load was cut down; extracted with `git archive` under var/), on the same file.

`--profile` runs the command under cProfile in this process instead and prints where the time goes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

from bench.common import REPORT_BASELINE, ROOT, baseline_tree

MODELS = [f"model-{index}" for index in range(8)]
ANNOTATORS = [f"annotator{index:02d}" for index in range(60)]
OVERLAP = 3
SHARES = {"pairwise": 0.5, "rating": 0.4, "ranking": 0.1}  # of the lines
WORDS = "the a model answer should explain why this works because data users often need clear steps".split()


def _text(rng: random.Random, words: int) -> str:
    body = " ".join(rng.choices(WORDS, k=words))
    if rng.random() < 0.3:
        body = "## Answer\n\n- " + body.replace(" because ", "\n- **because** ")
    return body


def generate(path: Path, lines: int) -> None:
    rng = random.Random(0)
    strength = {model: rng.gauss(0, 1) for model in MODELS}
    written = 0
    prompt = 0
    with path.open("w", encoding="utf-8") as out:
        while written < lines:
            models = rng.sample(MODELS, 3)
            responses = [{"id": f"q{prompt}-{k}", "text": _text(rng, rng.randint(20, 80)), "model": model}
                         for k, model in enumerate(models)]
            question = f"Question {prompt}: " + " ".join(rng.choices(WORDS, k=12))
            kind = rng.choices(list(SHARES), weights=list(SHARES.values()))[0]
            if kind == "pairwise":
                items = [(f"pair-{prompt}", responses[:2])]
            elif kind == "rating":  # a third more items, to keep the shares: each response of the prompt alone
                items = [(f"rate-{response['id']}", [response]) for response in responses]
            else:
                items = [(f"rank-{prompt}", responses)]
            for item, listed in items:
                for annotator in rng.sample(ANNOTATORS, OVERLAP):
                    record = {"item": item, "prompt": question, "responses": listed, "annotator": annotator,
                              "protocol": kind}
                    merit = [strength[r["model"]] + len(r["text"]) / 400 + rng.gauss(0, 1) for r in listed]
                    if kind == "pairwise":
                        record["choice"] = "tie" if abs(merit[0] - merit[1]) < 0.2 else "ab"[merit[1] > merit[0]]
                    elif kind == "rating":
                        record["ratings"] = {listed[0]["id"]: min(7, max(1, round(4 + merit[0])))}
                    else:
                        order = sorted(range(len(listed)), key=lambda k: -merit[k])
                        record["ranking"] = [[listed[k]["id"]] for k in order]
                    record["presented_order"] = [r["id"] for r in rng.sample(listed, len(listed))]
                    record["created_at"] = f"2025-01-{1 + written // 100000:02d}T00:00:00+00:00"
                    out.write(json.dumps(record) + "\n")
                    written += 1
            prompt += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--style-control", action="store_true")
    parser.add_argument("--properties", action="store_true")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--baseline", default=REPORT_BASELINE,
                        help="a commit whose code runs the same command after this tree's ('' for none)")
    options = parser.parse_args()
    path = ROOT / "var" / "bench" / f"exchange-{options.lines}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    if options.rebuild or not path.exists():
        started = time.perf_counter()
        generate(path, options.lines)
        print(f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s")
    command = ["report", "--from", str(path), "--format", "json", *(["--style-control"] * options.style_control),
               *(["--properties"] * options.properties)]
    if options.profile:
        import cProfile
        import pstats

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django
        from django.core.management import call_command

        django.setup()
        profile = cProfile.Profile(time.process_time)  # CPU time: the machine may be shared
        with open(os.devnull, "w") as devnull:
            profile.runcall(call_command, *command, stdout=devnull)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
        return
    # The baseline's code has no property profile: with --properties only this tree runs.
    trees = [("this tree", ROOT)] + ([(f"baseline {options.baseline}", baseline_tree(options.baseline))]
                                     if options.baseline and not options.properties else [])
    added = [name for name, on in (("style control", options.style_control), ("properties", options.properties)) if on]
    for label, tree in trees:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([sys.executable, "manage.py", *command], cwd=tree, check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime
        # CPU time next to wall time: on a shared machine the wall clock also counts waiting for a core. The peak
        # RSS is the largest child's so far: the baseline runs second, so its figure is at least this tree's.
        print(f"report --from, {options.lines} lines{' with ' + ' and '.join(added) if added else ''}, {label}: "
              f"{seconds:.1f} s wall, {cpu:.1f} s CPU, peak RSS {usage.ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
