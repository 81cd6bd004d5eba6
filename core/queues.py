from enum import StrEnum


class Queue(StrEnum):
    """Celery queues. Which worker consumes which is deployment, not code."""

    DEFAULT = "default"  # imports, exports, bookkeeping
    GPU = "gpu"  # model work: one process per device, prefetch 1
