"""Reading on a second thread while the caller writes: the database works on the next chunks meanwhile."""

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

from django.db import connection

T = TypeVar("T")
_END = object()


def read_ahead(chunks: Iterator[T], depth: int = 2) -> Iterator[T]:
    """The same chunks, read on a thread with a database connection of its own, so that the database works on
    the next chunks while the caller turns this one into rows. Inside a transaction (a test, an atomic block)
    the chunks are read in place: another connection would not see the transaction's rows."""
    if connection.in_atomic_block:
        yield from chunks
        return
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand(value) -> bool:
        while not stop.is_set():
            try:
                handoff.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in chunks:
                if not hand(chunk):
                    return
            hand(_END)
        except Exception as error:
            hand(error)
        finally:
            connection.close()  # this thread's own connection

    reader = threading.Thread(target=produce, name="export-reader", daemon=True)
    reader.start()
    try:
        while (value := handoff.get()) is not _END:
            if isinstance(value, Exception):
                raise value
            yield value
    finally:
        stop.set()
        reader.join()
