"""A manager's pages in Chromium: the item browser, editing a campaign, API keys that expire, generation progress
that moves while a real worker runs, and stopping a reply in the playground."""

import time

import pytest
from playwright.sync_api import expect

from accounts.models import ApiToken
from annotate.services.assignments import assignment_next, judgment_submit
from modelhost.models import StreamedReply
from modelhost.services.jobs import generation_job_create
from tests.conftest import PASSWORD
from tests.factories import campaign_with_items

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def judged(manager, annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator], name="Kindness", overlap=2)
    assignment = assignment_next(campaign=campaign, annotator=annotator)
    judgment_submit(assignment_id=assignment.pk, annotator=annotator,
                    answer={"choice": "b", "strength": 2, "rationale": "B owns up to the mistake."})
    return campaign, assignment.item


def test_a_manager_filters_the_item_browser_and_opens_an_item_to_see_who_said_what(page, sign_in, live_server,
                                                                                  judged):
    _, item = judged
    sign_in("maria", PASSWORD)
    page.goto(f"{live_server.url}/annotate/manage/")
    page.get_by_role("link", name="Browse items and judgments").click()
    expect(page.locator("#browse-count")).to_have_text("3 items")

    page.get_by_label("Search").fill("owns up")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#browse-count")).to_have_text("1 item")
    expect(page.locator("#browse-items")).to_contain_text(item.external_id)

    page.get_by_role("link", name="Clear").click()
    page.get_by_label("State").select_option(label="Not judged yet")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#browse-count")).to_have_text("2 items")
    page.get_by_label("State").select_option(label="Any")
    page.get_by_label("Judged by").fill("anna")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#browse-count")).to_have_text("1 item")

    page.get_by_role("link", name=item.external_id).click()
    expect(page.locator("#judgments")).to_contain_text("anna")
    expect(page.locator("#judgments")).to_contain_text("B is better (strength +2)")
    expect(page.locator("#judgments")).to_contain_text("B owns up to the mistake.")


def test_a_manager_edits_a_campaign_and_reads_the_change_in_its_history(page, sign_in, live_server, judged):
    campaign, _ = judged
    sign_in("maria", PASSWORD)
    page.goto(f"{live_server.url}/annotate/manage/{campaign.pk}/")
    settings = page.locator("#settings")
    overlap = settings.get_by_label("Overlap")
    overlap.fill("0")  # the browser knows the bounds: nothing is sent
    assert overlap.evaluate("input => input.validity.rangeUnderflow")
    overlap.fill("3")
    settings.get_by_label("Guidelines").fill("Prefer answers that admit mistakes.")
    settings.get_by_role("button", name="Save settings").click()

    expect(page.locator(".flash")).to_have_text("Saved the settings (changed: guidelines, overlap).")
    expect(page.locator("#history li").first).to_contain_text(
        "maria: guidelines '0 characters' → '35 characters'; overlap 2 → 3")
    expect(page.locator(".manage-head + p")).to_contain_text("3 annotators per item")


def test_an_expired_api_key_is_shown_expired_and_refused(page, sign_in, live_server, annotator):
    sign_in("anna", PASSWORD)
    page.goto(f"{live_server.url}/accounts/tokens/")
    page.get_by_label("Name").fill("laptop")
    page.get_by_label("Expires").select_option(label="in 7 days")
    page.get_by_role("button", name="Create token").click()
    key = page.locator("#new-key").inner_text().strip()
    expect(page.get_by_role("button", name="Copy key")).to_be_visible()
    expect(page.locator("tbody tr").first).to_contain_text("active")
    assert page.request.get(f"{live_server.url}/api/v1/me", headers={"Authorization": f"Token {key}"}).status == 200

    ApiToken.objects.filter(name="laptop").update(expires_at="2020-01-01T00:00:00Z")
    page.goto(f"{live_server.url}/accounts/tokens/")
    expect(page.locator("tbody tr").first).to_contain_text("2020-01-01")
    expect(page.locator("tbody tr").first).to_contain_text("expired")
    refused = page.request.get(f"{live_server.url}/api/v1/me", headers={"Authorization": f"Token {key}"})
    assert refused.status == 401 and refused.json()["detail"] == "Invalid, revoked or expired token."


@pytest.mark.integration
def test_generation_progress_moves_while_a_real_worker_runs(page, sign_in, live_server, manager, tiny_endpoint,
                                                            start_worker):
    # Long enough (40 outputs of 100 tokens, one row a batch) for the page's one-second poll to see it move on a
    # quiet machine too.
    job = generation_job_create(label="Slow candidates", conversations=[(f"q{i}", f"Question {i}?") for i in range(20)],
                                endpoints=[tiny_endpoint], n=2, params={"max_new_tokens": 100}, created_by=manager)
    sign_in("maria", PASSWORD)
    page.goto(f"{live_server.url}/models/jobs/{job.pk}/")
    # A budget of one row per batch: outputs arrive one after another.
    start_worker(env={"MODELHOST_MODEL_DIRS": tiny_endpoint.model.rsplit("/", 1)[0], "MODELHOST_TOKEN_BUDGET": "60"},
                 queues=("gpu",))
    seen, deadline = [], time.monotonic() + 400  # a loaded 2-core box makes about 15 tokens/s here
    while time.monotonic() < deadline and "Done" not in (seen or [""])[-1]:
        seen.append(page.locator("#job-progress").inner_text())
        time.sleep(0.2)
    running = [text for text in seen if "Running" in text]
    counts = {int(text.split(" / ")[0].split()[-1]) for text in running}
    assert len(counts - {0}) >= 2, seen  # the count moved more than once before the end
    assert any("tokens/s" in text and "left" in text for text in running), seen
    assert "40 / 40 outputs (100%)" in seen[-1] and "Done" in seen[-1], seen[-1]


def test_a_manager_stops_a_reply_in_the_playground(page, sign_in, live_server, manager, tiny_endpoint, settings):
    settings.MODELHOST_STREAM_VIA = "worker"  # no worker runs here: the reply waits, and is stopped while it does
    settings.MODELHOST_REPLY_PICKUP_SECONDS = 120
    sign_in("maria", PASSWORD)
    page.goto(f"{live_server.url}/models/playground/")
    page.get_by_label("Message").fill("Tell me a long story")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#conversation .turn.user")).to_contain_text("Tell me a long story")
    page.get_by_role("button", name="Stop").click()

    expect(page.locator("#conversation .stopped")).to_have_text("Stopped.")
    expect(page.get_by_role("button", name="Stop")).to_have_count(0)  # the stream ended
    assert StreamedReply.objects.get().status == "stopped"
    expect(page.get_by_label("Message")).to_have_value("")  # ready for the next turn


def test_a_manager_compares_two_models_in_the_arena_and_keeps_the_vote(page, sign_in, live_server, manager,
                                                                       tiny_endpoint, settings):
    from annotate.models import Judgment
    from annotate.services.campaigns import campaign_create
    from modelhost.models import ModelEndpoint

    settings.MODELHOST_STREAM_VIA = "inprocess"  # the embedded default: the web process runs both replies
    ModelEndpoint.objects.create(name="tiny-b", model=tiny_endpoint.model, device="cpu", dtype="float32",
                                 max_context=256, default_params={"max_new_tokens": 8})
    campaign_create(creator=manager, name="Arena votes")
    sign_in("maria", PASSWORD)
    page.goto(f"{live_server.url}/models/playground/")
    page.get_by_role("link", name="Compare two models side by side").click()
    page.get_by_label("Prompt").fill("Say something kind")
    page.get_by_role("button", name="Ask both").click()
    expect(page.locator("#arena .response")).to_have_count(2)
    expect(page.get_by_role("button", name="Stop")).to_have_count(0, timeout=30_000)  # both replies finished

    page.get_by_label("Keep the vote in").select_option(label="Arena votes")
    page.get_by_role("button", name="B is better").click()
    expect(page.locator("#arena-vote-result")).to_contain_text("Saved in Arena votes as a pairwise judgment")
    judgment = Judgment.objects.select_related("item").get()
    assert judgment.choice == "b" and judgment.annotator == manager
    assert sorted(judgment.item.candidates.values_list("model", flat=True)) == ["tiny", "tiny-b"]
