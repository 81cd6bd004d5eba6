import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_annotator_signs_in_and_sees_what_to_do_next(page, sign_in, annotator, campaign):
    sign_in("anna", PASSWORD)
    expect(page.get_by_role("heading", name="Hello, anna")).to_be_visible()
    expect(page.locator("#campaigns")).to_contain_text("Helpfulness")
    expect(page.get_by_text("Open a live campaign below")).to_be_visible()
    expect(page.get_by_role("link", name="People")).to_have_count(0)

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_manager_sees_the_worker_state_and_the_next_steps(page, sign_in, manager, campaign):
    sign_in("maria", PASSWORD)
    expect(page.get_by_text("Add annotators on")).to_be_visible()
    expect(page.locator("#queue-gpu")).to_contain_text("no worker")
    page.locator("nav").get_by_role("link", name="People").click()
    page.get_by_label("Username").fill("nina")
    page.get_by_role("button", name="Add and make an invite link").click()
    expect(page.locator("#invite-url")).to_contain_text("/accounts/invite/")
