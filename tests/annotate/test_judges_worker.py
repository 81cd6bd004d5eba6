"""An AI judge run on a real gpu-queue worker process."""

import pytest

from annotate.models import JudgeRun, Judgment
from annotate.services.judges import judge_run_create
from tests.factories import campaign_with_items
from tests.modelhost.test_worker import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_judge_run_goes_to_the_gpu_queue_and_judges_every_item(start_worker, tiny_endpoint, tiny_model_dir,
                                                                 manager):
    campaign = campaign_with_items(manager=manager, prompts=4)
    worker = start_worker(env={"MODELHOST_MODEL_DIRS": str(tiny_model_dir.parent)}, queues=("gpu",))
    run = judge_run_create(campaign=campaign, endpoint=tiny_endpoint, by=manager)
    wait_for(lambda: JudgeRun.objects.get(pk=run.pk).status == "done", timeout=180, worker=worker)
    run.refresh_from_db()
    assert (run.done, run.total, run.worker) == (4, 4, worker.hostname)
    assert Judgment.objects.filter(annotator__username="ai:tiny", item__campaign=campaign).count() == 4
