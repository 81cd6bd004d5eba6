from datetime import timedelta

from django.utils import timezone

from core.models import WorkerHeartbeat
from core.services.workers import worker_heartbeat_record


def beat(hostname: str, queues: list[str], age_s: float = 0) -> None:
    worker_heartbeat_record(hostname=hostname, queues=queues, started_at=timezone.now())
    WorkerHeartbeat.objects.filter(hostname=hostname).update(last_seen=timezone.now() - timedelta(seconds=age_s))


def test_with_no_worker_it_is_unhealthy_and_says_why(client, db):
    response = client.get("/healthz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["ok"] and checks["broker"]["ok"]
    assert checks["workers"]["error"] == "no live worker consumes: default, gpu"


def test_every_queue_needs_a_live_worker(client, db):
    beat("gpu@box", ["gpu"])
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["workers"]["error"] == "no live worker consumes: default"
    beat("default@box", ["default"])
    assert client.get("/healthz").status_code == 200


def test_a_worker_that_missed_three_beats_is_dead(client, settings, db):
    beat("all@box", ["gpu", "default"], age_s=3 * settings.WORKER_HEARTBEAT_SECONDS + 1)
    assert client.get("/healthz").status_code == 503


def test_it_needs_no_login_and_is_never_cached(client, db):
    response = client.get("/healthz")
    assert "no-cache" in response["Cache-Control"]
