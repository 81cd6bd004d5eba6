"""A real worker on the default queue runs an export that a manager queued."""

import time

import pytest

from exports.services import export_create

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]



def test_a_queued_export_is_written_by_a_worker_on_the_default_queue(shared_media, pairwise_campaign, manager,
                                                                     start_worker):
    worker = start_worker(queues=("default",))
    export = export_create(spec={"campaigns": [pairwise_campaign.pk], "format": "dpo", "filetype": "parquet"},
                           by=manager)

    deadline = time.monotonic() + 60
    while export.is_active and time.monotonic() < deadline:
        time.sleep(0.2)
        export.refresh_from_db()
    assert export.status == "done", worker.log_text()[-3000:]
    assert export.rows == 11 and (export.directory / "README.md").exists()
