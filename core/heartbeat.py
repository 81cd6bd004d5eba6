"""Worker liveness: a thread in each worker's main process records a heartbeat row.

The row is written from the same process that consumes the broker, and removed on a clean
shutdown, so /healthz sees a stopped worker at once and a killed one after three missed beats.
"""

import logging
import threading

from celery.signals import worker_ready, worker_shutdown
from django.conf import settings
from django.db import connection
from django.utils import timezone

logger = logging.getLogger(__name__)
_stop = threading.Event()
_state: dict = {}


def _beat(hostname: str, queues: list[str]) -> None:
    from core.services.workers import worker_heartbeat_record

    started_at = timezone.now()
    while not _stop.is_set():
        try:
            worker_heartbeat_record(hostname=hostname, queues=queues, started_at=started_at)
        except Exception:  # a database hiccup must not kill the worker; /healthz will show it
            logger.exception("worker heartbeat failed")
        finally:
            connection.close()
        _stop.wait(settings.WORKER_HEARTBEAT_SECONDS)


@worker_ready.connect
def _start_heartbeat(sender, **kwargs) -> None:
    hostname = sender.hostname
    queues = [queue.name for queue in sender.task_consumer.queues]
    _stop.clear()
    thread = threading.Thread(target=_beat, args=(hostname, queues), name="concord-heartbeat", daemon=True)
    thread.start()
    _state.update(hostname=hostname, thread=thread)


@worker_shutdown.connect
def _stop_heartbeat(**kwargs) -> None:
    from core.services.workers import worker_heartbeat_clear

    if "thread" not in _state:
        return
    _stop.set()
    _state["thread"].join(timeout=5)
    worker_heartbeat_clear(hostname=_state["hostname"])
    connection.close()
