"""Workers killed mid-job and a broker that forgets: every job still completes once, with nothing duplicated."""

import json

import pytest
import redis

from annotate.services.exchange import campaign_import
from exports.models import Export
from exports.services import export_create, export_run
from modelhost.models import GenerationJob, GenerationOutput
from modelhost.services.jobs import generation_job_create
from tests.workers import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.django_db(transaction=True)]




def test_a_generation_job_whose_worker_is_killed_is_finished_by_another_worker_without_duplicates(
        start_worker, tiny_endpoint, model_env):
    worker = start_worker(env=model_env, queues=("gpu",))
    job = generation_job_create(
        label="kill me", conversations=[(f"q{i}", f"Question number {i}?") for i in range(24)],
        endpoints=[tiny_endpoint], n=2, params={"max_new_tokens": 100}, seed=5,
    )
    job_row = GenerationJob.objects.filter(pk=job.pk)
    wait_for(lambda: job_row.get().done >= 2, timeout=120, worker=worker)
    worker.kill()
    assert job_row.get().done < job.total, "the job finished before the kill; make it longer"

    # Another machine takes over under a name of its own: the job's message is not redelivered (the broker waits
    # for its visibility timeout), so only the reconciler can give the job back once the dead worker's beat is stale.
    other = start_worker(env=model_env, queues=("gpu",))
    wait_for(lambda: job_row.get().status == "done", timeout=240, worker=other)

    job.refresh_from_db()
    keys = list(GenerationOutput.objects.filter(request__job=job).values_list("request__key", "sample_index"))
    assert len(keys) == len(set(keys)) == job.total == job.done == 48
    assert (job.worker, job.attempts) == (other.hostname, 2)


@pytest.fixture
def big_campaign(manager):
    """Enough judgments that writing them takes a few progress reports."""
    lines = [json.dumps({"item": f"i{n}", "prompt": f"Question {n}: which answer helps more?",
                         "responses": [{"id": f"i{n}-a", "text": f"A careful answer to {n}. " * 8},
                                       {"id": f"i{n}-b", "text": f"A short answer to {n}."}],
                         "annotator": judge, "protocol": "pairwise", "choice": "a", "strength": -2})
             for n in range(4000) for judge in ("anna", "otto")]
    return campaign_import(creator=manager, name="Big", lines=lines)[0]


def test_an_export_whose_worker_is_killed_midway_is_written_whole_by_the_next_worker(
        shared_media, big_campaign, manager, start_worker):
    spec = {"campaigns": [big_campaign.pk], "format": "dpo", "filetype": "jsonl"}
    worker = start_worker(queues=("default",))
    export = export_create(spec=spec, by=manager)
    row = Export.objects.filter(pk=export.pk)
    wait_for(lambda: (lambda e: e.status == "running" and 0 < e.done < e.total)(row.get()), timeout=120,
             worker=worker)
    worker.kill()
    assert row.get().status == "running", "the export finished before the kill; make it bigger"

    other = start_worker(queues=("default",))
    wait_for(lambda: row.get().status == "done", timeout=180, worker=other)

    export.refresh_from_db()
    assert export.attempts == 2
    assert not list(export.directory.parent.glob(f"{export.pk}.partial-*"))  # the dead attempt's half is gone
    uninterrupted = export_create(spec=spec, by=manager, queue=False)
    export_run(export_id=uninterrupted.pk)
    uninterrupted.refresh_from_db()
    assert export.rows == uninterrupted.rows == 8000  # a pair per judgment
    assert export.content_hash == uninterrupted.content_hash  # the same rows, none twice


def test_a_job_queued_in_a_redis_that_restarts_empty_is_sent_again(private_redis, tasks_to, start_worker,
                                                                   tiny_endpoint, model_env):
    with tasks_to(private_redis.url):
        job = generation_job_create(label="queued", conversations=[("q", "Hello?")], endpoints=[tiny_endpoint],
                                    params={"max_new_tokens": 8})
    broker = redis.Redis.from_url(private_redis.url)
    assert broker.llen("gpu") == 1
    private_redis.restart()  # no persistence: the queued message is gone
    assert broker.llen("gpu") == 0

    worker = start_worker(broker_url=private_redis.url, queues=("gpu",),
                          env={**model_env, "CONCORD_RUN_REQUEUE_SECONDS": "2"})
    row = GenerationJob.objects.filter(pk=job.pk)
    wait_for(lambda: row.get().status == "done", timeout=60, worker=worker)
    assert GenerationOutput.objects.filter(request__job=job).count() == 1


def test_a_worker_whose_redis_restarts_goes_on_taking_jobs(private_redis, tasks_to, start_worker, tiny_endpoint,
                                                          model_env):
    worker = start_worker(broker_url=private_redis.url, queues=("gpu",), env=model_env)
    private_redis.restart()
    with tasks_to(private_redis.url):
        job = generation_job_create(label="after", conversations=[("q", "Hello?")], endpoints=[tiny_endpoint],
                                    params={"max_new_tokens": 8})
    row = GenerationJob.objects.filter(pk=job.pk)
    wait_for(lambda: row.get().status == "done", timeout=60, worker=worker)
