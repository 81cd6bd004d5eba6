"""Take the README's annotator screenshots from a running server with the demo loaded (`make run` prints the
demo passwords):

    .venv/bin/python docs/screenshots.py http://127.0.0.1:8000 demo-annotator-1 PASSWORD

Writes docs/screenshot-task.png, docs/screenshot-task-dark.png and docs/screenshot-annotator-home.png.
Debian's Chromium, as the browser tests use it (Playwright cannot download its own here).
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

DOCS = Path(__file__).resolve().parent
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]


def main(base: str, username: str, password: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1100})
        page.goto(f"{base}/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base}/")
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
    main(*sys.argv[1:4])
