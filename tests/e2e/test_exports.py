import pytest
from playwright.sync_api import expect

from exports.models import Export
from exports.services import export_run
from tests.conftest import PASSWORD
from tests.exports.conftest import judge_all
from tests.factories import campaign_with_items

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_manager_exports_dpo_pairs_watches_the_progress_bar_and_downloads_the_card(
        page, sign_in, live_server, settings, tmp_path, manager, annotator):
    settings.MEDIA_ROOT = tmp_path
    campaign = campaign_with_items(manager=manager, members=[annotator], prompts=3, name="Helpful answers")
    judge_all(campaign, annotator, lambda ids, who: {"choice": "a", "strength": -2})
    sign_in("maria", PASSWORD)

    page.goto(f"{live_server.url}/annotate/exports/")
    page.get_by_label("Campaigns").select_option(label="Helpful answers")
    page.get_by_label("Format").select_option("dpo")
    page.get_by_label("Filetype").select_option("parquet")
    page.get_by_role("button", name="Export").click()
    expect(page.locator("#export-progress")).to_contain_text("Queued")

    export_run(export_id=Export.objects.get().pk)  # what the worker does; the page polls and follows
    expect(page.locator("#export-progress")).to_contain_text("Done", timeout=5000)
    expect(page.locator("#export-progress")).to_contain_text("3 rows")
    with page.expect_download() as download:
        page.get_by_role("link", name="README.md").click()
    assert "## Load it" in open(download.value.path()).read()
