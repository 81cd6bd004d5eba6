"""Take the README's screenshots from a running server with the demo loaded (`make run` prints the demo passwords):

    .venv/bin/python docs/screenshots.py http://127.0.0.1:8000 demo-annotator-1 PASSWORD [demo-manager PASSWORD]

The annotator's task (light and dark), their landing page and their recent judgments (with undo); with a manager's
sign-in also their landing page, the item browser and one item opened, the campaign's settings after an edit, the
people page after a CSV invite, the report, a generation job while it runs and the playground. It acts on the demo
as a person would (a judgment, a settings edit, two invites, a small generation job): run it on a fresh demo.
Debian's Chromium, as the browser tests use it (Playwright cannot download its own here).
"""

import sys
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

DOCS = Path(__file__).resolve().parent
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]
WIDTH = 1280
MODEL_WAIT_MS = 600_000  # the first model call loads the model; on a busy CPU that takes minutes


def shot(page, name: str, height: int | None = None) -> None:
    """The page down to `height` pixels (the whole page without one): README pictures stay a few hundred KB."""
    clip = {"x": 0, "y": 0, "width": WIDTH, "height": height} if height else None
    page.screenshot(path=DOCS / f"screenshot-{name}.png", full_page=True, clip=clip)


def sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def annotator_pages(browser, base: str, username: str, password: str) -> None:
    page = browser.new_page(viewport={"width": WIDTH, "height": 1100})
    sign_in(page, base, username, password)
    page.locator("#campaigns a").first.click()
    page.locator("#task-form").wait_for()
    page.keyboard.press("5")  # "A better": a strength, so the picture shows the keys at work
    if page.locator("#rationale").count():
        page.locator("#rationale").fill("B names the wrong city.")
    shot(page, "task")
    page.emulate_media(color_scheme="dark")
    shot(page, "task-dark")
    page.emulate_media(color_scheme="light")
    page.get_by_role("button", name="Submit").click()
    page.locator("#done-count").get_by_text("1", exact=True).wait_for()
    page.get_by_role("link", name="Your recent judgments").click()
    page.locator("#my-judgments").wait_for()
    shot(page, "review", 500)
    page.goto(f"{base}/")
    shot(page, "annotator-home", 500)
    page.close()


def manager_pages(browser, base: str, username: str, password: str) -> None:
    page = browser.new_page(viewport={"width": WIDTH, "height": 900})
    sign_in(page, base, username, password)
    shot(page, "home", 700)
    page.goto(f"{base}/annotate/manage/items/")
    shot(page, "items", 900)
    page.goto(f"{base}/annotate/manage/items/?state=partial")
    page.locator("tbody a").first.click()
    shot(page, "item")

    page.goto(f"{base}/")
    page.locator("#campaigns a").first.click()
    campaign_url = page.url
    settings = page.locator("#settings")
    settings.get_by_label("Lease minutes").fill("45")
    settings.get_by_role("button", name="Save settings").click()
    page.locator(".flash").wait_for()  # saved; the history lists the change
    settings.locator("xpath=..").screenshot(path=DOCS / "screenshot-settings.png")
    page.get_by_role("link", name="Report", exact=True).click()
    page.locator("main h1").wait_for()
    shot(page, "report", 1800)

    page.goto(f"{base}/accounts/people/")
    page.get_by_label("CSV of people").set_input_files(files=[{
        "name": "people.csv", "mimeType": "text/csv",
        "buffer": b"username,email\nrosa,rosa@example.org\nteo,teo@example.org\n"}])
    page.get_by_role("button", name="Add and make invite links").click()
    page.locator("#invites").wait_for()
    shot(page, "people")

    # A small generation job (one more response per prompt, a few tokens), pictured while it runs.
    page.goto(campaign_url)
    page.get_by_label("Responses per prompt").fill("1")
    page.get_by_label("Max new tokens").fill("48")
    page.get_by_role("button", name="Generate candidates").click()
    page.locator("#job-progress").wait_for()
    page.get_by_role("link", name="Job #").first.click()
    expect(page.get_by_role("progressbar")).not_to_have_attribute("aria-valuenow", "0", timeout=MODEL_WAIT_MS)
    shot(page, "job")

    page.goto(f"{base}/models/playground/")
    page.get_by_label("Message").fill("Name three rivers in France.")
    page.get_by_text("Sampling").click()
    page.get_by_label("Max new tokens").fill("40")
    page.get_by_role("button", name="Send").click()
    page.locator(".reply").wait_for()
    expect(page.locator(".reply .stop")).to_have_count(0, timeout=MODEL_WAIT_MS)  # the reply is done
    page.get_by_label("Message").fill("Which is the longest?")
    shot(page, "playground", 900)
    page.close()


def main(base: str, username: str, password: str, manager: str = "", manager_password: str = "") -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        annotator_pages(browser, base, username, password)  # first: the manager's pages then show a judged item
        if manager:
            manager_pages(browser, base, manager, manager_password)
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:6])
