"""Loads that build millions of small objects at once."""

import gc
from contextlib import contextmanager


@contextmanager
def collector_paused():
    """The cyclic garbage collector off while a load runs, back as it was after.

    Every few thousand new containers (dicts, lists, tuples) the collector runs, and now and then it walks everything
    the load has kept so far: about a third of the time of reading a 1M-line file went there. What such a load drops
    holds no cycles, so reference counting frees it all the same."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
