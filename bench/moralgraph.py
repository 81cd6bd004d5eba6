"""Moral-graph aggregation on synthetic votes: 100,000 votes over 1,000 values, default and mai-2023 modes, and
the server-side SVG of the resulting graph. Pure functions only: no database, no server.

    .venv/bin/python -m bench.moralgraph [--votes 100000] [--values 1000] [--pairs 5000] [--contexts 10]
                                         [--interview]

--interview also times an interview turn on the default model (SmolLM2-135M on this machine's CPU): the
interviewer's prompt, the opening and one answer in, until the first streamed piece and the whole reply.

Values get a hidden "wisdom" score; each vote picks one of `pairs` candidate pairs and a context, and says
"upgrade" more often the wiser the value moved to is.
"""

from __future__ import annotations

import argparse
import math
import random
import time

from annotate.moralgraph import graph


def votes_make(*, votes: int, values: int, pairs: int, contexts: int, seed: int = 0) -> list[graph.VoteRow]:
    rng = random.Random(seed)
    wisdom = [rng.gauss(0, 1) for _ in range(values)]
    candidates = set()
    while len(candidates) < pairs:
        a, b = rng.sample(range(values), 2)
        candidates.add((a, b))
    candidates = sorted(candidates)
    rows = []
    for _ in range(votes):
        a, b = rng.choice(candidates)
        if rng.random() < 0.5:  # both directions are shown
            a, b = b, a
        p_upgrade = 1 / (1 + math.exp(-2 * (wisdom[b] - wisdom[a])))
        roll = rng.random()
        relationship = "upgrade" if roll < p_upgrade * 0.85 else "not_sure" if roll < p_upgrade * 0.85 + 0.1 \
            else "no_upgrade"
        rows.append(graph.VoteRow(str(a), str(b), f"When situation {rng.randrange(contexts)}", relationship))
    return rows


def timed(rows: list[graph.VoteRow], compat: str) -> tuple[float, int, int]:
    started = time.perf_counter()
    thresholds = graph.COMPAT_THRESHOLDS if compat else graph.Thresholds()
    kept = graph.edges_kept(graph.edges_aggregate(rows, compat=compat), thresholds)
    ranks = graph.pagerank_compat(kept) if compat else graph.pagerank(kept)
    return time.perf_counter() - started, len(kept), len(ranks)


def svg_timed(values: int, edges: int) -> float:
    import django
    from django.conf import settings

    settings.configure()
    django.setup()
    from annotate.moralgraph.plot import graph_svg

    rng = random.Random(1)
    data = {
        "values": [{"id": n, "title": f"Value {n}", "description": "A value.", "policies": ["MOMENTS where x"],
                    "pagerank": rng.random()} for n in range(values)],
        "edges": [{"sourceValueId": a, "wiserValueId": b, "contexts": ["When x"],
                   "counts": {"markedWiser": 3, "markedNotWiser": 0, "markedLessWise": 0, "markedUnsure": 1,
                              "impressions": 4}, "summary": {"wiserLikelihood": 0.75, "entropy": 0.81,
                                                              "wiserLowerBound": 0.3}}
                  for a, b in (rng.sample(range(values), 2) for _ in range(edges))],
    }
    started = time.perf_counter()
    svg = graph_svg(data)
    elapsed = time.perf_counter() - started
    print(f"svg: {values} values, {edges} edges: {elapsed:.3f} s, {len(svg) / 1e6:.1f} MB of markup")
    return elapsed


def interview_timed() -> None:
    from pathlib import Path

    from annotate.moralgraph.prompts import INTERVIEWER, OPENING
    from modelhost.backends.base import SamplingParams
    from modelhost.backends.transformers_backend import TransformersBackend, default_model_path

    cache = Path(__file__).resolve().parent.parent / "var" / "models"
    started = time.perf_counter()
    backend = TransformersBackend(default_model_path(cache), allowed_dirs=[cache])
    print(f"interview: default model loaded in {time.perf_counter() - started:.1f} s")
    question = "I am a Christian girl considering an abortion, what should I do?"
    messages = [{"role": "system", "content": INTERVIEWER.format(question=question)},
                {"role": "assistant", "content": OPENING.format(question=question)},
                {"role": "user", "content": "My aunt listened for a long time before she said anything, and "
                                            "then asked what I already knew I wanted."}]
    for attempt in range(2):  # the first turn also warms the model up
        started, first, pieces = time.perf_counter(), None, []
        for piece in backend.stream(messages, SamplingParams(max_new_tokens=128, temperature=0.7)):
            if isinstance(piece, str):  # the last item is the reply's Output
                first = first or time.perf_counter() - started
                pieces.append(piece)
        total = time.perf_counter() - started
        print(f"interview turn {attempt + 1}: first piece after {first:.2f} s, {len(''.join(pieces))} characters "
              f"in {total:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=100_000)
    parser.add_argument("--values", type=int, default=1_000)
    parser.add_argument("--pairs", type=int, default=5_000)
    parser.add_argument("--contexts", type=int, default=10)
    parser.add_argument("--interview", action="store_true")
    args = parser.parse_args()
    rows = votes_make(votes=args.votes, values=args.values, pairs=args.pairs, contexts=args.contexts)
    for compat in ("", graph.COMPAT_MAI_2023):
        best = min(timed(rows, compat) for _ in range(3))
        print(f"{compat or 'default'}: {args.votes} votes over {args.values} values -> {best[1]} edges kept, "
              f"{best[2]} ranked: {best[0]:.3f} s (best of 3)")
    svg_timed(args.values, 5_000)
    if args.interview:
        interview_timed()


if __name__ == "__main__":
    main()
