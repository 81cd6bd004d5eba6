"""The model host on real worker processes: generation, a worker killed mid-job, streaming through a worker."""


import pytest
from django.core.management import call_command

from modelhost.models import GenerationJob, GenerationOutput, StreamedReply
from modelhost.services.jobs import generation_job_create
from modelhost.services.replies import reply_create, reply_events
from tests.workers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]




def test_a_worker_killed_mid_job_loses_nothing_and_duplicates_nothing(start_worker, tiny_endpoint, model_env):
    worker = start_worker(env=model_env, queues=("gpu",))
    job = generation_job_create(
        label="kill me", conversations=[(f"q{i}", f"Question number {i}?") for i in range(40)],
        endpoints=[tiny_endpoint], n=2, params={"max_new_tokens": 200}, seed=5,
    )
    job_row = GenerationJob.objects.filter(pk=job.pk)
    wait_for(lambda: job_row.get().done >= 4, timeout=120, worker=worker)
    worker.kill()
    done_at_kill = job_row.get().done
    assert done_at_kill < job.total, "the job finished before the kill; make it longer"
    assert job_row.get().status == "running"

    restarted = start_worker(env=model_env, queues=("gpu",), hostname=worker.hostname)  # same name, as a restart
    wait_for(lambda: job_row.get().status == "done", timeout=180, worker=restarted)

    job.refresh_from_db()
    outputs = GenerationOutput.objects.filter(request__job=job)
    keys = list(outputs.values_list("request__key", "sample_index"))
    assert len(keys) == len(set(keys)) == job.total == job.done == 80
    assert job.attempts == 2


def test_candidates_for_a_campaign_come_from_a_real_worker(start_worker, tiny_endpoint, model_env, campaign):
    from tests.factories import PromptFactory

    PromptFactory.create_batch(3, campaign=campaign)
    worker = start_worker(env=model_env)
    call_command("generate_candidates", campaign.name, "--n", "2", "--wait")
    job = GenerationJob.objects.get()
    assert (job.status, job.done, job.worker) == ("done", 6, worker.hostname)
    assert job.source == f"annotate.campaign:{campaign.pk}"
    assert sorted(job.requests.values_list("key", flat=True)) == sorted(
        f"prompt:{pk}" for pk in campaign.prompts.values_list("pk", flat=True))


def test_a_reply_streams_through_a_worker(start_worker, tiny_endpoint, model_env, settings, manager):
    settings.MODELHOST_STREAM_VIA = "worker"
    worker = start_worker(env={**model_env, "MODELHOST_STREAM_VIA": "worker"}, queues=("gpu",))
    reply = reply_create(endpoint=tiny_endpoint, messages="Stream please", params={"max_new_tokens": 40},
                         created_by=manager)
    events = list(reply_events(reply=reply))
    assert events[-1][0] == "done", worker.log_text()[-2000:]
    streamed = "".join(data for event, data in events if event == "token")
    reply.refresh_from_db()
    assert ("Cut at the token limit" in events[-1][1]) == (reply.finish_reason == "length")
    assert reply.status == StreamedReply.Status.DONE and streamed == reply.text != ""
    assert reply.prompt_tokens > 3 and 1 <= reply.completion_tokens <= 40 and reply.finish_reason in {"stop", "length"}
