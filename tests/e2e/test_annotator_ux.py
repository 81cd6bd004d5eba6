"""The annotator's page as people use it: a session that ends mid-task, the keyboard alone, errors that take the
focus, the shortcut list, taking a judgment back, flags the manager sees, and dark mode."""

import pytest
from playwright.sync_api import expect

from annotate.models import Flag, Judgment
from tests.annotate.test_views import live_campaign
from tests.conftest import PASSWORD
from tests.e2e.test_annotate import assignment_shown, open_task

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("lost", ["sessionid", "all cookies"])
def test_a_session_that_ends_mid_task_asks_to_sign_in_once_and_sends_the_draft(
        page, sign_in, live_server, manager, annotator, lost):
    campaign = live_campaign(manager, [annotator], ask_rationale=True)
    open_task(page, sign_in, live_server, campaign)
    assignment = assignment_shown(page)
    page.keyboard.press("2")
    page.locator("#rationale").fill("B names the right city.")
    page.context.clear_cookies(**({"name": "sessionid"} if lost == "sessionid" else {}))

    page.get_by_role("button", name="Submit").click()
    dialog = page.get_by_role("dialog", name="Sign in again")
    expect(dialog).to_be_visible()
    expect(page.locator("#task-form")).to_be_visible()  # the task stays, no login page inside it
    dialog.get_by_label("Password").fill("not it")
    dialog.get_by_role("button", name="Sign in and carry on").click()
    expect(dialog.get_by_role("alert")).to_contain_text("did not match")
    dialog.get_by_label("Password").fill(PASSWORD)
    dialog.get_by_role("button", name="Sign in and carry on").click()

    expect(page.locator("#progress")).to_contain_text("1 done")
    expect(dialog).to_be_hidden()
    judgment = Judgment.objects.get(assignment=assignment)
    assert judgment.rationale == "B names the right city."
    assert judgment.choice == ("a" if assignment.presented_order[1].endswith("-r0") else "b")  # key 2: B, shown second
    assert page.evaluate("window.notReloaded") is True  # signed in once, on the same page


def test_the_strength_is_chosen_with_the_keys_4_to_0_and_sets_the_choice(
        page, sign_in, live_server, manager, annotator):
    campaign = live_campaign(manager, [annotator], ask_strength=True, prompts=1)
    open_task(page, sign_in, live_server, campaign)
    expect(page.locator(".shortcuts")).to_contain_text("4–0 how much better")
    assignment = assignment_shown(page)
    page.keyboard.press("9")  # B better
    expect(page.get_by_label("9 B better")).to_be_checked()
    expect(page.get_by_label("B is better")).to_be_checked()
    page.keyboard.press("4")  # no: A much better
    expect(page.get_by_label("A is better")).to_be_checked()
    page.keyboard.press("Enter")
    expect(page.locator("#all-done")).to_be_visible()
    judgment = Judgment.objects.get(assignment=assignment)
    a_shown_first = assignment.presented_order[0] == "p0-r0"
    assert (judgment.choice, judgment.strength) == (("a", -3) if a_shown_first else ("b", 3))


def test_a_refused_submit_puts_the_focus_on_the_first_error(page, sign_in, live_server, manager, annotator):
    campaign = live_campaign(manager, [annotator], design="rating", prompts=1, rate_alone=False)
    open_task(page, sign_in, live_server, campaign)
    page.keyboard.press("5")  # A rated; B left unrated
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#task-errors")).to_contain_text("Rate response B")
    focused = page.locator(":focus")
    expect(focused).to_have_attribute("aria-invalid", "true")
    expect(focused).to_contain_text("Rate B")
    assert not Judgment.objects.exists()


def test_a_required_rationale_is_marked_and_question_mark_lists_the_shortcuts(
        page, sign_in, live_server, manager, annotator):
    campaign = live_campaign(manager, [annotator], ask_rationale=True)
    open_task(page, sign_in, live_server, campaign)
    rationale = page.locator("#rationale")
    expect(rationale).to_have_attribute("aria-required", "true")
    expect(page.locator("label[for=rationale]")).to_contain_text("required")

    page.keyboard.press("?")
    overlay = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(overlay).to_be_visible()
    expect(overlay).to_contain_text("A is better, B is better, tie")
    page.keyboard.press("1")  # keys do nothing behind the open list
    expect(page.get_by_label("A is better")).not_to_be_checked()
    page.keyboard.press("Escape")
    expect(overlay).to_be_hidden()
    page.keyboard.press("1")
    expect(page.get_by_label("A is better")).to_be_checked()


def test_an_annotator_takes_a_judgment_back_and_judges_the_item_again(
        page, sign_in, live_server, manager, annotator):
    campaign = live_campaign(manager, [annotator], prompts=2)
    open_task(page, sign_in, live_server, campaign)
    first = assignment_shown(page)
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.locator("#progress")).to_contain_text("1 done")

    page.get_by_role("link", name="Your recent judgments").click()
    rows = page.locator("#my-judgments tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("A is better")
    rows.first.get_by_role("button", name="Change").click()

    expect(page.locator(".flash")).to_contain_text("judge the item again")
    assert assignment_shown(page).pk == first.pk
    expect(page.locator("#progress")).to_contain_text("0 done")
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    expect(page.locator("#progress")).to_contain_text("1 done")
    assert Judgment.objects.get(assignment=first).choice == "tie"


def test_a_flag_sent_from_the_task_shows_on_the_managers_campaign_page(
        page, sign_in, live_server, manager, annotator, browser):
    campaign = live_campaign(manager, [annotator])
    open_task(page, sign_in, live_server, campaign)
    assignment = assignment_shown(page)
    page.keyboard.press("f")
    dialog = page.get_by_role("dialog", name="Flag this task for the manager")
    dialog.get_by_label("Offensive or disturbing content").check()
    dialog.get_by_label("Comment").fill("Response B insults the user.")
    dialog.get_by_role("button", name="Send the flag").click()
    expect(page.locator("#flag-status")).to_have_text("Flag sent: Offensive or disturbing content.")
    expect(dialog).to_be_hidden()
    assert assignment_shown(page).pk == assignment.pk  # the task carries on
    assert Flag.objects.get().item_id == assignment.item_id

    manager_page = browser.new_context().new_page()
    manager_page.goto(f"{live_server.url}/accounts/login/")
    manager_page.get_by_label("Username").fill("maria")
    manager_page.get_by_label("Password").fill(PASSWORD)
    manager_page.get_by_role("button", name="Sign in").click()
    manager_page.goto(f"{live_server.url}/annotate/manage/{campaign.pk}/")
    flags = manager_page.locator("#flags")
    expect(flags).to_contain_text("anna")
    expect(flags).to_contain_text("Response B insults the user.")
    expect(flags).to_contain_text(assignment.item.external_id)


def test_dark_mode_follows_the_system_and_the_favicon_is_served(page, sign_in, live_server, manager, annotator):
    campaign = live_campaign(manager, [annotator])
    page.emulate_media(color_scheme="dark")
    open_task(page, sign_in, live_server, campaign)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    card = page.evaluate("getComputedStyle(document.querySelector('.response')).backgroundColor")
    assert background == "rgb(20, 24, 31)" and card == "rgb(29, 35, 45)"
    page.emulate_media(color_scheme="light")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(246, 247, 249)"
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(f"{live_server.url}{icon}").ok


def test_a_long_prompt_is_folded_and_unfolds(page, sign_in, live_server, manager, annotator):
    campaign = live_campaign(manager, [annotator], prompts=1)
    campaign.prompts.update(messages=[{"role": "user", "content": "\n\n".join(f"Line {n}." for n in range(60))}])
    open_task(page, sign_in, live_server, campaign)
    toggle = page.get_by_role("button", name="Show the whole prompt")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.locator(".prompt")).to_have_class("prompt collapsible collapsed")
    toggle.click()
    expect(page.get_by_role("button", name="Show less")).to_have_attribute("aria-expanded", "true")
    expect(page.locator(".prompt")).not_to_have_class("prompt collapsible collapsed")


def test_the_keyboard_hints_of_side_by_side_ratings_say_what_the_keys_do(
        page, sign_in, live_server, manager, annotator):
    campaign = live_campaign(manager, [annotator], design="rating", prompts=1, rate_alone=False)
    open_task(page, sign_in, live_server, campaign)
    hint = page.locator(".shortcuts")
    expect(hint).to_contain_text("1–7 rate the highlighted response, then the next is highlighted")
    expect(hint).to_contain_text("Shift+Tab back to the one before")
    focused_scale = page.locator("fieldset:focus-within legend")

    page.keyboard.press("5")
    expect(page.get_by_role("group", name="Rate A").get_by_label("5")).to_be_checked()
    expect(focused_scale).to_contain_text("Rate B")  # then the next is highlighted
    page.keyboard.press("Shift+Tab")
    expect(focused_scale).to_contain_text("Rate A")  # back to the one before
    page.keyboard.press("ArrowRight")  # on its buttons: the one after
    expect(page.get_by_role("group", name="Rate A").get_by_label("6")).to_be_checked()
    page.keyboard.press("3")
    expect(page.get_by_role("group", name="Rate A").get_by_label("3")).to_be_checked()
    expect(focused_scale).to_contain_text("Rate B")
    page.keyboard.press("Tab")  # to B's buttons, then on past B
    expect(focused_scale).to_contain_text("Rate B")
    expect(page.locator("fieldset :focus")).to_have_attribute("name", "rating_1")
    page.keyboard.press("Tab")
    expect(page.locator("fieldset:focus-within")).to_have_count(0)

    page.keyboard.press("?")
    overlay = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(overlay).to_contain_text("To the highlighted response's buttons (← → there: the one before or after), "
                                    "again to the next")
    expect(overlay).to_contain_text("Back to the response before")


def test_u_marks_the_highlighted_attributes_response_unsafe_and_again_not(
        page, sign_in, live_server, manager, annotator):
    campaign = live_campaign(manager, [annotator], design="attributes", prompts=1, rate_alone=False)
    open_task(page, sign_in, live_server, campaign)
    expect(page.locator(".shortcuts")).to_contain_text("U mark its response unsafe (again: not unsafe)")
    unsafe_a = page.locator("input[name=unsafe_0]")
    page.keyboard.press("u")
    expect(unsafe_a).to_be_checked()
    page.keyboard.press("u")
    expect(unsafe_a).not_to_be_checked()
