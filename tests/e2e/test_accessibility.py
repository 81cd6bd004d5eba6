"""axe-core (through axe-playwright-python, which ships it) on every page of the site, found in the URL
configuration as tests/security finds its routes, as each persona sees it: no serious or critical violation, in light
and dark mode."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from playwright.sync_api import expect

from tests.annotate.test_views import live_campaign
from tests.conftest import PASSWORD
from tests.security.conftest import world  # noqa: F401 (maria's world: a campaign, a job, an export, ...)
from tests.security.test_cross_tenant import routes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BLOCKING = {"serious", "critical"}
# Not our markup: Swagger UI's own page, and the Django admin (its own accessibility work).
NOT_OURS = {"api-docs"}


def pages_for(client, maria_world, user) -> list[str]:
    """Every URL that answers this user with an HTML page (a refusal page too), asked through the test client: no
    downloads, event streams, JSON, redirects or htmx fragments."""
    if user:
        client.force_login(user)
    urls = set()
    for name, keywords in routes(with_id=False):
        if name in NOT_OURS:
            continue
        url = reverse(name, kwargs=maria_world.kwargs(name, keywords))
        response = client.get(url)
        html = response.get("Content-Type", "").startswith("text/html") and not response.streaming
        page = html and response.content.lstrip()[:15].lower() == b"<!doctype html>"
        if page and response.status_code in (200, 403, 404):
            urls.add(url)
    return sorted(urls)


@pytest.mark.parametrize("persona", ["annotator", "manager", None])
def test_no_page_has_a_serious_or_critical_accessibility_violation(
        page, live_server, client, world, request, persona):  # noqa: F811
    user = request.getfixturevalue(persona) if persona else None
    urls = pages_for(client, world, user)
    assert len(urls) >= (10 if persona else 1), urls
    if user:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}/")
    axe, found = Axe(), {}
    for url in urls:
        page.goto(f"{live_server.url}{url}")
        for scheme in ("light", "dark"):  # the colours change in place; no reload needed
            page.emulate_media(color_scheme=scheme)
            for violation in axe.run(page).response["violations"]:
                if violation["impact"] in BLOCKING:
                    targets = [node["target"] for node in violation["nodes"]][:3]
                    found.setdefault(url, []).append(f"{scheme}: {violation['id']} ({violation['impact']}): {targets}")
        page.emulate_media(color_scheme="light")
    assert not found, "\n".join(f"{url}: {problem}" for url, problems in found.items() for problem in problems)


def test_a_form_refused_by_the_server_puts_the_focus_on_its_first_error(page, sign_in, live_server, manager):
    live_campaign(manager, [], name="Trial")
    sign_in("maria", PASSWORD)
    page.goto(f"{live_server.url}/annotate/manage/")
    page.get_by_label("Name").fill("Trial")  # taken: the server refuses it
    page.get_by_role("button", name="Create campaign").click()
    name = page.get_by_label("Name")
    expect(name).to_be_focused()
    expect(name).to_have_attribute("aria-invalid", "true")
    error = page.locator(f"#{name.get_attribute('aria-describedby').split()[-1]}")
    expect(error).to_contain_text("already exists")
    assert error.evaluate("element => getComputedStyle(element).color") != name.evaluate(
        "element => getComputedStyle(element.closest('form').querySelector('.helptext')).color")  # not help text
