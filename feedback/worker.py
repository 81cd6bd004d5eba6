"""Worker start-up for feedback: mining runs a dead worker left running are sent back to their stage's queue."""

import logging

from celery.signals import worker_ready

logger = logging.getLogger(__name__)


@worker_ready.connect
def _recover_mining(sender, **kwargs) -> None:
    from feedback.services.mining import mining_runs_recover

    recovered = mining_runs_recover(hostname=sender.hostname)
    if recovered:
        logger.info("requeued mining runs left running: %s", recovered)
