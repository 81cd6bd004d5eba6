"""The chat API under load, and chat-log import throughput.

`chat`: N clients stream chat completions from /v1/chat/completions (OpenAI-compatible) on gunicorn for --seconds,
each on its own keep-alive connection, and the figures are requests/s, p50/p95 of time to first token and of
the whole reply, and errors. The model runs inside the web processes (the embedded default, MODELHOST_STREAM_VIA
=inprocess): the tiny random model of the tests measures the app, --model smollm2 the bundled SmolLM2 on CPU.

--asgi serves the same through gunicorn with uvicorn workers (async streams) and --gpu-workers Celery processes
running the model, tokens relayed through Redis (--redis-url, also the broker): streams then hold no web thread.

`import`: writes a --conversations line file (WildChat, ShareGPT and our layouts mixed, some PII) and imports it
in this process, twice (the second import finds only duplicates); prints conversations/s and peak RSS.

    .venv/bin/python -m bench.chat_api chat [--clients 50] [--seconds 20] [--model tiny|smollm2] [--max-tokens 16]
                                            [--plain] [--workers 2xCPUs] [--threads 4] [--database-url URL]
                                            [--asgi [--gpu-workers 4] [--redis-url redis://127.0.0.1:6379/13]]
    .venv/bin/python -m bench.chat_api import [--conversations 100000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.annotator_loop import ROOT, free_port, gunicorn_start, percentiles
from bench.common import django_setup, postgres_create

os.environ.setdefault("HF_HUB_OFFLINE", "1")
QUESTIONS = ["What is the capital of France?", "Explain ranking versus rating.", "Write a haiku about rain.",
             "Mail me at ann@example.org", "Give two facts about the moon."]


def chat_prepare(model: str) -> tuple[str, str, str]:
    """An endpoint and an API key: (endpoint name, key, folder of allowed model files)."""
    from accounts.models import User
    from accounts.services.tokens import token_create
    from modelhost.models import ModelEndpoint
    from modelhost.services.endpoints import endpoint_get_default

    user = User.objects.filter(username="bench-app").first() or User.objects.create(username="bench-app")
    key = token_create(user=user, name="bench")[1]
    if model == "smollm2":
        from django.conf import settings

        from modelhost.backends.transformers_backend import default_model_path

        default_model_path(settings.MODELHOST_CACHE_DIR)  # convert once here, not in every web process
        return endpoint_get_default().name, key, ""
    from tests.tiny_model import tiny_model_save

    folder = Path(tempfile.mkdtemp(prefix="concord-tiny-"))
    path = tiny_model_save(folder / "tiny-llama")
    ModelEndpoint.objects.update_or_create(name="tiny", defaults={
        "model": str(path), "device": "cpu", "dtype": "float32", "max_context": 256})
    return "tiny", key, str(folder)


class Client:
    def __init__(self, port: int, key: str, model: str, max_tokens: int, stream: bool):
        self.port, self.model, self.max_tokens, self.stream = port, model, max_tokens, stream
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.ttft_ms: list[float] = []
        self.total_ms: list[float] = []
        self.errors: list[str] = []

    def ask(self) -> None:
        body = json.dumps({"model": self.model, "stream": self.stream, "max_tokens": self.max_tokens,
                           "messages": [{"role": "user", "content": random.choice(QUESTIONS)}]})
        started = time.perf_counter()
        try:
            self.connection.request("POST", "/v1/chat/completions", body, self.headers)
            response = self.connection.getresponse()
            if response.status != 200:
                self.errors.append(f"{response.status} {response.read()[:200]!r}")
                return
            first = None
            if not self.stream:
                json.loads(response.read())
                first = time.perf_counter()
            else:
                for line in response:  # chunked SSE, one `data: ...` line per chunk
                    if line.startswith(b'data: {"error"'):
                        self.errors.append(line[6:200].decode())
                    elif first is None and line.startswith(b"data: ") and b'"content": ""' not in line:
                        first = time.perf_counter()
                    if line.startswith(b"data: [DONE]"):
                        break
                response.read()
        except (OSError, http.client.HTTPException) as error:
            self.errors.append(f"{type(error).__name__}: {error}")
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            return
        done = time.perf_counter()
        self.ttft_ms.append(((first or done) - started) * 1000)
        self.total_ms.append((done - started) * 1000)

    def run(self, deadline: float) -> None:
        while time.perf_counter() < deadline:
            self.ask()


def wait_ready(port: int, key: str, server) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn exited; see its log")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/v1/models", headers={"Authorization": f"Bearer {key}"})
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not answer within 120 s")


def asgi_start(*, url: str, port: int, workers: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings", "LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "gunicorn", "config.asgi:application", "--bind", f"127.0.0.1:{port}",
               "--worker-class", "uvicorn_worker.UvicornWorker", "--workers", str(workers), "--timeout", "120"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def gpu_workers_start(*, url: str, count: int, folder: Path) -> list[subprocess.Popen]:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings", "MODELHOST_PRELOAD": "0"}
    return [subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "gpu", "--pool=solo",
                              "-n", f"bench-gpu-{n}@%h", "--loglevel=WARNING"], cwd=ROOT, env=env,
                             stdout=(folder / f"gpu-{n}.log").open("w"), stderr=subprocess.STDOUT)
            for n in range(count)]


def warm_up(port: int, key: str, model: str, max_tokens: int, clients: int) -> None:
    """Rounds of concurrent requests until one succeeds whole: every process has loaded torch and its model
    (which took over 30 s on a busy 2-core box)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        warm = [Client(port, key, model, max_tokens, True) for _ in range(clients)]
        threads = [threading.Thread(target=client.ask) for client in warm]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if not any(client.errors for client in warm):
            return
    raise SystemExit("the server still failed requests after 300 s of warm-up")


def chat(args, url: str, folder: Path) -> None:
    model, key, model_dir = chat_prepare(args.model)
    # The limits are per key and every client shares this one: lift them, the figure is the app's throughput.
    # One torch thread per process: several processes each spinning up a thread per core oversubscribe the CPUs
    # (the tiny model took 1 s a reply instead of 50 ms on a busy 2-core box).
    os.environ.update(FEEDBACK_REQUESTS_PER_MINUTE="1000000", FEEDBACK_TOKENS_PER_MINUTE="1000000000",
                      MODELHOST_MODEL_DIRS=model_dir, HF_HUB_OFFLINE="1", DJANGO_DEBUG="0", OMP_NUM_THREADS="1")
    port, log = free_port(), folder / "gunicorn.log"
    helpers = []
    if args.asgi:
        os.environ.update(CELERY_BROKER_URL=args.redis_url, FEEDBACK_STREAM_REDIS_URL=args.redis_url,
                          MODELHOST_STREAM_VIA="worker")
        helpers = gpu_workers_start(url=url, count=args.gpu_workers, folder=folder)
        server = asgi_start(url=url, port=port, workers=args.workers, log=log)
    else:
        os.environ.update(MODELHOST_STREAM_VIA="inprocess")
        server = gunicorn_start(url=url, port=port, workers=args.workers, threads=args.threads, log=log)
    try:
        wait_ready(port, key, server)
        warm_up(port, key, model, args.max_tokens, 2 * max(args.workers, args.gpu_workers if args.asgi else 0))
        clients = [Client(port, key, model, args.max_tokens, not args.plain) for _ in range(args.clients)]
        shape = (f"uvicorn workers x {args.workers}, {args.gpu_workers} gpu workers, Redis relay" if args.asgi
                 else f"gthread {args.workers} workers x {args.threads} threads, model in-process")
        print(f"server    gunicorn {shape}, {os.cpu_count()} CPUs, model {model}, max_tokens {args.max_tokens}, "
              f"{'plain' if args.plain else 'streamed'}; log {log}")
        begin = time.perf_counter()
        threads = [threading.Thread(target=client.run, args=(begin + args.seconds,)) for client in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - begin
    finally:
        for process in [server, *helpers]:
            process.terminate()
        for process in [server, *helpers]:
            process.wait(timeout=30)
    done = sum(len(client.total_ms) for client in clients)
    errors = [error for client in clients for error in client.errors]
    print(f"ran       {elapsed:.1f} s with {args.clients} concurrent clients")
    print(f"requests  {done} ({done / elapsed:.1f} requests/s)")
    print(f"ttft      {percentiles([ms for client in clients for ms in client.ttft_ms])}")
    print(f"total     {percentiles([ms for client in clients for ms in client.total_ms])}")
    print(f"errors    {len(errors)}")
    for error in sorted(set(errors))[:5]:
        print(f"          {error}")
    if errors:
        sys.exit(1)


def log_write(path: Path, conversations: int) -> None:
    """A log mixing the three layouts, with e-mails and phone numbers to scrub; every conversation distinct."""
    rng = random.Random(0)
    with path.open("w") as out:
        for n in range(conversations):
            turns = [(f"Question {n}: {rng.choice(QUESTIONS)} Call me on +1 555 010 {n % 10000:04d}.",
                      f"Answer {n}: " + " ".join(rng.choices(QUESTIONS, k=3)))
                     for _ in range(rng.randint(1, 3))]
            layout = n % 3
            if layout == 0:
                record = {"conversation_id": f"w{n}", "model": "gpt-4", "timestamp": "2023-04-09T00:02:53Z",
                          "conversation": [{"role": r, "content": t} for q, a in turns
                                           for r, t in (("user", q), ("assistant", a))]}
            elif layout == 1:
                record = {"id": f"s{n}", "conversations": [{"from": f, "value": t} for q, a in turns
                                                           for f, t in (("human", q), ("gpt", a))]}
            else:
                record = {"id": f"o{n}", "messages": [{"role": r, "content": t} for q, a in turns
                                                      for r, t in (("user", q), ("assistant", a))]}
            out.write(json.dumps(record) + "\n")


def server_cpu() -> float:
    """CPU seconds of this connection's PostgreSQL backend (0 on SQLite or a server on another machine): on a shared
    box CPU time says more than wall time, and on PostgreSQL half the work is the server's."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        stat = Path(f"/proc/{cursor.fetchone()[0]}/stat")
    if not stat.exists():
        return 0.0
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def import_run(args, folder: Path) -> None:
    from accounts.models import User
    from feedback.models import Message
    from feedback.services.imports import conversations_import

    path = folder / "log.jsonl"
    log_write(path, args.conversations)
    owner = User.objects.filter(username="bench-importer").first() or User.objects.create(username="bench-importer")
    print(f"file      {args.conversations} conversations, {path.stat().st_size / 1e6:.0f} MB")
    print(f"load      {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for attempt in ("first", "again"):
        started, cpu, server = time.perf_counter(), time.process_time(), server_cpu()
        result = conversations_import(path=path, owner=owner)
        seconds, cpu, server = time.perf_counter() - started, time.process_time() - cpu, server_cpu() - server
        print(f"{attempt:9} {result.created} created, {result.duplicates} duplicates in {seconds:.1f} s: "
              f"{result.lines / seconds:,.0f} conversations/s; CPU {cpu:.1f} s here + {server:.1f} s database "
              f"({result.lines / (cpu + server):,.0f} conversations/CPU-s)")
    print(f"messages  {Message.objects.filter(conversation__owner=owner).count()}")
    print(f"peak RSS  {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["chat", "import"])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--model", choices=["tiny", "smollm2"], default="tiny")
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--plain", action="store_true", help="whole replies instead of streams")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--asgi", action="store_true", help="uvicorn workers, gpu workers, Redis relay")
    parser.add_argument("--gpu-workers", type=int, default=4)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--database-url", help="PostgreSQL (created if missing); default SQLite in a temp folder")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="concord-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
    if args.database_url:
        postgres_create(url)
    django_setup(url)
    print(f"database  {url}")
    if args.what == "chat":
        chat(args, url, folder)
    else:
        import_run(args, folder)


if __name__ == "__main__":
    main()
