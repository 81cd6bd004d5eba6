"""The campaign report on 100k judgments, on SQLite and on PostgreSQL, against a naive row-by-row baseline.

Builds (once per database; reused when it is already there) a synthetic campaign with bulk_create: models of
different strength, annotators with a little position bias and a few careless ones, pairwise judgments and, on the
same responses, ratings, rankings of four and attribute scores, gold items and skipped assignments. Then times
`campaign_report` (everything, with 200-round bootstrap intervals) and a naive baseline written the way one would
first write it: iterate over Judgment objects and compute the point estimates (no intervals) in Python loops.

    .venv/bin/python -m bench.report [--judgments 100000] [--backend both|sqlite|postgres] [--rebuild]
        [--report-only] [--baseline REV]

PostgreSQL: DATABASE_URL, default postgres://postgres@127.0.0.1:5432/concord_bench_report (created when missing).
SQLite: var/bench/report.sqlite3. Each backend runs in its own process (Django binds one database per process).

Then the report alone runs in a fresh process of its own, from this tree and from the code of another commit
(`--baseline`, default the commit before the report's load was cut down; `--baseline ""` skips it), on the
same database: wall and CPU seconds of the call, and the process's peak RSS. `--report-only` skips the API, the page
and the naive loop (at a million judgments the naive loop takes minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

from bench.common import REPORT_BASELINE, baseline_tree, django_setup, postgres_create

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/concord_bench_report")
SQLITE_URL = f"sqlite:///{ROOT / 'var' / 'bench' / 'report.sqlite3'}"
CAMPAIGN = "Bench: report"
MODELS = 8
ANNOTATORS = 60
CARELESS = 3  # annotators who click at random
OVERLAP = 3
SHARES = {"pairwise": 0.6, "rating": 0.2, "ranking": 0.1, "attributes": 0.1}  # of the judgments
# Run with -c in a tree's root: the report of the bench campaign, once, in a process that does nothing else.
REPORT_ALONE = """
import json, os, resource, sys, time
os.environ.update(DATABASE_URL=sys.argv[1], DJANGO_DEBUG="0", DJANGO_SETTINGS_MODULE="config.settings")
import django
django.setup()
from annotate.models import Campaign
from annotate.report.metrics.report import campaign_report
campaign = Campaign.objects.get(name=sys.argv[2])
started, cpu = time.perf_counter(), time.process_time()
campaign_report(campaign=campaign)
print(json.dumps({"wall_s": time.perf_counter() - started, "cpu_s": time.process_time() - cpu,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def items_per_protocol(judgments: int) -> dict[str, int]:
    return {protocol: int(judgments * share) // OVERLAP for protocol, share in SHARES.items()}


def campaign_build(judgments: int):
    """The synthetic campaign, written with bulk_create in one transaction."""
    import numpy as np
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import User
    from annotate.models import Assignment, Campaign, Candidate, Item, ItemCandidate, Judgment, Prompt
    from annotate.protocols import ATTRIBUTES

    rng = np.random.default_rng(0)
    strength = np.linspace(1.5, -1.5, MODELS)
    now = timezone.now()
    with transaction.atomic():
        manager, _ = User.objects.get_or_create(username="bench-manager", defaults={"role": User.Role.MANAGER})
        campaign = Campaign.objects.create(name=CAMPAIGN, design=Campaign.RANK_VS_RATE, created_by=manager,
                                           overlap=OVERLAP, responses_per_item=2)
        campaign.managers.add(manager)
        existing = set(User.objects.filter(username__startswith="bench-annotator-").values_list("username",
                                                                                                flat=True))
        User.objects.bulk_create([User(username=f"bench-annotator-{n}") for n in range(ANNOTATORS)
                                  if f"bench-annotator-{n}" not in existing])
        annotators = list(User.objects.filter(username__startswith="bench-annotator-").order_by("pk")
                          .values_list("pk", flat=True))[:ANNOTATORS]

        per_item = items_per_protocol(judgments)
        prompt_count = per_item["pairwise"]
        prompts = Prompt.objects.bulk_create(
            [Prompt(campaign=campaign, external_id=f"p{n}", messages=[{"role": "user", "content": f"Q{n}?"}])
             for n in range(prompt_count)], batch_size=5000)
        # four responses per prompt, from four different models
        models = np.array([rng.choice(MODELS, 4, replace=False) for _ in range(prompt_count)])
        candidates = Candidate.objects.bulk_create(
            [Candidate(prompt=prompt, external_id=f"p{n}-r{k}", text=f"Answer {k} to {n}.",
                       model=f"model-{models[n, k]}") for n, prompt in enumerate(prompts) for k in range(4)],
            batch_size=5000)
        candidate_pk = np.array([c.pk for c in candidates]).reshape(prompt_count, 4)
        quality = strength[models] + rng.normal(0, 0.7, models.shape)  # of each response

        items, slots, layout = [], [], []  # layout: (protocol, prompt, responses) of each item
        for protocol, count in per_item.items():
            for n in range(count):
                size = 4 if protocol == "ranking" else 2
                prompt = n % prompt_count
                gold = protocol == "pairwise" and n % 100 == 0  # the truly better response is the answer
                items.append(Item(campaign=campaign, prompt=prompts[prompt], external_id=f"{protocol}-{n}",
                                  is_gold=gold, gold={"choice": "ab"[int(quality[prompt, 1] > quality[prompt, 0])]}
                                  if gold else None))
                layout.append((protocol, prompt, list(range(size))))
        Item.objects.bulk_create(items, batch_size=5000)
        for item, (_, prompt, responses) in zip(items, layout, strict=True):
            slots += [ItemCandidate(item=item, candidate_id=int(candidate_pk[prompt, k]), position=k)
                      for k in responses]
        ItemCandidate.objects.bulk_create(slots, batch_size=5000)

        rows, skips = [], []
        careless = set(annotators[:CARELESS])
        for number, (item, (protocol, prompt, responses)) in enumerate(zip(items, layout, strict=True)):
            ids = [f"p{prompt}-r{k}" for k in responses]
            for annotator in rng.choice(annotators, OVERLAP, replace=False).tolist():
                shown = rng.permutation(len(ids))
                seen = quality[prompt, responses] + rng.normal(0, 0.8, len(ids))
                if annotator in careless:
                    seen = rng.normal(0, 1, len(ids))
                seen[shown[0]] += 0.15  # a little bias for what is shown first
                answer = {}
                if protocol == "pairwise":
                    gap = seen[0] - seen[1]
                    answer["choice"] = "tie" if abs(gap) < 0.15 else ("a" if gap > 0 else "b")
                elif protocol == "ranking":
                    answer["ranking"] = [[ids[k]] for k in np.argsort(-seen)]
                elif protocol == "rating":
                    answer["ratings"] = {r: int(np.clip(round(4 + 1.2 * s), 1, 7)) for r, s in zip(ids, seen,
                                                                                                   strict=True)}
                else:
                    answer["attributes"] = {r: {**{name: int(np.clip(round(2 + s + rng.normal(0, 0.5)), 0, 4))
                                                   for name in ATTRIBUTES}, "unsafe": int(rng.random() < 0.02)}
                                            for r, s in zip(ids, seen, strict=True)}
                rows.append(Judgment(
                    item=item, annotator_id=annotator, protocol=protocol, presented_order=[ids[k] for k in shown],
                    time_on_task_ms=int(rng.lognormal(9.5, 0.6)), created_at=now,
                    gold_correct=(answer["choice"] == item.gold["choice"]) if item.is_gold else None, **answer))
            if number % 50 == 0:
                judges = {row.annotator_id for row in rows[-OVERLAP:]}
                extra = int(rng.choice([a for a in annotators if a not in judges]))
                skips.append(Assignment(item=item, annotator_id=extra, protocol=protocol, status="skipped",
                                        presented_order=ids, leased_at=now, expires_at=now, finished_at=now))
        Judgment.objects.bulk_create(rows, batch_size=5000)
        Assignment.objects.bulk_create(skips, batch_size=5000)
    return campaign


def naive_report(campaign) -> dict:
    """Point estimates the slow way: Judgment objects one by one, then Python loops. No intervals."""
    import krippendorff
    import numpy as np
    from scipy.stats import binomtest

    from annotate.models import Judgment

    choices, ratings, battles = defaultdict(dict), defaultdict(list), defaultdict(lambda: [0.0, 0])
    first_chosen = decided = 0
    comparisons = []
    judgments = Judgment.objects.filter(item__campaign=campaign).select_related("item").prefetch_related(
        "item__slots__candidate")
    for judgment in judgments.iterator(chunk_size=500):
        slots = [slot.candidate for slot in judgment.item.slots.all()]
        if judgment.protocol == "pairwise":
            choices[judgment.item_id][judgment.annotator_id] = judgment.choice
            comparisons.append((slots[0].external_id, slots[1].external_id, judgment.choice))
            if judgment.choice != "tie":
                decided += 1
                chosen = slots[0] if judgment.choice == "a" else slots[1]
                first_chosen += judgment.presented_order[0] == chosen.external_id
            score = {"a": 1.0, "b": 0.0, "tie": 0.5}[judgment.choice]
            battles[slots[0].model, slots[1].model][0] += score
            battles[slots[0].model, slots[1].model][1] += 1
        elif judgment.protocol == "rating":
            for response, value in judgment.ratings.items():
                ratings[response].append(value)

    # agreement on the pairwise choices
    agreeing, counts = [], defaultdict(int)
    for unit in choices.values():
        values = list(unit.values())
        for value in values:
            counts[value] += 1
        if len(values) >= 2:
            pairs = list(combinations(values, 2))
            agreeing.append(sum(a == b for a, b in pairs) / len(pairs))
    total = sum(counts.values())
    expected = sum((n / total) ** 2 for n in counts.values())
    annotators = sorted({a for unit in choices.values() for a in unit})
    matrix = np.full((len(annotators), len(choices)), np.nan)
    for column, unit in enumerate(choices.values()):
        for annotator, value in unit.items():
            matrix[annotators.index(annotator), column] = "abt".index(value[0])
    cohen = {}
    for first, second in combinations(annotators, 2):
        shared = [(u[first], u[second]) for u in choices.values() if first in u and second in u]
        if len(shared) >= 10:
            observed = sum(a == b for a, b in shared) / len(shared)
            chance = sum(sum(a == v for a, _ in shared) * sum(b == v for _, b in shared)
                         for v in ("a", "b", "tie")) / len(shared) ** 2
            cohen[first, second] = (observed - chance) / (1 - chance) if chance < 1 else None

    # consistency with the mean ratings
    mean = {response: sum(values) / len(values) for response, values in ratings.items()}
    consistent = rated = 0
    for first, second, choice in comparisons:
        if first in mean and second in mean:
            rated += 1
            implied = "a" if mean[first] > mean[second] else "b" if mean[first] < mean[second] else "tie"
            consistent += implied == choice

    # Bradley-Terry by MM, in Python
    models = sorted({m for pair in battles for m in pair})
    strength = dict.fromkeys(models, 1.0)
    for _ in range(200):
        for model in models:
            wins = sum(w if a == model else n - w for (a, b), (w, n) in battles.items() if model in (a, b))
            denominator = sum(n / (strength[a] + strength[b]) for (a, b), (w, n) in battles.items()
                              if model in (a, b))
            strength[model] = wins / denominator
    return {"percent_agreement": float(np.mean(agreeing)),
            "fleiss_kappa": (float(np.mean(agreeing)) - expected) / (1 - expected),
            "krippendorff_alpha": float(krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")),
            "cohen_pairs": len(cohen), "consistency": consistent / rated if rated else None,
            "position_p": binomtest(first_chosen, decided).pvalue, "models": len(strength)}


def interfaces_time(campaign) -> tuple[float, float]:
    """Seconds for the API response (rendered JSON) and the report page (HTML with its SVG plots)."""
    from django.test import RequestFactory
    from rest_framework.test import APIRequestFactory, force_authenticate

    from annotate.report.apis import CampaignReportApi
    from annotate.report.views import campaign_report_page

    manager = campaign.created_by
    request = APIRequestFactory().get(f"/api/v1/campaigns/{campaign.pk}/report")
    force_authenticate(request, user=manager)
    started = time.perf_counter()
    response = CampaignReportApi.as_view()(request, campaign_id=campaign.pk)
    response.render()
    api = time.perf_counter() - started
    request = RequestFactory().get(f"/annotate/reports/{campaign.pk}/")
    request.user = manager
    started = time.perf_counter()
    assert campaign_report_page(request, campaign_id=campaign.pk).status_code == 200
    return api, time.perf_counter() - started


def report_alone(tree: Path, url: str) -> dict:
    """The report in a fresh process of the code in `tree`: wall and CPU seconds of the call, peak RSS."""
    output = subprocess.run([sys.executable, "-c", REPORT_ALONE, url, CAMPAIGN], cwd=tree, stdout=subprocess.PIPE,
                            text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def run_backend(url: str, judgments: int, rebuild: bool, report_only: bool = False) -> dict:
    if url.startswith("postgres"):
        postgres_create(url)
    else:
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    django_setup(url)
    from django.db import connection

    from annotate.models import Campaign, Judgment
    from annotate.report.metrics.data import campaign_data
    from annotate.report.metrics.report import campaign_report

    campaign = Campaign.objects.filter(name=CAMPAIGN).first()
    planned = sum(items_per_protocol(judgments).values()) * OVERLAP
    if campaign is not None and (rebuild or Judgment.objects.filter(item__campaign=campaign).count() != planned):
        campaign.delete()
        campaign = None
    figures = {"backend": connection.vendor}
    if campaign is None:
        started = time.perf_counter()
        campaign = campaign_build(judgments)
        figures["build_s"] = time.perf_counter() - started
    figures["judgments"] = Judgment.objects.filter(item__campaign=campaign).count()
    if report_only:
        return figures

    started = time.perf_counter()
    campaign_data(campaign=campaign)
    figures["load_s"] = time.perf_counter() - started
    timings = []
    for _ in range(2):  # the first run also warms the database's cache
        started = time.perf_counter()
        report = campaign_report(campaign=campaign)
        timings.append(time.perf_counter() - started)
    figures["report_s"] = min(timings)
    figures["report_first_s"] = timings[0]
    figures["json_kb"] = len(json.dumps(report)) / 1024
    figures["api_s"], figures["page_s"] = interfaces_time(campaign)
    started = time.perf_counter()
    naive = naive_report(campaign)
    figures["naive_s"] = time.perf_counter() - started
    figures["check"] = {
        "krippendorff_alpha": (report["agreement"]["pairwise"]["krippendorff_alpha"]["value"],
                               round(naive["krippendorff_alpha"], 4)),
        "fleiss_kappa": (report["agreement"]["pairwise"]["fleiss_kappa"]["value"], round(naive["fleiss_kappa"], 4)),
    }
    figures["headline"] = {
        "pairwise_alpha": report["agreement"]["pairwise"]["krippendorff_alpha"],
        "consistency": report["rating_vs_ranking"]["consistency"],
        "first_shown": report["position_bias"]["pairwise"]["overall"],
        "outliers": [name for name, row in report["annotators"].items() if row["outlier"]["flagged"]],
        "leader": report["bradley_terry"][0],
    }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--judgments", type=int, default=100_000)
    parser.add_argument("--backend", choices=["both", "sqlite", "postgres"], default="both")
    parser.add_argument("--rebuild", action="store_true", help="build the campaign again even if it is there")
    parser.add_argument("--report-only", action="store_true",
                        help="build if needed, then time the report alone (no API, page or naive loop)")
    parser.add_argument("--baseline", default=REPORT_BASELINE,
                        help="a commit whose code runs the report after this tree's ('' for none)")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # a database URL: run there, print JSON
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_backend(args.child, args.judgments, args.rebuild, args.report_only)))
        return

    urls = {"sqlite": SQLITE_URL, "postgres": POSTGRES_URL}
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results = []
    for backend in backends:
        command = [sys.executable, "-m", "bench.report", "--child", urls[backend], "--judgments",
                   str(args.judgments), *(["--rebuild"] if args.rebuild else []),
                   *(["--report-only"] if args.report_only else [])]
        output = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
        trees = [("this tree", ROOT)] + ([(f"baseline {args.baseline}", baseline_tree(args.baseline))]
                                         if args.baseline else [])
        for label, tree in trees:
            alone = report_alone(tree, urls[backend])
            print(f"{backend}, {results[-1]['judgments']} judgments, full report in a process of its own, {label}: "
                  f"{alone['wall_s']:.1f} s wall, {alone['cpu_s']:.1f} s CPU, peak RSS {alone['rss_mib']:.0f} MiB",
                  flush=True)
    if args.report_only:
        return

    print(f"{'':<34}" + "".join(f"{r['backend']:>14}" for r in results))
    rows = [("judgments", "judgments", "{:.0f}"), ("build (bulk_create), s", "build_s", "{:.1f}"),
            ("load arrays (values_list), s", "load_s", "{:.2f}"), ("report, first run, s", "report_first_s", "{:.2f}"),
            ("report, warm, s", "report_s", "{:.2f}"), ("API response, s", "api_s", "{:.2f}"),
            ("report page, s", "page_s", "{:.2f}"), ("naive row-by-row, s", "naive_s", "{:.2f}"),
            ("report JSON, KiB", "json_kb", "{:.0f}")]
    for label, key, pattern in rows:
        print(f"{label:<34}" + "".join(f"{pattern.format(r[key]) if key in r else '(reused)':>14}"
                                       for r in results))
    for r in results:
        naive_per_fast = r["naive_s"] / r["report_s"]
        print(f"\n{r['backend']}: naive baseline (point estimates only) / full report = {naive_per_fast:.1f}x")
        print(f"  same numbers (report, naive): {r['check']}")
        print(f"  {json.dumps(r['headline'])}")


if __name__ == "__main__":
    main()
