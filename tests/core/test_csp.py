"""The Content-Security-Policy is enforced, and the pages give it nothing to refuse: no inline script anywhere."""

import re
from pathlib import Path

import pytest
from django.conf import settings

TEMPLATES = sorted((Path(settings.BASE_DIR) / "templates").rglob("*.html"))
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


def test_every_page_carries_an_enforced_policy_without_inline_script(client, manager):
    client.force_login(manager)
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    assert "Content-Security-Policy-Report-Only" not in response
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy


@pytest.mark.parametrize("template", TEMPLATES, ids=[str(t.relative_to(settings.BASE_DIR)) for t in TEMPLATES])
def test_no_template_holds_an_inline_script_or_event_handler(template):
    text = template.read_text()
    assert not INLINE_SCRIPT.search(text) and not EVENT_HANDLER.search(text) and "<style" not in text


@pytest.mark.parametrize("path", ["/", "/annotate/manage/", "/api/docs/", "/admin/", "/accounts/people/"])
def test_rendered_pages_hold_no_inline_script(client, admin_user, path):
    client.force_login(admin_user)
    response = client.get(path)
    assert response.status_code == 200
    assert not INLINE_SCRIPT.search(response.content.decode())
