"""In Chromium, with the policy enforced: the pages run without a single violation, and markup injected through a
rendered field (a prompt, a response) neither runs nor is even tried as script."""

import pytest
from playwright.sync_api import expect

from annotate.models import Candidate, Prompt
from tests.conftest import PASSWORD
from tests.factories import campaign_with_items

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAYLOADS = ['<script>window.__pwned = 1</script>', '<img src=x onerror="window.__pwned = 1">',
            '<svg onload="window.__pwned = 1"></svg>', '<a href="javascript:window.__pwned = 1">x</a>']


def test_pages_run_without_a_policy_violation_and_injected_markup_stays_text(page, sign_in, live_server, manager,
                                                                             annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator], prompts=1, name="XSS " + PAYLOADS[0])
    Prompt.objects.filter(campaign=campaign).update(messages=[{"role": "user", "content": " ".join(PAYLOADS)}])
    Candidate.objects.filter(prompt__campaign=campaign).update(text=PAYLOADS[1] + PAYLOADS[2])
    violations = []
    page.on("console", lambda message: violations.append(page.url + " " + message.text)
            if "Content Security Policy" in message.text else None)

    sign_in("anna", PASSWORD)
    page.goto(f"{live_server.url}/annotate/campaigns/{campaign.pk}/")
    expect(page.locator("#task-form")).to_be_visible()
    page.keyboard.press("1")  # annotate.js (a static file) still runs under the policy
    sign_in_as_manager = [f"/annotate/manage/{campaign.pk}/", "/annotate/exports/", "/api/docs/",
                          f"/annotate/reports/{campaign.pk}/", f"/annotate/reports/{campaign.pk}/?properties=1",
                          "/annotate/profile/", f"/annotate/profile/campaigns/{campaign.pk}/fields/"]
    page.get_by_role("button", name="Sign out").click()
    sign_in("maria", PASSWORD)
    for path in sign_in_as_manager:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__pwned") is None
    assert violations == []
