"""Worker start-up for model work: load the default model once per process (core.heartbeat picks up orphaned jobs)."""

import logging

from celery.signals import worker_init, worker_process_init
from django.conf import settings

from core.queues import Queue

logger = logging.getLogger(__name__)


def _preload() -> None:
    from modelhost.registry import backend_for
    from modelhost.services.endpoints import endpoint_get_default

    try:
        backend_for(endpoint_get_default())
    except Exception:  # the task that needs the model will report the error on its job
        logger.exception("could not preload the default model")


def _consumes_gpu() -> bool:
    from celery import current_app as app  # the project app (config/celery.py), without importing upward

    return Queue.GPU in (app.amqp.queues.consume_from or {})  # None: no -Q, the default queue only


@worker_process_init.connect
def _load_in_child(**kwargs) -> None:
    # Prefork children: load after the fork (CUDA state does not survive fork).
    if settings.MODELHOST_PRELOAD and _consumes_gpu():
        _preload()


@worker_init.connect
def _load_in_solo_worker(sender, **kwargs) -> None:
    if settings.MODELHOST_PRELOAD and "solo" in str(sender.pool_cls).lower() and _consumes_gpu():
        _preload()
