"""Seconds an export spends in each stage, so that the slowest one is visible (logged, and printed by the bench).

read: the database queries and their rows turned into records (on the reader thread); aggregate: judgments to
verdicts; format: verdicts to rows and rows to Arrow tables; write: tables to JSON lines or Parquet, compression,
hashing and file writes (on the writers' threads, off the GIL). `waiting` is the main thread idle, for the reader or
a writer: the stages overlap, so the wall time is about the largest of read, aggregate + format + waiting, and write.
"""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

STAGES = ("read", "aggregate", "format", "write", "waiting")


class StageClock:
    def __init__(self):
        self.seconds = dict.fromkeys(STAGES, 0.0)
        self._lock = threading.Lock()  # the reader and writer threads add too

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.seconds[stage] += seconds

    @contextmanager
    def stage(self, stage: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - started)

    def timed(self, stage: str, work: Callable) -> Callable:
        def run(*args):
            with self.stage(stage):
                return work(*args)

        return run

    def iterate(self, stage: str, values: Iterator) -> Iterator:
        """The same values, the time taken to make them counted to `stage` once they end (one lock in all, not
        one per value)."""
        spent = 0.0
        try:
            while True:
                started = time.perf_counter()
                value = next(values, _END)
                spent += time.perf_counter() - started
                if value is _END:
                    return
                yield value
        finally:
            self.add(stage, spent)

    def summary(self) -> str:
        return ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in self.seconds.items())


_END = object()
