"""Worker liveness: a thread in each worker's main process records a heartbeat row.

The row is written from the same process that consumes the broker, and removed on a clean
shutdown, so /healthz sees a stopped worker at once and a killed one after three missed beats. Each beat also
reconciles background runs (core.runs.runs_reconcile); once more at start, before this worker takes any task, runs
still held under its own name count as orphans of its previous life.
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
            _reconcile()
        except Exception:  # a database hiccup must not kill the worker; /healthz will show it
            logger.exception("worker heartbeat failed")
        finally:
            connection.close()
        _stop.wait(settings.WORKER_HEARTBEAT_SECONDS)


def _reconcile(exclude_worker: str = "") -> None:
    from core.runs import runs_reconcile

    sent = runs_reconcile(exclude_worker=exclude_worker)
    if sent:
        logger.info("sent again the runs whose message was lost: %s", ", ".join(str(run) for run in sent))


@worker_ready.connect
def _start_heartbeat(sender, **kwargs) -> None:
    hostname = sender.hostname
    try:  # here, before the event loop runs any task: runs under this name are a previous life's
        _reconcile(exclude_worker=hostname)
    except Exception:
        logger.exception("could not reconcile background runs at start")
    finally:
        connection.close()
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
