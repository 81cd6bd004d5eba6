from datetime import timedelta

import pytest
from playwright.sync_api import expect

from annotate.models import Assignment, Judgment
from tests.annotate.test_views import live_campaign
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def open_task(page, sign_in, live_server, campaign):
    sign_in("anna", PASSWORD)
    page.goto(f"{live_server.url}/annotate/campaigns/{campaign.pk}/")
    expect(page.locator("#task-form")).to_be_visible()
    page.evaluate("window.notReloaded = true")  # gone if anything reloads the page


def assignment_shown(page) -> Assignment:
    return Assignment.objects.get(pk=page.locator("#task-form").get_attribute("data-assignment"))


def test_an_annotator_judges_pairs_and_skips_with_the_keyboard_only(page, sign_in, live_server, manager, annotator):
    campaign = live_campaign(manager, [annotator], prompts=3)
    open_task(page, sign_in, live_server, campaign)
    expect(page.locator("#progress")).to_contain_text("0 done · 3 to go")
    expect(page.locator(".shortcuts")).to_contain_text("1 A · 2 B · 3 tie")
    first = assignment_shown(page)

    page.keyboard.press("1")
    expect(page.get_by_label("A is better")).to_be_checked()
    page.keyboard.press("Enter")
    expect(page.locator("#progress")).to_contain_text("1 done · 2 to go")
    second = assignment_shown(page)
    assert second.pk != first.pk
    judgment = Judgment.objects.get(assignment=first)
    canonical = list(first.item.slots.values_list("candidate__external_id", flat=True))
    assert judgment.choice == ("a" if first.presented_order[0] == canonical[0] else "b")  # A = the left one

    page.keyboard.press("s")
    expect(page.locator("#skip-dialog")).to_be_visible()
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    expect(page.locator("#task .notice")).to_have_text("Skipped.")
    assert Assignment.objects.get(pk=second.pk).skip_reason == "identical"

    page.keyboard.press("3")
    page.keyboard.press("Enter")
    expect(page.locator("#all-done")).to_contain_text("All done")
    expect(page.locator("#progress")).to_contain_text("2 done · 0 to go")
    assert page.evaluate("window.notReloaded") is True
    assert sorted(Judgment.objects.values_list("choice", flat=True)) == sorted([judgment.choice, "tie"])


def test_an_annotator_ranks_three_responses_with_a_tie_by_keyboard_only(page, sign_in, live_server, manager, annotator):
    campaign = live_campaign(manager, [annotator], design="ranking", prompts=1,
                             responses=["Paris.", "It is Paris, on the Seine.", "Lyon."])
    open_task(page, sign_in, live_server, campaign)
    assignment = assignment_shown(page)
    page.keyboard.press("2")  # A: second place; focus moves on to B
    page.keyboard.press("1")  # B: first
    page.keyboard.press("3")  # C: third ...
    page.keyboard.press("ArrowUp")  # ... no, as good as A
    tiers = page.locator("[data-rank-order] .tier")
    expect(tiers.nth(0)).to_contain_text("B")
    expect(tiers.nth(1)).to_contain_text("A")
    expect(tiers.nth(1)).to_contain_text("C")
    expect(tiers.nth(2).locator(".chip")).to_have_count(0)
    page.keyboard.press("Enter")

    expect(page.locator("#all-done")).to_be_visible()
    expect(page.locator("#progress")).to_contain_text("1 done")
    a, b, c = assignment.presented_order
    assert Judgment.objects.get().ranking == [[b], [a, c]]
    assert page.evaluate("window.notReloaded") is True


def test_an_annotator_rates_responses_side_by_side_and_a_reload_keeps_the_draft(
        page, sign_in, live_server, manager, annotator):
    campaign = live_campaign(manager, [annotator], design="rating", prompts=2, rate_alone=False)
    open_task(page, sign_in, live_server, campaign)
    first = assignment_shown(page)
    page.keyboard.press("6")
    page.reload()  # a draft in localStorage survives it
    expect(page.locator("input[name=rating_0][value='6']")).to_be_checked()
    page.keyboard.press("3")  # the focus is on the response not rated yet
    page.keyboard.press("Enter")
    expect(page.locator("#progress")).to_contain_text("1 done · 1 to go")
    a, b = first.presented_order
    assert Judgment.objects.get(assignment=first).ratings == {a: 6, b: 3}
    assert page.evaluate(f"localStorage.getItem('concord:draft:{first.pk}')") is None

    page.locator(".response").nth(1).get_by_title("7: Excellent").click()
    page.keyboard.press("Enter")
    expect(page.locator("#task .form-errors")).to_contain_text("Rate response A: pick 1 to 7.")
    page.locator(".response").nth(0).get_by_title("2: Poor").click()
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#all-done")).to_be_visible()
    expect(page.locator("#progress")).to_contain_text("2 done")


def test_an_annotator_rates_each_response_alone_by_keyboard_and_a_reload_keeps_the_time(
        page, sign_in, live_server, manager, annotator):
    campaign = live_campaign(manager, [annotator], design="rating", prompts=1)
    open_task(page, sign_in, live_server, campaign)
    first = assignment_shown(page)
    expect(page.locator(".response")).to_have_count(1)
    expect(page.locator(".shortcuts")).to_contain_text("1–7 rate the response")
    Assignment.objects.filter(pk=first.pk).update(leased_at=first.leased_at - timedelta(seconds=60))
    page.reload()  # a minute after it was first shown

    page.keyboard.press("5")
    page.keyboard.press("Enter")
    expect(page.locator("#progress")).to_contain_text("1 done · 1 to go")
    second = assignment_shown(page)
    page.keyboard.press("2")
    page.keyboard.press("Enter")

    expect(page.locator("#all-done")).to_be_visible()
    judgments = {judgment.assignment_id: judgment for judgment in Judgment.objects.all()}
    assert judgments[first.pk].ratings == {first.presented_order[0]: 5}
    assert judgments[second.pk].ratings == {second.presented_order[0]: 2}
    assert judgments[first.pk].time_on_task_ms >= 60_000 > judgments[second.pk].time_on_task_ms


def test_an_annotator_scores_attributes_by_keyboard_and_submits_from_the_rationale(
        page, sign_in, live_server, manager, annotator):
    campaign = live_campaign(manager, [annotator], design="attributes", prompts=1, ask_rationale=True,
                             rate_alone=False)
    open_task(page, sign_in, live_server, campaign)
    assignment = assignment_shown(page)
    for key in "3441221304":  # five attributes of A, then five of B
        page.keyboard.press(key)
    page.keyboard.press("u")  # the highlighted response (B) fails safety
    expect(page.locator("input[name=unsafe_1]")).to_be_checked()
    page.get_by_label("Why?").fill("B invents a date.")
    page.keyboard.press("Control+Enter")

    expect(page.locator("#all-done")).to_be_visible()
    a, b = assignment.presented_order
    judgment = Judgment.objects.get()
    assert judgment.attributes[a] == {"helpfulness": 3, "correctness": 4, "coherence": 4, "complexity": 1,
                                      "verbosity": 2, "unsafe": 0}
    assert judgment.attributes[b] == {"helpfulness": 2, "correctness": 1, "coherence": 3, "complexity": 0,
                                      "verbosity": 4, "unsafe": 1}
    assert judgment.rationale == "B invents a date."
