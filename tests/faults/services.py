"""Private PostgreSQL and Redis servers that a fault test may restart or kill: never the shared ones, which other
tests and people use. Each lives in a temporary folder on a free port and is removed with it."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from bench.annotator_loop import free_port


def _wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answers on port {port}")


class PrivateRedis:
    """redis-server without persistence (--save ''): a restart loses every message, as a cache-configured Redis does."""

    def __init__(self, folder: Path):
        self.binary = shutil.which("redis-server")
        if not self.binary:
            pytest.skip("redis-server is not installed: the Redis fault tests need a private one to restart")
        self.folder, self.port, self.process = folder, free_port(), None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                   "--dir", str(self.folder)]
        self.process = subprocess.Popen(command, stdout=(self.folder / "redis.log").open("ab"),
                                        stderr=subprocess.STDOUT)
        _wait_port(self.port)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()  # no shutdown save either way: --save ''
            self.process.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()


def _postgres_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(versions[-1]).parent if versions else None


class PrivatePostgres:
    """A PostgreSQL cluster of its own (initdb, trust auth, user postgres). As root, its commands run as the postgres
    user, since PostgreSQL refuses to run as root."""

    def __init__(self, folder: Path):
        self.bin = _postgres_bin()
        if self.bin is None:
            pytest.skip("PostgreSQL's initdb/pg_ctl are not installed: the PostgreSQL fault test needs a private "
                        "server to restart")
        self.folder, self.port = folder, free_port()
        self.data = folder / "data"
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            if not shutil.which("runuser"):
                pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
            shutil.chown(folder, user="postgres")
            self.prefix = ["runuser", "-u", "postgres", "--"]

    def _run(self, *command: str) -> None:
        subprocess.run([*self.prefix, *command], check=True, capture_output=True, cwd=self.folder)

    def init(self) -> PrivatePostgres:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        return self.start()

    def start(self) -> PrivatePostgres:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.folder / "pg.log"),
                  "-w", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        """As a crash or a failover does: every session is cut, nothing is shut down cleanly."""
        self.stop("immediate")
        self.start()
