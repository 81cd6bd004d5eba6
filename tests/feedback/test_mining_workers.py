"""Mining on real workers: the stages hop from the default queue to gpu and back, and a worker killed mid-run is
picked up by its restart without losing or duplicating a label."""

import json

import pytest

from feedback.models import MiningRun, TurnSignal
from feedback.services.imports import conversations_import
from feedback.services.mining import mining_run_create
from tests.workers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
REPLIES = ["No, that's wrong, try again.", "Thanks, that's perfect!", "Can you make it shorter?",
           "What about the weather tomorrow?"]



def test_a_worker_killed_while_labelling_resumes_and_labels_every_turn_once(tmp_path, manager, tiny_endpoint,
                                                                           start_worker):
    path = tmp_path / "log.jsonl"
    path.write_text("".join(json.dumps({"id": f"c{i}", "messages": [
        {"role": "user", "content": f"Question number {i}: what is {i} times {i}?"},
        {"role": "assistant", "content": f"It is {i * i + 1}."},
        {"role": "user", "content": REPLIES[i % len(REPLIES)] + f" ({i})"}]}) + "\n" for i in range(240)))
    conversations_import(path=path, owner=manager, format="jsonl")
    env = {"MODELHOST_MODEL_DIRS": str(tiny_endpoint.model.rsplit("/", 1)[0]), "FEEDBACK_MINING_BATCH": "8",
           "OMP_NUM_THREADS": "1"}
    worker = start_worker(env=env)
    run = mining_run_create(by=manager, endpoint=tiny_endpoint)
    row = MiningRun.objects.filter(pk=run.pk)
    wait_for(lambda: row.get().done >= 8, timeout=180, worker=worker)
    worker.kill()
    killed = row.get()
    assert killed.status == "running" and killed.stage == "label" and killed.done < 240, "make the run longer"

    restarted = start_worker(env=env, hostname=worker.hostname)  # the same name, as a restart
    wait_for(lambda: row.get().status == "done", timeout=300, worker=restarted)
    run.refresh_from_db()
    first = run.version.rsplit("+", 1)[0]
    assert TurnSignal.objects.filter(version=first).count() == 240
    assert TurnSignal.objects.filter(version=run.version).count() == 240
    assert run.signals_created == 480 and run.pairs_kept + run.pairs_dropped == run.pairs.count()
