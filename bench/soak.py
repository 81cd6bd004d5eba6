"""Soak: annotators, API clients, a generation job and an export at once, for minutes, on gunicorn + PostgreSQL +
Redis + a Celery worker; then an integrity audit.

50 annotators (threads, each its own keep-alive connection) loop next -> submit on a live pairwise campaign; API
clients (managers with tokens) read the campaign, its report, the exports and the job, paced under the API
throttles; a generation job (the tiny random model, or --model smollm2) starts with the run and an export is asked
for half way. Prints throughput, p95 latencies, errors, and the audit (all must be 0): every submit acknowledged with
201 stored exactly once, no item judged more than k times, no annotator holding two leases, no stuck job.

    .venv/bin/python -m bench.soak [--minutes 10] [--annotators 50] [--api-clients 5] [--items 20000]
                                   [--model tiny|smollm2] [--jobs-prompts 200] [--redis-url redis://127.0.0.1:6379/9]
                                   [--cache-url redis://127.0.0.1:6379/10]

PostgreSQL from DATABASE_URL (default a database of its own on 127.0.0.1), created and migrated when missing. The
clients run on the same machine as the server, so their CPU is part of the figures. The baseline of the same run is
the first minute: throughput and p95 per minute show drift (a leak or a growing query shows as a slope).
"""

from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

from bench.annotator_loop import (
    ROOT,
    Client,
    campaign_prepare,
    free_port,
    gunicorn_start,
    percentiles,
    queue_check,
    wait_ready,
)
from bench.chat_api import chat_prepare
from bench.common import django_setup, postgres_create

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/concord_soak"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
DEFAULT_CACHE_URL = "redis://127.0.0.1:6379/10"


class ApiClient(threading.Thread):
    """A manager's script: reads what a dashboard polls, about five requests a second (under the per-key throttle)."""

    def __init__(self, port: int, token: str, paths: list[str], deadline: float):
        super().__init__(daemon=True)
        self.port, self.paths, self.deadline = port, paths, deadline
        self.headers = {"Authorization": f"Token {token}"}
        self.ms: list[float] = []
        self.errors: list[str] = []

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        n = 0
        while time.perf_counter() < self.deadline:
            path = self.paths[n % len(self.paths)]
            n += 1
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers=self.headers)
                response = connection.getresponse()
                body = response.read()
                self.ms.append((time.perf_counter() - started) * 1000)
                if response.status != 200:
                    self.errors.append(f"GET {path.split('?')[0]} {response.status}: {body[:120]!r}")
            except Exception as error:  # every failure is a figure
                self.errors.append(f"GET {path} {type(error).__name__}: {error}")
                connection.close()
            time.sleep(0.2)


def worker_start(*, queue: str, url: str, redis_url: str, folder: Path, model_dirs: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": redis_url,
           "DJANGO_SETTINGS_MODULE": "config.settings", "MODELHOST_PRELOAD": "0",
           **({"MODELHOST_MODEL_DIRS": model_dirs} if model_dirs else {})}
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "--pool=solo",
                             "-n", f"soak-{queue}@%h", "--loglevel=INFO"], cwd=ROOT, env=env,
                            stdout=(folder / f"worker-{queue}.log").open("w"), stderr=subprocess.STDOUT)


def managers_prepare(campaign, count: int) -> list:
    """Managers of the campaign, each with an API token: [(user, token)]."""
    from accounts.models import User
    from accounts.services.tokens import token_create
    from accounts.services.users import user_create

    managers = [User.objects.filter(username=f"soak-manager-{n}").first()
                or user_create(username=f"soak-manager-{n}", role=User.Role.MANAGER) for n in range(count)]
    campaign.managers.add(*managers)
    return [(manager, token_create(user=manager, name="soak")[1]) for manager in managers]


def per_minute(clients: list[Client], begin: float) -> list[tuple[int, float]]:
    """(judgments, p95 submit ms) per minute of the run."""
    buckets: dict[int, list[float]] = defaultdict(list)
    for client in clients:
        for at, ms in zip(client.submit_at, client.submit_ms, strict=True):
            buckets[int((at - begin) // 60)].append(ms)
    return [(len(values), sorted(values)[int(0.95 * len(values))]) for _, values in sorted(buckets.items())]


def audit(campaign, clients: list[Client], job_id: int, export_id: int) -> dict[str, int]:
    """The promises, counted in the database once everything has stopped (all must be 0)."""
    from django.db.models import Count

    from annotate.models import Assignment, Judgment
    from exports.models import Export
    from modelhost.models import GenerationJob

    acknowledged = [pk for client in clients for pk in client.acknowledged]
    # Counted over the campaign, not by an IN list of the acknowledged ids (PostgreSQL takes 65,535 at most).
    stored = Counter(Judgment.objects.filter(item__campaign=campaign).values_list("assignment_id", flat=True))
    checks = queue_check(campaign, acknowledged=len(acknowledged))
    checks["submits acknowledged with 201 not stored exactly once"] = sum(stored[pk] != 1 for pk in acknowledged)
    checks["annotators holding more than one lease (orphaned leases)"] = (
        Assignment.objects.filter(item__campaign=campaign, status=Assignment.Status.ACTIVE)
        .values("annotator").annotate(n=Count("pk")).filter(n__gt=1).count())
    checks["generation job stuck (not done)"] = int(GenerationJob.objects.get(pk=job_id).status != "done")
    checks["export stuck (not done)"] = int(Export.objects.get(pk=export_id).status != "done")
    return checks


def wait_done(model, pk: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while model.objects.get(pk=pk).is_active and time.monotonic() < deadline:
        time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument("--api-clients", type=int, default=5)
    parser.add_argument("--items", type=int, default=20000, help="pairwise items (enough not to run out)")
    parser.add_argument("--overlap", type=int, default=3)
    parser.add_argument("--model", choices=["tiny", "smollm2"], default="tiny")
    parser.add_argument("--job-prompts", type=int, default=200, help="conversations of the generation job")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1), help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--redis-url", default=os.environ.get("CELERY_BROKER_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--cache-url", default=os.environ.get("CONCORD_CACHE_URL", DEFAULT_CACHE_URL),
                        help="the web processes' shared cache (API throttles count across them)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="concord-soak-"))
    url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    postgres_create(url)
    django_setup(url, CELERY_BROKER_URL=args.redis_url)
    from django.db import connection

    from exports.models import Export
    from exports.services import export_create
    from modelhost.models import GenerationJob, ModelEndpoint
    from modelhost.services.jobs import generation_job_create

    started = time.perf_counter()
    campaign, tokens = campaign_prepare(items=args.items, overlap=args.overlap, annotators=args.annotators)
    managers = managers_prepare(campaign, max(1, args.api_clients))
    endpoint_name, _, model_dirs = chat_prepare(args.model)
    connection.close()
    print(f"database  {connection.vendor} {connection.settings_dict['NAME']}; broker {args.redis_url}")
    print(f"campaign  #{campaign.pk}: {args.items} pairwise items, overlap {args.overlap}, {args.annotators} "
          f"annotators, {args.api_clients} API clients (set up in {time.perf_counter() - started:.1f} s)")

    port = free_port()
    os.environ.update(CELERY_BROKER_URL=args.redis_url, CONCORD_CACHE_URL=args.cache_url)  # gunicorn inherits them
    server = gunicorn_start(url=url, port=port, workers=args.workers, threads=args.threads,
                            log=folder / "gunicorn.log")
    workers = [worker_start(queue=queue, url=url, redis_url=args.redis_url, folder=folder, model_dirs=model_dirs)
               for queue in ("gpu", "default")]
    try:
        wait_ready(port, tokens[0], server)
        clients = [Client(port=port, token=token, campaign_id=campaign.pk) for token in tokens]
        for client in clients:
            client.warm_up()
        print(f"server    gunicorn gthread {args.workers} x {args.threads} on port {port}, a Celery worker "
              f"on each queue (gpu, default), {os.cpu_count()} CPUs; logs in {folder}")
        manager = managers[0][0]
        job = generation_job_create(
            label="soak", conversations=[(f"q{n}", f"Question {n}: say something helpful.")
                                        for n in range(args.job_prompts)],
            endpoints=[ModelEndpoint.objects.get(name=endpoint_name)], n=2, params={"max_new_tokens": 32},
            created_by=manager)
        begin = time.perf_counter()
        deadline = begin + 60 * args.minutes
        paths = ["/api/v1/campaigns", f"/api/v1/campaigns/{campaign.pk}/report", "/api/v1/exports", "/api/v1/me"]
        api_clients = [ApiClient(port, token, paths[n % len(paths):] + paths[:n % len(paths)]
                                 + ([f"/api/v1/generation-jobs/{job.pk}"] if user == manager else []), deadline)
                       for n, (user, token) in enumerate(managers[:args.api_clients])]
        threads = [threading.Thread(target=client.run, args=(deadline,)) for client in clients]
        for thread in [*threads, *api_clients]:
            thread.start()
        time.sleep(30 * args.minutes)
        export = export_create(spec={"campaigns": [campaign.pk], "format": "dpo", "filetype": "jsonl"}, by=manager)
        connection.close()
        for thread in [*threads, *api_clients]:
            thread.join()
        elapsed = time.perf_counter() - begin
        wait_done(GenerationJob, job.pk, timeout=600)  # what is left after the clients stop still counts
        wait_done(Export, export.pk, timeout=300)
        job.refresh_from_db()
        export.refresh_from_db()
    finally:
        for process in [server, *workers]:
            process.terminate()
        for process in [server, *workers]:
            process.wait(timeout=60)

    judged = sum(client.judged for client in clients)
    errors = [error for client in clients for error in client.errors]
    api_errors = [error for client in api_clients for error in client.errors]
    print(f"\nran       {elapsed:.1f} s")
    print(f"judged    {judged} ({judged / elapsed:.1f} judgments/s)")
    print(f"next      {percentiles([ms for client in clients for ms in client.next_ms])}")
    print(f"submit    {percentiles([ms for client in clients for ms in client.submit_ms])}")
    print(f"api       {percentiles([ms for client in api_clients for ms in client.ms])}  "
          f"(n={sum(len(client.ms) for client in api_clients)})")
    minutes = per_minute(clients, begin)
    print("per min   " + "; ".join(f"{n} judged, p95 submit {p95:.0f} ms" for n, p95 in minutes))
    print(f"job       #{job.pk} {job.status}: {job.done}/{job.total} outputs, {job.completion_tokens} tokens "
          f"in {job.generation_seconds:.0f} s of generation, {job.attempts} start(s) {job.error}")
    print(f"export    #{export.pk} {export.status}: {export.rows} rows (snapshot at judgment "
          f"{export.snapshot_judgment_id}) {export.error}")
    print(f"errors    annotators {len(errors)}, API clients {len(api_errors)}; duplicate submits "
          f"{sum(c.duplicates for c in clients)}; reconnects {sum(c.reconnects for c in clients)}; "
          f"annotators with nothing left {sum(c.finished for c in clients)}")
    for error in sorted(set(errors + api_errors))[:10]:
        print(f"          {error}")

    checks = audit(campaign, clients, job.pk, export.pk)
    print("\naudit (all must be 0)")
    for name, count in checks.items():
        print(f"  {'ok ' if count == 0 else 'BAD'} {count:>5}  {name}")
    if errors or api_errors or any(checks.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
