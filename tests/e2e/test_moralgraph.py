"""A whole moral-graph round in Chromium: consent, an interview with the real (tiny, random) model whose reply is
garbage, the card written by hand, then votes by keyboard. Asserts what is saved, never the model's wording."""

import pytest
from playwright.sync_api import expect

from annotate.moralgraph.models import Interview, Vote
from annotate.moralgraph.services.cards import card_update
from annotate.moralgraph.services.deliberations import deliberation_create, participant_consent
from annotate.moralgraph.services.interviews import interview_start, interview_submit
from annotate.moralgraph.services.votes import stories_build
from tests.annotate.moralgraph.conftest import card_fields
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def deliberation(campaign, manager, other_annotator, tiny_endpoint, settings):
    settings.MODELHOST_STREAM_VIA = "inprocess"  # the embedded default: the web process runs the model
    deliberation = deliberation_create(campaign=campaign, name="Abortion", by=manager,
                                       question="I am considering an abortion, what should I do?",
                                       contexts=["When in distress"])
    campaign.members.add(other_annotator)
    earlier = participant_consent(deliberation=deliberation, user=other_annotator)
    for title in ("Faith in People", "Embodied Justice"):
        interview = interview_start(participant=earlier)
        card_update(interview=interview, source="participant", **card_fields(title))
        interview_submit(interview=interview, by=other_annotator)
    stories_build(deliberation=deliberation, by=manager)
    return deliberation


def test_a_participant_interviews_writes_a_card_and_votes(page, sign_in, live_server, deliberation, annotator):
    sign_in("anna", PASSWORD)
    page.goto(f"{live_server.url}/annotate/moralgraph/{deliberation.pk}/")
    page.get_by_label("I agree to take part").check()
    page.get_by_role("button", name="Take part").click()
    page.get_by_role("button", name="Start an interview").click()
    expect(page.locator("#chat")).to_contain_text("Tell me about a time")

    page.get_by_label("Your answer").fill("My aunt listened for a long time before she said anything.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#chat .turn.user")).to_contain_text("My aunt listened")
    reply = page.locator("#chat .turn.assistant").last.locator(".reply-text")
    expect(reply).not_to_be_empty(timeout=30_000)  # streamed garbage from the tiny model

    fields = card_fields("Listening First")
    page.get_by_label("Title").fill(fields["title"])
    page.get_by_label("Description (one line)").fill(fields["description"])
    page.get_by_label("What you attend to").fill("lower case is not a policy")
    page.get_by_role("button", name="Save card").click()
    expect(page.locator("#card-panel .form-errors")).to_contain_text("capitalised plural noun")
    page.get_by_label("What you attend to").fill("\n".join(fields["policies"]))
    page.get_by_role("button", name="Save card").click()
    expect(page.locator("#card-title")).to_have_text("Listening First")
    page.get_by_role("button", name="This card says it: submit").click()

    expect(page.locator("#story-context")).to_have_text("When in distress")
    page.wait_for_load_state("load")  # the key handler is a deferred script: a key pressed before it runs is lost
    page.keyboard.press("1")
    expect(page.locator("#vote-form input[data-key='1']")).to_be_checked()
    page.get_by_role("button", name="Save and next").click()
    expect(page.locator("#vote")).to_contain_text("Saved.")
    expect(page.locator("#no-more")).to_be_visible()

    interview = Interview.objects.get(participant__user=annotator)
    assert interview.status == "submitted" and interview.card.title == "Listening First"
    assert interview.messages.filter(role="assistant").exclude(content="").count() == 2
    assert list(Vote.objects.filter(participant__user=annotator).values_list("relationship", flat=True)) == [
        "upgrade"]
