from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import HealthProbe, WorkerHeartbeat
from core.services.workers import worker_heartbeat_record


def beat(hostname: str, queues: list[str], age_s: float = 0) -> None:
    worker_heartbeat_record(hostname=hostname, queues=queues, started_at=timezone.now())
    WorkerHeartbeat.objects.filter(hostname=hostname).update(last_seen=timezone.now() - timedelta(seconds=age_s))


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


def test_with_no_worker_it_is_unhealthy_and_says_why_to_staff(staff):
    response = staff.get("/healthz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["ok"] and checks["broker"]["ok"]
    assert checks["workers"]["error"] == "no live worker consumes: default, gpu"


def test_every_queue_needs_a_live_worker(staff):
    beat("gpu@box", ["gpu"])
    response = staff.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["workers"]["error"] == "no live worker consumes: default"
    beat("default@box", ["default"])
    assert staff.get("/healthz").status_code == 200


def test_a_worker_that_missed_three_beats_is_dead(client, settings, db):
    beat("all@box", ["gpu", "default"], age_s=3 * settings.WORKER_HEARTBEAT_SECONDS + 1)
    assert client.get("/healthz").status_code == 503


def test_it_needs_no_login_and_is_never_cached(client, db):
    response = client.get("/healthz")
    assert "no-cache" in response["Cache-Control"]


def test_anonymous_visitors_and_annotators_learn_ok_or_not_and_nothing_more(client, annotator):
    beat("gpu@secret-host", ["gpu", "default"])
    assert client.get("/healthz").json() == {"ok": True}
    client.force_login(annotator)
    response = client.get("/healthz")
    assert response.json() == {"ok": True} and b"secret-host" not in response.content


def test_only_staff_or_the_token_may_probe(client, annotator, settings):
    settings.HEALTHZ_TOKEN = "monitor-secret"
    assert client.get("/healthz?probe=1").status_code == 403
    assert client.get("/healthz?probe=1", HTTP_X_HEALTHZ_TOKEN="wrong").status_code == 403
    client.force_login(annotator)
    assert client.get("/healthz?probe=1").status_code == 403
    client.logout()
    detailed = client.get("/healthz", HTTP_X_HEALTHZ_TOKEN="monitor-secret")
    assert "checks" in detailed.json()


def test_a_probe_runs_once_per_interval_and_leaves_no_rows(staff, settings):
    settings.HEALTHZ_PROBE_TIMEOUT_SECONDS = 0  # no worker runs here to answer
    first = staff.get("/healthz?probe=1")
    assert first.status_code == 503 and "probe" in first.json()["checks"]
    again = staff.get("/healthz?probe=1")
    assert again.status_code == 429 and again["Retry-After"] == str(settings.HEALTHZ_PROBE_INTERVAL_SECONDS)
    assert not HealthProbe.objects.exists()
