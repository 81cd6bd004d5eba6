"""Background runs: the one model and lifecycle that every long job shares (generation, exports, and what comes).

A run row is started by a worker under a row lock, reports progress, and ends done, failed or cancelled. Workers die
and messages are redelivered, so a start of a run that has ended does nothing, and a run that has been started
`MAX_STARTS` times without ending is failed with a reason instead of being tried for ever. Ending is written only by
the attempt that is still current, so a late message from a dead attempt cannot overwrite a newer one.

Messages get lost too (a broker restarted without persistence) and a killed worker's message may come back only after
the broker's visibility timeout, so workers reconcile (`runs_reconcile`, from their heartbeat): a run left running by a
dead worker, or queued for longer than RUN_REQUEUE_SECONDS, is sent again. A second message of a run is harmless:
a start of a run that a live worker holds does nothing.
"""

from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

MAX_STARTS = 3  # starts that did not finish (a worker killed by OOM again and again) before giving up


class Run(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    done = models.PositiveBigIntegerField(default=0)
    total = models.PositiveBigIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(default=timezone.now, help_text="When its task was last sent.")

    class Meta:
        abstract = True

    @property
    def percent(self) -> int:
        if self.total:
            return min(100, int(100 * self.done / self.total))
        return 100 if self.status == self.Status.DONE else 0

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


def run_current(run: Run) -> models.QuerySet:
    """The row while it is still this attempt's to write (empty once it ended, was cancelled or handed back)."""
    return type(run).objects.filter(pk=run.pk, status=Run.Status.RUNNING, attempts=run.attempts)


def _hosts_alive() -> set[str]:
    from core.selectors import workers_alive

    return {host for hosts in workers_alive().values() for host in hosts}


def run_start(*, model: type[Run], run_id: int, worker: str = "", restart_progress: bool = False) -> Run | None:
    """Lock and start a queued or interrupted run; None when there is nothing to do (gone, ended, held by another
    live worker, or given up)."""
    with transaction.atomic():
        run = model.objects.select_for_update().filter(pk=run_id).first()
        if run is None or not run.is_active:
            return None  # deleted, finished or cancelled: a redelivered message does nothing
        if run.status == Run.Status.RUNNING and run.worker not in ("", worker) and run.worker in _hosts_alive():
            return None  # a second message of a run that a live worker is doing
        if run.attempts >= MAX_STARTS:
            run.status, run.finished_at = Run.Status.FAILED, timezone.now()
            run.error = f"Gave up after {run.attempts} starts without finishing (did the worker run out of memory?)."
            run.save(update_fields=["status", "finished_at", "error"])
            return None
        run.status, run.worker, run.attempts = Run.Status.RUNNING, worker, run.attempts + 1
        run.started_at = run.started_at or timezone.now()
        fields = ["status", "worker", "attempts", "started_at"]
        if restart_progress:
            run.done = 0
            fields.append("done")
        run.save(update_fields=fields)
        return run


def run_progress(*, run: Run, done: int, total: int | None = None) -> None:
    run.done = done
    values = {"done": done}
    if total is not None:
        run.total = values["total"] = total
    run_current(run).update(**values)


def run_finish(*, run: Run, **results) -> bool:
    """Mark the run done with its results (other fields of the row, `error` for a note on what it left out); False
    if this attempt no longer owns it."""
    return bool(run_current(run).update(**{"status": Run.Status.DONE, "error": "", "finished_at": timezone.now(),
                                        **results}))


def run_fail(*, run: Run, error: str) -> bool:
    return bool(run_current(run).update(status=Run.Status.FAILED, error=error, finished_at=timezone.now()))


def run_requeue(*, run: Run) -> bool:
    """Give a running attempt back to the queue without counting it as a failed start (a soft time limit)."""
    return bool(run_current(run).update(status=Run.Status.QUEUED, attempts=0, queued_at=timezone.now()))


def run_cancel(*, run: Run) -> bool:
    """Stop a queued or running run; what it made so far stays. False if it had already ended."""
    return bool(type(run).objects.filter(pk=run.pk, status__in=Run.ACTIVE)
                .update(status=Run.Status.CANCELLED, finished_at=timezone.now()))


_kinds: list[tuple[type[Run], Callable[[Run], None]]] = []


def run_kind_register(*, model: type[Run], enqueue: Callable[[Run], None]) -> None:
    """Let the reconciler send runs of this model again (`enqueue(run)` sends its task on commit). From ready()."""
    _kinds.append((model, enqueue))


def runs_reconcile(*, exclude_worker: str = "") -> list[Run]:
    """Send again the runs whose message is gone: those left running by a worker that is no longer alive (or by
    `exclude_worker`, a worker starting again under its old name), and those queued for longer than
    RUN_REQUEUE_SECONDS (a broker that lost its queue). A run with no worker name is run in-process by a command,
    which no heartbeat follows: it is left alone. The runs sent again."""
    alive = _hosts_alive() - {exclude_worker}
    now = timezone.now()
    lost = now - timedelta(seconds=settings.RUN_REQUEUE_SECONDS)
    skip_locked = connection.features.has_select_for_update_skip_locked  # two workers reconciling: one takes each
    sent = []
    for model, enqueue in _kinds:
        with transaction.atomic():
            orphans = (model.objects.filter(status=Run.Status.RUNNING).exclude(worker__in=[*alive, ""])
                       | model.objects.filter(status=Run.Status.QUEUED, queued_at__lt=lost))
            runs = list(orphans.select_for_update(skip_locked=skip_locked).order_by("pk"))
            model.objects.filter(pk__in=[run.pk for run in runs]).update(status=Run.Status.QUEUED, queued_at=now)
            for run in runs:
                enqueue(run)
            sent += runs
    return sent
