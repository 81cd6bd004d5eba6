"""The default cache when no CONCORD_CACHE_URL is set: files in the data folder, shared by every process of the
machine, so API throttles count a key once across gunicorn workers (memory per process let each worker count its
own share: N workers, N times the limit) and no service is needed.

Django's file cache lists its whole folder on every write to decide whether to cull; a throttle writes on every
request, and that listing was four fifths of the cost (0.65 ms of CPU a request with 100 keys, growing with each
key). Here a process culls at most once every CULL_EVERY_S, so the folder may pass MAX_ENTRIES for that long.
"""

import time

from django.core.cache.backends.filebased import FileBasedCache

CULL_EVERY_S = 10.0


class FileCache(FileBasedCache):
    _next_cull = 0.0

    def _cull(self) -> None:
        if time.monotonic() < self._next_cull:
            return
        self._next_cull = time.monotonic() + CULL_EVERY_S
        super()._cull()
