import time
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from core.models import HealthProbe, WorkerHeartbeat
from core.queues import Queue


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        result = check() or {}
        ok = result.pop("ok", True)
    except Exception as error:  # report any failure as data: this is a health page
        result, ok = {"error": f"{type(error).__name__}: {error}"}, False
    return {"ok": ok, "ms": round((time.perf_counter() - started) * 1000, 1), **result}


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"vendor": connection.vendor}


def _broker() -> dict:
    from celery import current_app as app  # the project app (config/celery.py), without importing upward

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=3)
        return {"transport": conn.transport_cls if isinstance(conn.transport_cls, str) else conn.transport.driver_name}


def workers_alive() -> dict[str, list[str]]:
    """Live worker host names per queue (a worker is live if it beat within three intervals)."""
    cutoff = timezone.now() - timedelta(seconds=3 * settings.WORKER_HEARTBEAT_SECONDS)
    by_queue: dict[str, list[str]] = {queue.value: [] for queue in Queue}
    for beat in WorkerHeartbeat.objects.filter(last_seen__gte=cutoff).order_by("hostname"):
        for queue in beat.queues:
            by_queue.setdefault(queue, []).append(beat.hostname)
    return by_queue


def _workers() -> dict:
    by_queue = workers_alive()
    missing = [queue.value for queue in Queue if not by_queue[queue.value]]
    result = {"ok": not missing, "queues": by_queue}
    if missing:
        result["error"] = "no live worker consumes: " + ", ".join(missing)
    return result


def _probe() -> dict:
    """Send a probe to every queue and wait for a worker to answer each one."""
    from core.services.workers import health_probe_create, health_probe_prune
    from core.tasks import health_probe_answer

    health_probe_prune(older_than=timezone.now() - timedelta(hours=1))
    probes = {queue.value: health_probe_create(queue=queue.value) for queue in Queue}
    for queue, probe in probes.items():
        health_probe_answer.apply_async(args=[str(probe.pk)], queue=queue)
    timeout = settings.HEALTHZ_PROBE_TIMEOUT_SECONDS
    deadline = time.monotonic() + timeout
    answered: dict[str, HealthProbe] = {}
    sent = HealthProbe.objects.filter(pk__in=[p.pk for p in probes.values()])
    try:
        while len(answered) < len(probes) and time.monotonic() < deadline:
            answered = {row.queue: row for row in sent.filter(answered_at__isnull=False)}
            time.sleep(0.05)
    finally:
        sent.delete()  # a late answer then finds no row and does nothing
    result = {
        queue: (
            {"answered_by": answered[queue].answered_by,
             "round_trip_ms": round((answered[queue].answered_at - probe.created_at).total_seconds() * 1000, 1)}
            if queue in answered
            else {"error": f"no answer within {timeout} s"}
        )
        for queue, probe in probes.items()
    }
    return {"ok": len(answered) == len(probes), "queues": result}


def health_report(*, probe: bool = False) -> dict:
    checks = {"database": _timed(_database), "broker": _timed(_broker), "workers": _timed(_workers)}
    if probe:
        checks["probe"] = _timed(_probe)
    return {"ok": all(check["ok"] for check in checks.values()), "checks": checks}
