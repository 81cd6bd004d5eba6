"""A real worker process on a real broker: the settings' broker, plus any in CONCORD_TEST_EXTRA_BROKERS."""

import os

import pytest
from django.conf import settings

from config.celery import app
from core.models import HealthProbe
from core.queues import Queue
from core.services.workers import health_probe_create
from core.tasks import health_probe_answer
from tests.workers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BROKERS = [settings.CELERY_BROKER_URL] + [
    url for url in os.environ.get("CONCORD_TEST_EXTRA_BROKERS", "").split(",") if url
]



@pytest.mark.parametrize("broker_url", BROKERS, ids=lambda url: url.split(":")[0])
def test_a_real_worker_takes_a_task_from_each_queue(start_worker, broker_url):
    worker = start_worker(broker_url=broker_url)
    probes = [health_probe_create(queue=queue.value) for queue in Queue]
    with app.connection_for_write(broker_url) as connection:
        for probe in probes:
            health_probe_answer.apply_async(args=[str(probe.pk)], queue=probe.queue, connection=connection)
    answered = HealthProbe.objects.filter(pk__in=[p.pk for p in probes], answered_by=worker.hostname)
    wait_for(lambda: answered.count() == len(probes), worker=worker)


def test_healthz_follows_the_worker_as_it_starts_and_stops(client, admin_user, start_worker):
    client.force_login(admin_user)  # the details and probes are for staff
    assert client.get("/healthz").status_code == 503
    worker = start_worker()
    response = client.get("/healthz?probe=1")
    assert response.status_code == 200, response.json()
    probe = response.json()["checks"]["probe"]["queues"]
    assert probe["gpu"]["answered_by"] == worker.hostname
    assert probe["default"]["answered_by"] == worker.hostname

    worker.stop()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["workers"]["error"] == "no live worker consumes: default, gpu"


def test_a_killed_worker_is_reported_dead_once_its_heartbeat_goes_stale(client, start_worker):
    worker = start_worker()
    assert client.get("/healthz").status_code == 200
    worker.kill()
    stale_after = 3 * settings.WORKER_HEARTBEAT_SECONDS
    wait_for(lambda: client.get("/healthz").status_code == 503, timeout=stale_after + 5)
