"""Take the README's screenshots from a running server with the demo loaded (`make run` prints the demo passwords):

    .venv/bin/python docs/screenshots.py http://127.0.0.1:8000 demo-annotator-1 PASSWORD [demo-manager PASSWORD]

Writes docs/screenshot-task.png, docs/screenshot-task-dark.png and docs/screenshot-annotator-home.png; with a
manager's sign-in also docs/screenshot-items.png (the item browser) and docs/screenshot-campaign.png (a campaign's
page, AI judges card included).
Debian's Chromium, as the browser tests use it (Playwright cannot download its own here).
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

DOCS = Path(__file__).resolve().parent
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]


def sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def manager_pages(browser, base: str, username: str, password: str) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, base, username, password)
    page.goto(f"{base}/annotate/manage/items/")
    page.screenshot(path=DOCS / "screenshot-items.png", full_page=True)
    page.goto(f"{base}/")
    page.locator("#campaigns a").first.click()
    page.screenshot(path=DOCS / "screenshot-campaign.png", full_page=True)
    page.close()


def main(base: str, username: str, password: str, manager: str = "", manager_password: str = "") -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        if manager:
            manager_pages(browser, base, manager, manager_password)
        page = browser.new_page(viewport={"width": 1280, "height": 1100})
        sign_in(page, base, username, password)
        page.locator("#campaigns a").first.click()
        page.locator("#task-form").wait_for()
        page.keyboard.press("5")  # "A better": a strength, so the picture shows the keys at work
        if page.locator("#rationale").count():
            page.locator("#rationale").fill("B names the wrong city.")
        page.screenshot(path=DOCS / "screenshot-task.png", full_page=True)
        page.emulate_media(color_scheme="dark")
        page.screenshot(path=DOCS / "screenshot-task-dark.png", full_page=True)
        page.emulate_media(color_scheme="light")
        page.get_by_role("button", name="Submit").click()
        page.locator("#done-count").get_by_text("1", exact=True).wait_for()
        page.goto(f"{base}/")
        page.screenshot(path=DOCS / "screenshot-annotator-home.png",
                        clip={"x": 0, "y": 0, "width": 1280, "height": 500})
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:6])
