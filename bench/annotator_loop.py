"""Annotators at full speed: N API clients loop next -> submit against gunicorn on a live pairwise campaign.

Sets up a database (PostgreSQL from DATABASE_URL, created and migrated when missing; or with --sqlite the embedded
default, a SQLite file in a temporary folder), a campaign with --items pairwise items and overlap k, N annotators
with API tokens; starts gunicorn on a free port; runs the clients for --seconds; then prints judgments/s, latency
percentiles of next and submit, errors, where the CPU went, and checks the queue's promises in the database: no
item judged more than k times, no annotator twice on one item, every submitted assignment with exactly one judgment.
The clients run on the same machine as the server, so their CPU is part of the figures.

    .venv/bin/python -m bench.annotator_loop [--annotators 50] [--seconds 20] [--items 3000] [--overlap 3]
                                             [--workers 2xCPUs] [--threads 2] [--worker-class gthread]
                                             [--sqlite] [--profile]

--profile samples the gunicorn processes with py-spy and prints the functions of this project that hold the most
samples (the whole collapsed stacks are kept for a flame graph).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from bench.common import django_setup, postgres_create

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/concord_bench"
# One retry on a dropped keep-alive connection; both calls are idempotent (next returns the held task,
# submit has a client key).
RETRIED = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def campaign_prepare(*, items: int, overlap: int, annotators: int):
    """A live pairwise campaign and its annotators, made through the services. Returns (campaign, tokens)."""
    from accounts.models import User
    from accounts.services.tokens import token_create
    from accounts.services.users import user_create
    from annotate.models import Campaign
    from annotate.services.campaigns import (
        campaign_create,
        campaign_items_build,
        campaign_members_add,
        campaign_status_set,
    )
    from annotate.services.imports import prompts_import

    def user(username: str, role: str) -> User:
        return User.objects.filter(username=username).first() or user_create(username=username, role=role)

    manager = user("bench-manager", User.Role.MANAGER)
    campaign = campaign_create(creator=manager, name=f"Bench {time.strftime('%Y-%m-%d %H:%M')} {uuid.uuid4().hex[:6]}",
                               overlap=overlap)
    with tempfile.TemporaryFile() as prompts:  # a file, as a manager uploads it: the import streams it
        for n in range(items):
            prompts.write(json.dumps({"id": f"q{n}", "prompt": f"Question {n}: which answer helps more?",
                                      "responses": [{"id": f"q{n}-a", "text": f"A careful answer to {n}."},
                                                    {"id": f"q{n}-b", "text": f"A short answer to {n}."}]}).encode()
                          + b"\n")
        prompts.seek(0)
        started, cpu = time.perf_counter(), time.process_time()
        prompts_import(campaign=campaign, file=prompts, filename="bench.jsonl")
        imported, cpu_imported = time.perf_counter(), time.process_time()
    print(f"set-up    prompt import {imported - started:.1f} s (CPU {cpu_imported - cpu:.1f} s)", file=sys.stderr)
    campaign_items_build(campaign=campaign, by=manager, on_progress=progress_bar("item build"))
    print(f"set-up    item build {time.perf_counter() - imported:.1f} s "
          f"(CPU {time.process_time() - cpu_imported:.1f} s)", file=sys.stderr)
    names = [f"bench-annotator-{n}" for n in range(1, annotators + 1)]
    tokens = [token_create(user=user(name, User.Role.ANNOTATOR), name="bench")[1] for name in names]
    campaign_members_add(campaign=campaign, usernames=names, by=manager)
    campaign_status_set(campaign=campaign, status=Campaign.Status.LIVE, by=manager)
    return campaign, tokens


def progress_bar(label: str):
    """An on_progress(done, total) that draws a bar on stderr."""
    def draw(done: int, total: int) -> None:
        filled = 40 * done // max(total, 1)
        print(f"\r{label:<10}[{'#' * filled}{'.' * (40 - filled)}] {done:,}/{total:,}",
              end="" if done < total else "\n", file=sys.stderr, flush=True)

    return draw


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gunicorn_start(*, url: str, port: int, workers: int, threads: int, log: Path,
                   worker_class: str = "gthread") -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_ENV": "development", "DJANGO_DEBUG": "0",
           "DJANGO_SETTINGS_MODULE": "config.settings", "LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
               "--worker-class", worker_class, "--workers", str(workers), "--threads", str(threads),
               "--backlog", "256", "--keep-alive", "30", "--timeout", "60"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def wait_ready(port: int, token: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn exited; see its log")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/api/v1/me", headers={"Authorization": f"Token {token}"})
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not answer within 60 s")


@dataclass
class Client:
    """One annotator: its own keep-alive connection, its latencies and outcomes."""

    port: int
    token: str
    campaign_id: int
    next_ms: list[float] = field(default_factory=list)
    submit_ms: list[float] = field(default_factory=list)
    submit_at: list[float] = field(default_factory=list)  # perf_counter() when each submit answered
    judged: int = 0
    acknowledged: list[int] = field(default_factory=list)  # assignments whose submit answered 201
    duplicates: int = 0
    reconnects: int = 0
    errors: list[str] = field(default_factory=list)
    finished: bool = False  # nothing left for this annotator
    sent: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))  # when each kind was sent, last 60 s

    def __post_init__(self):
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        self.headers = {"Authorization": f"Token {self.token}", "Content-Type": "application/json"}

    def post(self, path: str, body: dict) -> tuple[int, bytes, float]:
        payload = json.dumps(body).encode()
        kind = path.rsplit("/", 1)[1]
        for attempt in (1, 2):
            started = time.perf_counter()
            try:
                self.connection.request("POST", path, body=payload, headers=self.headers)
                response = self.connection.getresponse()
                answer = response.status, response.read(), (time.perf_counter() - started) * 1000
                self.pace(kind, response, started)
                return answer
            except RETRIED:
                self.connection.close()
                self.reconnects += 1
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def pace(self, kind: str, response, started: float) -> None:
        """Keep a minute of send times per kind (a 429 names how many, so an over-counting throttle shows), and
        wait as Retry-After asks instead of spinning."""
        sent = self.sent[kind]
        sent.append(started)
        while sent[0] < started - 60:
            sent.popleft()
        if response.status == 429:
            time.sleep(min(60.0, float(response.getheader("Retry-After") or 1)))

    def failure(self, kind: str, status: int, body: bytes) -> None:
        sent = f" ({len(self.sent[kind])} {kind} requests in the minute before)" if status == 429 else ""
        self.errors.append(f"{kind} {status}: {body[:200]!r}{sent}")

    def warm_up(self) -> None:
        self.connection.request("GET", "/api/v1/me", headers=self.headers)
        self.connection.getresponse().read()

    def run(self, deadline: float) -> None:
        while time.perf_counter() < deadline and not self.finished:
            try:
                self.step()
            except Exception as error:  # every failure is a figure of the benchmark
                self.errors.append(f"{type(error).__name__}: {error}")
                self.connection.close()

    def step(self) -> None:
        status, body, elapsed = self.post(f"/api/v1/campaigns/{self.campaign_id}/next", {})
        self.next_ms.append(elapsed)
        if status == 204:
            self.finished = True
            return
        if status != 200:
            self.failure("next", status, body)
            return
        task = json.loads(body)
        choice = random.choice(["a", "b", "tie"])
        strength = {"a": -random.randint(1, 3), "b": random.randint(1, 3), "tie": 0}[choice]
        status, body, elapsed = self.post(f"/api/v1/assignments/{task['assignment']}/submit",
                                          {"choice": choice, "strength": strength, "client_key": uuid.uuid4().hex})
        self.submit_ms.append(elapsed)
        self.submit_at.append(time.perf_counter())
        if status == 201:
            self.judged += 1
            self.acknowledged.append(task["assignment"])
        elif status == 200:
            self.duplicates += 1
        else:
            self.failure("submit", status, body)


def percentiles(values: list[float]) -> str:
    if not values:
        return "no requests"
    ordered = sorted(values)

    def at(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    return f"p50 {at(0.50):6.1f} ms   p95 {at(0.95):6.1f} ms   p99 {at(0.99):6.1f} ms   max {ordered[-1]:7.1f} ms"


def queue_check(campaign, *, acknowledged: int) -> dict[str, int]:
    """The promises of the assignment queue, counted in the database (all must be 0)."""
    from django.db.models import Count

    from annotate.models import Assignment, Item, Judgment

    judgments = Judgment.objects.filter(item__campaign=campaign)
    submitted = Assignment.objects.filter(item__campaign=campaign, status=Assignment.Status.SUBMITTED)
    return {
        "items judged more than k times": Item.objects.filter(campaign=campaign).annotate(n=Count("judgments"))
        .filter(n__gt=campaign.overlap).count(),
        "(item, annotator) judged twice": judgments.values("item", "annotator").annotate(n=Count("id"))
        .filter(n__gt=1).count(),
        "submitted assignments without a judgment": submitted.filter(judgment__isnull=True).count(),
        "judgments without a submitted assignment": judgments.exclude(assignment__in=submitted).count(),
        "judgments stored minus submits acknowledged with 201": judgments.count() - acknowledged,
    }


def cpu_seconds(processes: list[psutil.Process]) -> dict[int, float]:
    seconds = {}
    for process in processes:
        try:
            times = process.cpu_times()
            seconds[process.pid] = times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return seconds


def postgres_processes() -> list[psutil.Process]:
    return [process for process in psutil.process_iter(["name"]) if process.info["name"] == "postgres"]


def profile_start(server: subprocess.Popen, seconds: float, output: Path) -> subprocess.Popen:
    py_spy = Path(sys.executable).with_name("py-spy")
    if not py_spy.exists():
        raise SystemExit(f"--profile needs py-spy: {Path(sys.executable).with_name('pip')} install py-spy")
    command = [str(py_spy), "record", "--pid", str(server.pid), "--subprocesses",
               "--nonblocking", "--rate", "50", "--format", "raw", "--duration", str(int(seconds)),
               "--output", str(output)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def postgres_waits(url: str, stop: threading.Event, waits: Counter) -> None:
    """Sample what the server's database sessions are doing: running, idle, or waiting (and on what)."""
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(url, autocommit=True) as connection:
        while not stop.wait(0.05):
            rows = connection.execute(
                "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'", [name])
            for state, kind, event in rows:
                waits[state if state != "active" or not kind else f"waiting: {kind}/{event}"] += 1


def profile_summary(path: Path, top: int = 20) -> None:
    """Where the server's CPU goes: the package running at each sample, and each project function
    (annotate/, accounts/) by the share of samples it is on the stack for."""
    inclusive, running, total = Counter(), Counter(), 0
    for row in path.read_text().splitlines():
        stack, _, count = row.rpartition(" ")
        frames = stack.split(";")
        total += int(count)
        where = frames[-1].rpartition("(")[2].split(":")[0].split("/")
        running["/".join(where[:2]) if where[0] == "django" and len(where) > 2 else where[0]] += int(count)
        for frame in {frame for frame in frames if "(annotate/" in frame or "(accounts/" in frame}:
            inclusive[frame] += int(count)
    print(f"\nprofile   {total} samples of the gunicorn processes (threads waiting on I/O left out); {path}")
    print("  running in:", ", ".join(f"{name} {100 * count / total:.0f}%" for name, count in running.most_common(8)))
    for frame, count in inclusive.most_common(top):
        print(f"  {100 * count / total:5.1f}%  {frame}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--items", type=int, default=3000)
    parser.add_argument("--overlap", type=int, default=3)
    # Processes over threads: a thread waiting for the GIL holds its request as surely as one waiting for the
    # database. Two per core, two threads each, was the best shape on a 2-core box (see the README).
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1), help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn process")
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"],
                        help="sync: one request per process at a time, no keep-alive")
    parser.add_argument("--sqlite", action="store_true", help="the embedded default: SQLite in a temporary folder")
    parser.add_argument("--profile", action="store_true", help="sample the server with py-spy")
    parser.add_argument("--setup-only", action="store_true", help="time the campaign's set-up, then stop")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="concord-bench-"))
    if args.sqlite:
        url = f"sqlite:///{folder / 'bench.sqlite3'}"
    else:
        url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
        postgres_create(url)
    django_setup(url)
    from django.db import connection

    started = time.perf_counter()
    campaign, tokens = campaign_prepare(items=args.items, overlap=args.overlap, annotators=args.annotators)
    connection.close()  # idle while the clients run; the checks afterwards reconnect
    database = connection.settings_dict
    print(f"database  {connection.vendor} {database['HOST'] or ''} {database['NAME']}")
    print(f"campaign  #{campaign.pk}: {args.items} pairwise items, overlap {args.overlap}, {args.annotators} "
          f"annotators (set up in {time.perf_counter() - started:.1f} s, CPU of this process "
          f"{sum(os.times()[:2]):.1f} s, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB)")
    if args.setup_only:
        return

    port = free_port()
    log = folder / "gunicorn.log"
    server = gunicorn_start(url=url, port=port, workers=args.workers, threads=args.threads, log=log,
                            worker_class=args.worker_class)
    try:
        wait_ready(port, tokens[0], server)
        clients = [Client(port=port, token=token, campaign_id=campaign.pk) for token in tokens]
        for client in clients:
            client.warm_up()
        print(f"server    gunicorn {args.worker_class}, {args.workers} workers x {args.threads} threads, port {port}, "
              f"{os.cpu_count()} CPUs; log {log}")
        server_processes = [psutil.Process(server.pid), *psutil.Process(server.pid).children()]
        cpu_before = (psutil.cpu_times(), os.times(), cpu_seconds(server_processes), cpu_seconds(postgres_processes()))
        profiler = profile_start(server, args.seconds, folder / "profile.txt") if args.profile else None
        waits, stop = Counter(), threading.Event()
        if args.profile and not args.sqlite:
            threading.Thread(target=postgres_waits, args=(url, stop, waits), daemon=True).start()
        begin = time.perf_counter()
        deadline = begin + args.seconds
        threads = [threading.Thread(target=client.run, args=(deadline,)) for client in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - begin
        stop.set()
        cpu_after = (psutil.cpu_times(), os.times(), cpu_seconds(server_processes), cpu_seconds(postgres_processes()))
        if profiler:
            profiler.wait(timeout=60)
    finally:
        server.terminate()
        server.wait(timeout=30)

    judged = sum(client.judged for client in clients)
    errors = [error for client in clients for error in client.errors]
    print(f"\nran       {elapsed:.1f} s with {args.annotators} concurrent annotators")
    print(f"judged    {judged} ({judged / elapsed:.1f} judgments/s)")
    print(f"next      {percentiles([ms for client in clients for ms in client.next_ms])}  "
          f"(n={sum(len(client.next_ms) for client in clients)})")
    print(f"submit    {percentiles([ms for client in clients for ms in client.submit_ms])}  "
          f"(n={sum(len(client.submit_ms) for client in clients)})")
    print(f"errors    {len(errors)}; duplicate submits {sum(c.duplicates for c in clients)}; "
          f"reconnects {sum(c.reconnects for c in clients)}; annotators with nothing left "
          f"{sum(c.finished for c in clients)}")
    for error in sorted(set(errors))[:10]:
        print(f"          {error}")
    box_before, box_after = cpu_before[0], cpu_after[0]
    busy = sum(box_after) - sum(box_before) - (box_after.idle - box_before.idle)
    client_cpu = sum(cpu_after[1][:2]) - sum(cpu_before[1][:2])
    server_cpu = sum(cpu_after[2].values()) - sum(cpu_before[2].values())
    postgres_cpu = sum(seconds - cpu_before[3].get(pid, 0) for pid, seconds in cpu_after[3].items())
    other_cpu = busy - server_cpu - postgres_cpu - client_cpu
    print(f"cpu       box {busy:.1f} s of {elapsed * (os.cpu_count() or 1):.1f} s: gunicorn {server_cpu:.1f} s, "
          f"postgres {postgres_cpu:.1f} s, these clients {client_cpu:.1f} s, other {other_cpu:.1f} s")
    if args.profile and (folder / "profile.txt").exists():
        profile_summary(folder / "profile.txt")
    if waits:
        print("\npostgres  sessions of the server, sampled every 50 ms")
        for state, count in waits.most_common(8):
            print(f"  {100 * count / sum(waits.values()):5.1f}%  {state}")

    checks = queue_check(campaign, acknowledged=judged)
    print("\nchecks (all must be 0)")
    for name, count in checks.items():
        print(f"  {'ok ' if count == 0 else 'BAD'} {count:>5}  {name}")
    if errors or any(checks.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
