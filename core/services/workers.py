import os
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from core.models import HealthProbe, WorkerHeartbeat


def worker_heartbeat_record(*, hostname: str, queues: list[str], started_at: datetime) -> None:
    WorkerHeartbeat.objects.update_or_create(
        hostname=hostname,
        defaults={"queues": sorted(queues), "pid": os.getpid(), "started_at": started_at, "last_seen": timezone.now()},
    )


def worker_heartbeat_clear(*, hostname: str) -> None:
    WorkerHeartbeat.objects.filter(hostname=hostname).delete()


def health_probe_create(*, queue: str) -> HealthProbe:
    return HealthProbe.objects.create(queue=queue)


@transaction.atomic
def health_probe_answer(*, probe_id: str, hostname: str) -> None:
    # A redelivered probe finds it answered (or pruned) and does nothing.
    HealthProbe.objects.filter(pk=probe_id, answered_at__isnull=True).update(
        answered_at=timezone.now(), answered_by=hostname
    )


def health_probe_prune(*, older_than: datetime) -> None:
    HealthProbe.objects.filter(created_at__lt=older_than).delete()
