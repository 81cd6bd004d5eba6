"""Generation jobs: many conversations x endpoints x n samples, run on the gpu queue, resumable.

Outputs are committed as they arrive, a group at a time (at most a second's worth or STORE_GROUP), keyed by
(request, endpoint, sample), so a job whose worker died resumes where it stopped and a redelivered task never
duplicates a row; what a dead worker had not committed yet is drawn again with the same seeds, so it is not lost.
A conversation the model refuses (an HTTP 400 for that request alone) fails alone: it is recorded on its request
and the job finishes the others; an endpoint that cannot serve at all fails the job.
"""

import hashlib
import logging
import time
from collections.abc import Callable

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.runs import Run, run_cancel, run_fail, run_finish, run_requeue, run_start
from modelhost.backends.base import BackendError, ModelLoadError, NotSupported, Output, Request, TransientBackendError
from modelhost.backends.destinations import DestinationRefused
from modelhost.messages import messages_validate, storable
from modelhost.models import GenerationJob, GenerationOutput, GenerationRequest, ModelEndpoint
from modelhost.services.endpoints import endpoint_params

logger = logging.getLogger(__name__)
MAX_SAMPLES = 64  # per conversation and endpoint
PROGRESS_EVERY_S = 1.0  # also the longest an output waits to be committed
STORE_GROUP = 64  # outputs per commit at most: one commit each made a job wait for the disk once per output
# Conversations per backend call: enough for full batches (the backend sorts a call's rows by length), few enough
# that what a call keeps (rows, random generators, outputs) stays small whatever the job's size.
REQUESTS_PER_CALL = 256


class JobCancelled(Exception):
    pass


def request_seed(job_seed: int, key: str, endpoint_id: int) -> int:
    """The seed of sample 0 of a conversation; sample i is drawn with this + i (as the backends do)."""
    digest = hashlib.sha256(f"{job_seed}|{key}|{endpoint_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


@transaction.atomic
def generation_job_create(
    *,
    label: str,
    conversations: list[tuple[str, list[dict] | str]],
    endpoints: list[ModelEndpoint],
    n: int = 1,
    params: dict | None = None,
    seed: int = 0,
    source: str = "",
    created_by=None,
) -> GenerationJob:
    """Validate everything first, then write the job and its requests, then enqueue it on commit."""
    if not conversations:
        raise ValidationError("A generation job needs at least one conversation.")
    if not endpoints:
        raise ValidationError("A generation job needs at least one model endpoint.")
    if not 1 <= n <= MAX_SAMPLES:
        raise ValidationError(f"n must be between 1 and {MAX_SAMPLES} samples per conversation.")
    total, limit = len(conversations) * len(endpoints) * n, settings.MODELHOST_JOB_MAX_OUTPUTS
    if total > limit:
        raise ValidationError(f"The job would make {total} outputs (conversations x endpoints x n); one job makes "
                              f"at most {limit}. Split it.")
    keys = [key for key, _ in conversations]
    if len(set(keys)) != len(keys):
        raise ValidationError("Conversation keys must be unique within a job.")
    cleaned = [(str(key), messages_validate(messages, name=f"conversation {key}")) for key, messages in conversations]
    for endpoint in endpoints:
        endpoint_params(endpoint=endpoint, values=params)

    job = GenerationJob.objects.create(
        label=label, source=source, n=n, params=params or {}, seed=seed, created_by=created_by,
        total=total,
    )
    job.endpoints.set(endpoints)
    GenerationRequest.objects.bulk_create(
        GenerationRequest(job=job, key=key, messages=messages) for key, messages in cleaned
    )
    generation_job_enqueue(job=job)
    return job


def generation_job_enqueue(*, job: GenerationJob) -> None:
    from modelhost.tasks import generation_job_run as task

    transaction.on_commit(lambda: task.delay(job.pk))


def generation_job_cancel(*, job: GenerationJob) -> bool:
    """Stop a queued or running job; what it generated so far stays. False if it had already ended."""
    return run_cancel(run=job)


@transaction.atomic
def generation_job_resume(*, job: GenerationJob) -> None:
    """Run a stopped, failed or cancelled job again: only the missing outputs are generated."""
    if job.done >= job.total and job.status == GenerationJob.Status.DONE:
        return
    GenerationJob.objects.filter(pk=job.pk).update(
        status=GenerationJob.Status.QUEUED, attempts=0, error="", finished_at=None, queued_at=timezone.now()
    )
    job.requests.exclude(error="").update(error="")  # a resume tries the refused conversations again
    generation_job_enqueue(job=job)


def _pending(job: GenerationJob, endpoint: ModelEndpoint) -> list[tuple[GenerationRequest, list[int]]]:
    done: dict[int, set[int]] = {}
    for request_id, sample in GenerationOutput.objects.filter(request__job=job, endpoint=endpoint).values_list(
        "request_id", "sample_index"
    ):
        done.setdefault(request_id, set()).add(sample)
    pending = []
    for request in job.requests.filter(error=""):
        missing = [i for i in range(job.n) if i not in done.get(request.pk, set())]
        if missing:
            pending.append((request, missing))
    return pending


def _store(job: GenerationJob, outputs: list[GenerationOutput], seconds: float) -> None:
    """Commit a group of outputs and count them to the job, unless it was cancelled meanwhile."""
    with transaction.atomic():
        if not GenerationJob.objects.filter(pk=job.pk, status=GenerationJob.Status.RUNNING).exists():
            raise JobCancelled
        try:
            with transaction.atomic():
                GenerationOutput.objects.bulk_create(outputs)
        except IntegrityError:  # another run stored some of them first: the others one by one
            outputs = [output for output in outputs if _stored_alone(output)]
        GenerationJob.objects.filter(pk=job.pk).update(
            done=F("done") + len(outputs),
            completion_tokens=F("completion_tokens") + sum(output.completion_tokens for output in outputs),
            generation_seconds=seconds,
        )


def _stored_alone(output: GenerationOutput) -> bool:
    try:
        with transaction.atomic():
            output.save(force_insert=True)
        return True
    except IntegrityError:
        return False


# Failures of the endpoint or the job as a whole, never of one conversation.
JOB_WIDE_ERRORS = (ModelLoadError, NotSupported, TransientBackendError, DestinationRefused)


def _requests(job: GenerationJob, endpoint: ModelEndpoint, params) -> tuple[list[Request], dict]:
    """The backend requests for the missing outputs, and what each key stands for: (request row, first sample).
    Whole conversations sample n at once; gaps left by a dead worker are filled sample by sample with the seed
    that sample had, so a resumed job holds the same texts as an uninterrupted one."""
    requests, targets = [], {}
    for request, missing in _pending(job, endpoint):
        seed = request_seed(job.seed, request.key, endpoint.pk)
        groups = [(0, job.n)] if len(missing) == job.n else [(i, 1) for i in missing]
        for first, count in groups:
            key = f"{request.pk}:{first}"
            requests.append(Request(key=key, messages=request.messages, n=count, params=params, seed=seed + first))
            targets[key] = (request, first)
    return requests, targets


def _generate(job: GenerationJob, endpoint: ModelEndpoint) -> int:
    """Generate this endpoint's missing outputs of the job, storing them as they arrive; the number of
    conversations the model refused alone."""
    from modelhost.registry import backend_for

    params = endpoint_params(endpoint=endpoint, values=job.params)
    requests, targets = _requests(job, endpoint, params)
    if not requests:
        return 0
    backend = backend_for(endpoint)
    stored_params = {**params.__dict__, "stop": list(params.stop)}
    job.refresh_from_db(fields=["generation_seconds"])
    seconds_before, active_since = job.generation_seconds, time.monotonic()
    stored_tokens, reported_at = 0, active_since  # stored_tokens: of the backend call in progress
    pending: list[GenerationOutput] = []

    def commit() -> None:
        nonlocal reported_at
        if pending:
            group, reported_at = pending.copy(), time.monotonic()
            pending.clear()
            _store(job, group, seconds_before + (reported_at - active_since))

    def store(output: Output) -> None:
        nonlocal stored_tokens
        request, first = targets[output.key]
        pending.append(GenerationOutput(
            request=request, endpoint=endpoint, sample_index=first + output.sample_index,
            text=storable(output.text), params=stored_params, seed=output.seed, prompt_tokens=output.prompt_tokens,
            completion_tokens=output.completion_tokens, truncated_prompt_tokens=output.truncated_prompt_tokens,
            finish_reason=output.finish_reason, latency_ms=round(output.latency_s * 1000)))
        stored_tokens += output.completion_tokens
        if len(pending) >= STORE_GROUP:
            commit()

    def step(sampled: int) -> None:
        # The speed and the estimate move while long replies are still being written (at most once a second:
        # a decoding step takes milliseconds).
        nonlocal reported_at
        now = time.monotonic()
        if now - reported_at < PROGRESS_EVERY_S:
            return
        if pending:
            commit()
        else:
            reported_at = now
            GenerationJob.objects.filter(pk=job.pk, status=GenerationJob.Status.RUNNING).update(
                tokens_in_flight=max(0, sampled - stored_tokens),
                generation_seconds=seconds_before + (now - active_since))

    def generate(part: list[Request]) -> None:
        nonlocal stored_tokens
        stored_tokens = 0
        try:
            backend.generate(part, on_output=store, on_step=step)
        finally:
            commit()  # what was made stays, whatever stopped the call

    try:
        return _generate_all(job, endpoint, params, generate, requests, targets)
    finally:
        GenerationJob.objects.filter(pk=job.pk).update(tokens_in_flight=0)


def _generate_all(job, endpoint, params, generate, requests, targets) -> int:
    """The requests a slice at a time (a backend keeps what it makes until the call returns, so a job of any size
    holds one slice); if the backend refuses a slice, what is still missing of it one request at a time, so that a
    conversation the model refuses fails alone (recorded on its request). The number refused."""
    refused: dict[int, str] = {}
    for start in range(0, len(requests), REQUESTS_PER_CALL):
        part = requests[start:start + REQUESTS_PER_CALL]
        try:
            generate(part)
            continue
        except JOB_WIDE_ERRORS:
            raise
        except BackendError:
            pass  # one conversation may have sunk the slice: go again one at a time (what was stored stays)
        rows = {targets[request.key][0].pk for request in part}
        missing, missing_targets = _requests(job, endpoint, params)
        targets.update(missing_targets)  # `store` looks outputs up here
        for request in missing:
            row, _ = missing_targets[request.key]
            if row.pk not in rows or row.pk in refused:
                continue
            try:
                generate([request])
            except JOB_WIDE_ERRORS:
                raise
            except BackendError as error:
                refused[row.pk] = f"{endpoint.name}: {error}"
    if refused and len(refused) == len({row.pk for row, _ in targets.values()}):
        raise BackendError(f"The model refused every conversation, e.g. {next(iter(refused.values()))}")
    for pk, error in refused.items():
        GenerationRequest.objects.filter(pk=pk).update(error=error[:2000])
    return len(refused)


def run_execute(*, model: type[Run], run_id: int, hostname: str, work: Callable[[Run], str | None],
                enqueue: Callable[[Run], None]) -> None:
    """The lifecycle every gpu-queue run shares: start it (or do nothing), do `work` (which may return a note on
    what it left out), end it. A run cancelled meanwhile stops quietly (work raises JobCancelled); one past its soft
    time limit goes back to the queue through `enqueue`; a backend or validation error, or a permission its creator
    no longer has, fails it with the reason. Work that hands the run on (back to the queue, to a next stage) leaves
    it no longer this attempt's, and the ending written here then changes nothing."""
    run = run_start(model=model, run_id=run_id, worker=hostname)
    if run is None:
        return
    try:
        note = work(run)
    except JobCancelled:
        return
    except SoftTimeLimitExceeded:
        # Not a failure: give the run back to the queue and carry on in a fresh task.
        if run_requeue(run=run):
            enqueue(run)
        return
    except (BackendError, ValidationError, PermissionDenied) as error:
        run_fail(run=run, error=str(error))
        return
    except Exception as error:
        logger.exception("%s %s failed", model.__name__, run.pk)
        run_fail(run=run, error=f"{type(error).__name__}: {error}")
        raise
    run_finish(run=run, error=note or "")


def generation_job_run(*, job_id: int, hostname: str = "") -> None:
    """Generate every missing output of a job. Safe to call again at any time."""

    def work(job: GenerationJob) -> str:
        refused = sum(_generate(job, endpoint) for endpoint in job.endpoints.all())
        return f"{refused} conversation(s) refused by the model alone; see their requests." if refused else ""

    run_execute(model=GenerationJob, run_id=job_id, hostname=hostname, work=work,
                enqueue=lambda job: generation_job_enqueue(job=job))
