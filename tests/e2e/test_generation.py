import pytest
from playwright.sync_api import expect

from modelhost.services.jobs import generation_job_create
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_manager_watches_the_progress_bar_fill_as_a_real_worker_generates(
        page, sign_in, live_server, manager, tiny_endpoint, start_worker):
    job = generation_job_create(label="Demo candidates", conversations=[(f"q{i}", f"Question {i}?") for i in range(12)],
                                endpoints=[tiny_endpoint], n=2, created_by=manager)
    sign_in("maria", PASSWORD)
    page.goto(f"{live_server.url}/models/jobs/{job.pk}/")
    expect(page.locator("#job-progress")).to_contain_text("0 / 24 outputs")
    start_worker(env={"MODELHOST_MODEL_DIRS": tiny_endpoint.model.rsplit("/", 1)[0], "MODELHOST_TOKEN_BUDGET": "300"},
                 queues=("gpu",))
    expect(page.locator("#job-progress")).to_contain_text("24 / 24 outputs (100%)", timeout=60_000)
    expect(page.locator("#job-progress .pill")).to_have_text("Done")
    page.reload()
    expect(page.locator("table")).to_contain_text("q11")
