"""A moral-graph interview in Chromium with the real default model, SmolLM2, in a real gpu worker: the participant
consents, is interviewed (the reply streams in), writes the card, votes; when the worker is gone, the turn shows
Retry, loses nothing, and a retry once a worker is back gets the reply. Asserts what is saved, not the wording."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from annotate.moralgraph.models import Interview, Message, Vote
from modelhost.backends.transformers_backend import default_model_path
from modelhost.models import ModelEndpoint
from tests.annotate.moralgraph.conftest import card_fields
from tests.conftest import PASSWORD
from tests.e2e.test_moralgraph import deliberation  # noqa: F401  (the deliberation, its stories, other's cards)
from tests.workers import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow_model, pytest.mark.integration,
              pytest.mark.django_db(transaction=True)]
REPLY_TIMEOUT_MS = 180_000  # first turn: the worker loads SmolLM2 (seconds from the converted cache) on a busy box


def replies_kept(user, count: int, timeout: float = 180) -> None:
    """Wait until `count` interviewer turns are in the transcript (the page copies a reply once it has streamed
    to its end)."""
    kept = Message.objects.filter(interview__participant__user=user, role="assistant").exclude(content="")
    wait_for(lambda: kept.count() >= count, timeout)


@pytest.fixture
def tiny_endpoint(db, settings, tmp_path_factory):
    """SmolLM2 in place of the tiny model as the default endpoint, with few tokens a turn to keep the test short."""
    data_dir = os.environ.get("CONCORD_DATA_DIR")  # keeps the ~20 s conversion between runs, as tests/modelhost does
    cache_root = Path(data_dir) / "models" if data_dir else settings.DATA_DIR / "models"
    path = default_model_path(cache_root)
    settings.MODELHOST_MODEL_DIRS = [str(cache_root)]
    return ModelEndpoint.objects.create(name="smollm2", model=str(path), device="cpu", max_context=2048,
                                        is_default=True, default_params={"max_new_tokens": 24, "temperature": 0.3})


def test_an_interview_with_smollm2_in_a_worker_survives_a_lost_reply(page, sign_in, live_server,
                                                                     deliberation, annotator,  # noqa: F811
                                                                     tiny_endpoint, start_worker, settings):
    settings.MODELHOST_STREAM_VIA = "worker"
    settings.MODELHOST_REPLY_PICKUP_SECONDS = 5
    env = {"MODELHOST_STREAM_VIA": "worker", "MODELHOST_MODEL_DIRS": settings.MODELHOST_MODEL_DIRS[0]}
    worker = start_worker(env=env, queues=("gpu",))

    sign_in("anna", PASSWORD)
    page.goto(f"{live_server.url}/annotate/moralgraph/{deliberation.pk}/")
    page.get_by_label("I agree to take part").check()
    page.get_by_role("button", name="Take part").click()
    page.get_by_role("button", name="Start an interview").click()
    expect(page.locator("#chat")).to_contain_text("Tell me about a time")

    page.get_by_label("Your answer").fill("My aunt listened for a long time before she said anything.")
    page.get_by_role("button", name="Send").click()
    reply = page.locator("#chat .turn.assistant").last.locator(".reply-text")
    expect(reply).not_to_be_empty(timeout=REPLY_TIMEOUT_MS)  # streamed by SmolLM2 from the worker
    replies_kept(annotator, 2)  # the opening question and this reply

    worker.kill()  # the next reply finds no worker: the turn must offer Retry and keep what was written
    page.get_by_label("Your answer").fill("She never hurried me, even when it was late.")
    page.get_by_role("button", name="Send").click()
    retry = page.locator("#chat .turn.assistant").last.get_by_role("button", name="Retry")
    expect(retry).to_be_visible(timeout=60_000)
    start_worker(env=env, queues=("gpu",))
    retry.click()
    expect(page.locator("#chat .turn.assistant").last.locator(".reply-text")).not_to_be_empty(
        timeout=REPLY_TIMEOUT_MS)
    replies_kept(annotator, 3)

    fields = card_fields("Listening First")  # the participant edits the card and accepts it
    page.get_by_label("Title").fill(fields["title"])
    page.get_by_label("Description (one line)").fill(fields["description"])
    page.get_by_label("What you attend to").fill("\n".join(fields["policies"]))
    page.get_by_role("button", name="Save card").click()
    expect(page.locator("#card-title")).to_have_text("Listening First")
    page.get_by_role("button", name="This card says it: submit").click()

    expect(page.locator("#story-context")).to_have_text("When in distress")
    page.wait_for_load_state("load")
    page.keyboard.press("1")
    page.get_by_role("button", name="Save and next").click()
    expect(page.locator("#vote")).to_contain_text("Saved.")

    interview = Interview.objects.get(participant__user=annotator)
    assert interview.status == "submitted" and interview.card.title == "Listening First"
    said = list(interview.messages.filter(role="user").values_list("content", flat=True))
    assert said[-2:] == ["My aunt listened for a long time before she said anything.",
                         "She never hurried me, even when it was late."]  # nothing lost to the dead worker
    assert interview.messages.filter(role="assistant").exclude(content="").count() == 3
    assert Vote.objects.filter(participant__user=annotator, relationship="upgrade").count() == 1
