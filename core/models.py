import uuid

from django.db import models


class WorkerHeartbeat(models.Model):
    """Written by every running Celery worker every few seconds; /healthz reads it."""

    hostname = models.CharField(max_length=255, unique=True)
    queues = models.JSONField(default=list)
    pid = models.IntegerField()
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField()

    def __str__(self) -> str:
        return self.hostname


class HealthProbe(models.Model):
    """A round trip through the broker: sent to one queue, answered by whichever worker takes it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    queue = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"{self.queue} probe {self.id}"
