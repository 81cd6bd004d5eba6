from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from core.models import WorkerHeartbeat
from core.runs import MAX_STARTS, runs_reconcile
from modelhost.models import GenerationJob, GenerationOutput, GenerationRequest, ModelEndpoint
from modelhost.services import jobs
from modelhost.services.jobs import (
    generation_job_cancel,
    generation_job_create,
    generation_job_resume,
    generation_job_run,
)
from tests.modelhost.test_openai_backend import MODEL, server  # noqa: F401  (the scripted OpenAI-compatible server)

CONVERSATIONS = [("a", "Say something."), ("b", [{"role": "system", "content": "Be brief."},
                                                 {"role": "user", "content": "Hello?"}]), ("c", "Why?")]


def create(endpoint, **kwargs):
    return generation_job_create(**{"label": "test", "conversations": CONVERSATIONS, "endpoints": [endpoint],
                                    "n": 2, **kwargs})


def texts(job) -> dict:
    return {(o.request.key, o.sample_index): o.text for o in GenerationOutput.objects.filter(request__job=job)
            .select_related("request")}


def test_a_job_generates_n_samples_per_conversation_and_records_each(tiny_endpoint, django_capture_on_commit_callbacks):
    job = create(tiny_endpoint)
    generation_job_run(job_id=job.pk, hostname="here")
    job.refresh_from_db()
    assert (job.status, job.done, job.total) == ("done", 6, 6)
    assert job.completion_tokens > 0 and job.tokens_per_second > 0
    output = GenerationOutput.objects.filter(request__job=job).first()
    assert output.params["max_new_tokens"] == 8 and output.seed is not None
    assert output.prompt_tokens > 0 and 0 < output.completion_tokens <= 8
    assert output.finish_reason in {"stop", "length"} and output.latency_ms >= 0


def test_the_same_job_twice_gives_the_same_texts(tiny_endpoint):
    first, second = create(tiny_endpoint, seed=7), create(tiny_endpoint, seed=7)
    generation_job_run(job_id=first.pk)
    generation_job_run(job_id=second.pk)
    assert texts(first) == texts(second)
    assert len(set(texts(first).values())) > 1  # and the samples differ from each other


def test_running_a_job_again_fills_only_the_gaps(tiny_endpoint):
    job = create(tiny_endpoint, seed=3)
    generation_job_run(job_id=job.pk)
    before = texts(job)
    others = GenerationOutput.objects.filter(request__job=job).exclude(request__key="b")
    kept = set(others.values_list("pk", flat=True))
    GenerationOutput.objects.filter(request__job=job, request__key="b", sample_index=1).delete()
    GenerationJob.objects.filter(pk=job.pk).update(status="running", done=5)  # as a worker killed mid-job leaves it
    generation_job_run(job_id=job.pk)
    assert set(others.values_list("pk", flat=True)) == kept
    assert GenerationOutput.objects.filter(request__job=job).count() == 6
    assert texts(job) == before  # the refilled sample is the same draw
    job.refresh_from_db()
    assert (job.status, job.done) == ("done", 6)


def test_a_job_cancelled_midway_and_resumed_holds_every_output_once_as_an_uninterrupted_job_would(
        tiny_endpoint, monkeypatch):
    monkeypatch.setattr(jobs, "REQUESTS_PER_CALL", 2)  # several backend calls; cancelled in the first commit
    conversations = [(f"q{i}", f"Question number {i}?") for i in range(6)]
    whole = create(tiny_endpoint, conversations=conversations, seed=9)
    generation_job_run(job_id=whole.pk)
    job = create(tiny_endpoint, conversations=conversations, seed=9)

    def cancel_once_some_are_stored(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.startswith('INSERT INTO "modelhost_generationoutput"') and not cancelled:
            cancelled.append(generation_job_cancel(job=job))
        return result

    cancelled = []
    with connection.execute_wrapper(cancel_once_some_are_stored):
        generation_job_run(job_id=job.pk)
    job.refresh_from_db()
    stored = GenerationOutput.objects.filter(request__job=job).count()
    assert job.status == "cancelled" and 0 < job.done == stored < 12

    generation_job_resume(job=job)
    generation_job_run(job_id=job.pk)
    job.refresh_from_db()
    keys = list(GenerationOutput.objects.filter(request__job=job).values_list("request__key", "sample_index"))
    assert len(keys) == len(set(keys)) == job.done == 12 and job.status == "done"
    assert texts(job) == texts(whole)  # the same draws, none lost, none twice


def test_outputs_another_run_stored_first_are_left_to_it_and_the_rest_of_the_group_is_stored(tiny_endpoint):
    job = create(tiny_endpoint, seed=4)
    request = job.requests.get(key="a")

    def another_run_stores_one_first(execute, sql, params, many, context):
        # at the first commit's check that the job still runs, before its outputs are written
        if 'AS "a" FROM "modelhost_generationjob"' in sql and not raced:
            raced.append(True)
            GenerationOutput.objects.create(request=request, endpoint=tiny_endpoint, sample_index=1, text="theirs",
                                            params={}, seed=0, prompt_tokens=1, completion_tokens=1, latency_ms=1)
        return execute(sql, params, many, context)

    raced = []
    with connection.execute_wrapper(another_run_stores_one_first):
        generation_job_run(job_id=job.pk)
    job.refresh_from_db()
    keys = list(GenerationOutput.objects.filter(request__job=job).values_list("request__key", "sample_index"))
    assert len(keys) == len(set(keys)) == 6 and job.done == 5  # the other run counts its own
    assert GenerationOutput.objects.get(request=request, sample_index=1).text == "theirs"


def test_a_finished_or_cancelled_job_is_not_run_again(tiny_endpoint):
    job = create(tiny_endpoint)
    assert generation_job_cancel(job=job)
    generation_job_run(job_id=job.pk)
    assert GenerationOutput.objects.filter(request__job=job).count() == 0
    assert not generation_job_cancel(job=job)


def test_bad_input_is_refused_and_nothing_is_written(tiny_endpoint):
    cases = [
        {"conversations": []},
        {"conversations": [("a", "x"), ("a", "y")]},
        {"conversations": [("a", [{"role": "wizard", "content": "x"}])]},
        {"conversations": [("a", [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}])]},
        {"params": {"temprature": 0.5}},
        {"params": {"max_new_tokens": "ten"}},
        {"n": 0},
        {"endpoints": []},
    ]
    for case in cases:
        with pytest.raises(ValidationError):
            create(tiny_endpoint, **case)
    assert not GenerationJob.objects.exists() and not GenerationRequest.objects.exists()


def test_a_prompt_longer_than_the_context_is_truncated_and_says_so(tiny_endpoint):
    long_prompt = "annotators compare two answers " * 200
    job = generation_job_create(label="long", conversations=[("long", long_prompt)], endpoints=[tiny_endpoint])
    generation_job_run(job_id=job.pk)
    output = GenerationOutput.objects.get(request__job=job)
    assert output.truncated_prompt_tokens > 0
    assert output.prompt_tokens + 8 <= 256


def test_a_job_that_keeps_dying_is_given_up_with_a_reason(tiny_endpoint):
    job = create(tiny_endpoint)
    GenerationJob.objects.filter(pk=job.pk).update(attempts=MAX_STARTS, status="running")
    generation_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and "Gave up after" in job.error


def test_jobs_left_running_by_a_dead_worker_are_requeued(tiny_endpoint, django_capture_on_commit_callbacks):
    job = create(tiny_endpoint)
    GenerationJob.objects.filter(pk=job.pk).update(status="running", worker="gone@box")
    with django_capture_on_commit_callbacks() as callbacks:
        assert runs_reconcile(exclude_worker="new@box") == [job]
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert job.status == "queued"


def test_a_running_job_estimates_its_speed_and_time_left_from_what_it_has_made():
    job = GenerationJob(status="running", done=2, total=10, completion_tokens=100, tokens_in_flight=20,
                        generation_seconds=6, params={"max_new_tokens": 64})
    assert job.tokens_per_second == 20  # (100 stored + 20 in flight) / 6 s
    assert job.seconds_left == pytest.approx((8 * 50 - 20) / 20)  # 8 outputs of 50 tokens, 20 already written
    before_any = GenerationJob(status="running", done=0, total=4, tokens_in_flight=32, generation_seconds=2,
                               params={"max_new_tokens": 64})
    assert before_any.seconds_left == pytest.approx((4 * 64 - 32) / 16)  # at most max_new_tokens an output
    assert GenerationJob(status="done", done=4, total=4, completion_tokens=9, generation_seconds=1).seconds_left is None


def test_a_cut_prompt_is_explained_in_words(tiny_endpoint):
    job = generation_job_create(label="long", conversations=[("p", "word " * 400)], endpoints=[tiny_endpoint],
                                params={"max_new_tokens": 8})
    generation_job_run(job_id=job.pk)
    output = GenerationOutput.objects.select_related("endpoint").get(request__job=job)
    assert output.truncated_prompt_tokens > 0
    assert output.truncation_note == (
        f"The prompt was {output.prompt_tokens + output.truncated_prompt_tokens:,} tokens, more than tiny reads at "
        f"once with 8 left for the reply: its oldest {output.truncated_prompt_tokens:,} tokens (earlier turns first) "
        f"were cut, and the reply was written from the last {output.prompt_tokens:,}.")
    assert output.request.excerpt.startswith("word word")


def test_a_job_held_by_a_live_worker_is_neither_requeued_nor_started_twice(tiny_endpoint,
                                                                            django_capture_on_commit_callbacks):
    job = create(tiny_endpoint)
    WorkerHeartbeat.objects.create(hostname="busy@box", queues=["gpu"], pid=1, started_at=timezone.now(),
                                   last_seen=timezone.now())
    GenerationJob.objects.filter(pk=job.pk).update(status="running", worker="busy@box", attempts=1)
    with django_capture_on_commit_callbacks() as callbacks:
        assert runs_reconcile() == []
    assert callbacks == []
    generation_job_run(job_id=job.pk, hostname="other@box")  # a second message of the same job
    job.refresh_from_db()
    assert (job.status, job.worker, job.attempts, job.done) == ("running", "busy@box", 1, 0)


def test_a_job_whose_message_was_lost_is_sent_again_once_it_waited_too_long(tiny_endpoint, settings,
                                                                            django_capture_on_commit_callbacks):
    settings.RUN_REQUEUE_SECONDS = 60
    job = create(tiny_endpoint)
    assert runs_reconcile() == []
    GenerationJob.objects.filter(pk=job.pk).update(queued_at=timezone.now() - timedelta(seconds=61))
    with django_capture_on_commit_callbacks() as callbacks:
        assert runs_reconcile() == [job]
    assert len(callbacks) == 1
    assert runs_reconcile() == []  # sent again just now: not again at the next beat


@pytest.fixture
def served_endpoint(db, server, settings):  # noqa: F811
    settings.MODELHOST_ALLOWED_HOSTS = ["127.0.0.1"]
    return ModelEndpoint.objects.create(name="served", backend="openai", base_url=server.url, model=MODEL)


def test_a_conversation_the_model_refuses_fails_alone_and_is_recorded(server, served_endpoint):  # noqa: F811
    server.script.refuse = "poison"
    job = generation_job_create(label="one bad row", endpoints=[served_endpoint], n=2,
                                conversations=[("a", "Say something."), ("bad", "poison " * 3), ("c", "Why?")])
    generation_job_run(job_id=job.pk, hostname="here")

    job.refresh_from_db()
    assert (job.status, job.done, job.total) == ("done", 4, 6)
    assert "1 conversation(s) refused" in job.error
    assert set(texts(job)) == {("a", 0), ("a", 1), ("c", 0), ("c", 1)}
    refused = GenerationRequest.objects.get(job=job, key="bad")
    assert "HTTP 400" in refused.error and "too long" in refused.error
    assert not GenerationRequest.objects.filter(job=job).exclude(key="bad").exclude(error="").exists()

    server.script.refuse = ""  # the server was fixed: a resume generates only what is missing
    generation_job_resume(job=job)
    generation_job_run(job_id=job.pk, hostname="here")
    job.refresh_from_db()
    assert (job.status, job.done, job.error) == ("done", 6, "")


def test_a_job_whose_every_conversation_is_refused_fails(server, served_endpoint):  # noqa: F811
    server.script.refuse = "poison"
    job = generation_job_create(label="all bad", endpoints=[served_endpoint],
                                conversations=[("a", "poison"), ("b", "more poison")])
    generation_job_run(job_id=job.pk, hostname="here")
    job.refresh_from_db()
    assert job.status == "failed" and "refused every conversation" in job.error


def test_a_running_batch_moves_the_bar_with_the_tokens_it_has_sampled_before_any_output_is_stored():
    batch = GenerationJob(status="running", done=0, total=4, tokens_in_flight=128, generation_seconds=2,
                          params={"max_new_tokens": 64})
    assert batch.percent == 50  # 128 of at most 4 x 64 tokens
    assert GenerationJob(status="running", done=0, total=4, params={"max_new_tokens": 64}).percent == 0
    assert GenerationJob(status="done", done=4, total=4, completion_tokens=9).percent == 100
