"""`make run`'s processes (web, two workers) stop within seconds when their process group gets SIGTERM, as a
terminal's Ctrl-C or a supervisor sends it, and leave nothing running. (bin/run kills what is left after
CONCORD_STOP_SECONDS: a worker in warm shutdown waits for its running task, which resumes on the next start.)"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import psutil
import pytest

from tests.workers import ROOT

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def in_session(sid: int) -> list[psutil.Process]:
    left = []
    for process in psutil.process_iter():
        try:
            if os.getsid(process.pid) == sid and process.status() != psutil.STATUS_ZOMBIE:
                left.append(process)
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return left


def test_stopping_bin_run_ends_every_process_within_seconds(tmp_path):
    port = free_port()
    # The embedded default in a folder of its own: no DATABASE_URL or broker of the test run.
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update(CONCORD_DATA_DIR=str(tmp_path), CONCORD_PORT=str(port), CONCORD_STOP_SECONDS="5",
               WEB_CONCURRENCY="1", WEB_THREADS="1", DJANGO_SETTINGS_MODULE="config.settings")

    def manage(*args: str) -> str:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
                              capture_output=True, text=True).stdout

    manage("migrate", "--noinput", "-v0")
    log = (tmp_path / "run.log").open("w")
    run = subprocess.Popen(["bin/run"], cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 120
        while answers(f"http://127.0.0.1:{port}/healthz") != 200:  # web up and both workers beating
            assert time.monotonic() < deadline, "bin/run did not come up within 120 s"
            time.sleep(0.5)
        assert len(in_session(run.pid)) >= 4  # bin/run, gunicorn, two workers (and their children)

        os.killpg(run.pid, signal.SIGTERM)
        os.kill(run.pid, signal.SIGTERM)  # as `make run` passes it on: the same signal twice is not "force"
        signalled = time.monotonic()
        deadline = signalled + 20
        while in_session(run.pid):
            assert time.monotonic() < deadline, f"still running 20 s after SIGTERM: {in_session(run.pid)}"
            time.sleep(0.2)
        if "Forcing" in (tmp_path / "run.log").read_text():  # only once CONCORD_STOP_SECONDS are up
            assert time.monotonic() - signalled >= 5
    finally:
        for process in in_session(run.pid):
            process.kill()
