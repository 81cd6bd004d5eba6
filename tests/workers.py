"""Real Celery worker processes for integration tests (not eager, not in-thread)."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from core.models import WorkerHeartbeat

ROOT = Path(__file__).resolve().parent.parent


def database_url_of_test_db() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "") + (":" + quote(db["PASSWORD"]) if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class WorkerProcess:
    def __init__(self, *, log_dir: Path, queues=("gpu", "default"), broker_url: str | None = None, env=None,
                 hostname: str | None = None):
        self.hostname = hostname or f"test-{uuid.uuid4().hex[:8]}@localhost"
        self.queues = queues
        self.broker_url = broker_url or settings.CELERY_BROKER_URL
        self.log_path = log_dir / f"{self.hostname}-{uuid.uuid4().hex[:4]}.log"
        self.env = env or {}
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> "WorkerProcess":
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
            "DATABASE_URL": database_url_of_test_db(),
            "CELERY_BROKER_URL": self.broker_url,
            **self.env,
        }
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=INFO",
                   "-n", self.hostname, "-Q", ",".join(self.queues)]
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + timeout
        while not WorkerHeartbeat.objects.filter(hostname=self.hostname).exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"worker did not start; its log:\n{self.log_text()[-4000:]}")
            time.sleep(0.1)
        return self

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 30) -> None:
        """A warm shutdown, as Ctrl-C or a deploy would do."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout)
        self.log.close()

    def kill(self) -> None:
        """What the OOM killer or a power cut does: no clean-up at all."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.log.close()


def wait_for(condition, timeout: float = 20, worker: "WorkerProcess | None" = None) -> None:
    """Poll until `condition()` holds; else fail, with the worker's log when one is named."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out" + (f"; worker log:\n{worker.log_text()[-3000:]}" if worker else ""))
