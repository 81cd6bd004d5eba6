"""Stored XSS through every rendered field: every text column of this project's models (the list is generated from
the models, so a new field is covered the day it is added) is filled with markup that would run if it reached a page
raw; then every page (generated from the URL configuration, ids from maria's world) is read as its owner, an
annotator and an admin. No page may hold the markup raw. Which fields pages actually showed is printed (-s) and
must include the ones known to be on screen, so the check cannot pass by rendering nothing.
Chromium with CSP enforced checks the same markup in tests/e2e/test_csp.py."""

import pytest
from django.apps import apps
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.security.test_cross_tenant import PUBLIC

pytestmark = pytest.mark.django_db
APPS = ("accounts", "annotate", "moralgraph", "feedback", "modelhost", "exports", "core")
# Secrets and what code reads as data, never shown as text: filling them would break the world, not test a page.
NOT_TEXT = {"password", "key_hash", "token_hash", "api_key_env", "model", "base_url", "content_hash", "client_key",
            "hostname", "worker", "queue", "external_id"}  # external ids are joined to JSON (presented order)


def payload(n: int) -> str:
    return f"'\"><script>xss({n})</script><img src=x onerror=xss({n})>"


def text_fields() -> list[tuple[type[models.Model], models.Field]]:
    """Every free-text column of this project's models: CharField/TextField without choices, long enough to hold
    the payload."""
    found = []
    for model in apps.get_models():
        if model._meta.app_label not in APPS:
            continue
        for field in model._meta.concrete_fields:
            if (isinstance(field, models.CharField | models.TextField) and not field.choices
                    and field.name not in NOT_TEXT and (field.max_length or 10_000) >= len(payload(999)) + 12):
                found.append((model, field))
    return found


def _pages(resolver=None, namespace=""):
    """(url name, keyword names) of every named route outside the admin and the API."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name != "admin":
                yield from _pages(entry, f"{namespace}{entry.namespace}:" if entry.namespace else namespace)
        elif isinstance(entry, URLPattern) and entry.name and entry.name not in PUBLIC:
            yield f"{namespace}{entry.name}", tuple(sorted(entry.pattern.converters))


def test_no_page_shows_any_stored_field_raw(client, world, manager, annotator, admin_user):
    fields = text_fields()
    labels = {}
    for n, (model, field) in enumerate(fields):
        labels[n] = f"{model._meta.label}.{field.name}"
        for pk in model.objects.values_list("pk", flat=True):
            value = f"{payload(n)}#{pk}"  # unique, also where a constraint joins columns
            model.objects.filter(pk=pk).update(**{field.name: value})
    seen, raw = set(), []
    for user in (manager, annotator, admin_user):
        client.force_login(user)
        for name, keywords in sorted(set(_pages())):
            url = reverse(name, kwargs=world.kwargs(name, keywords))
            if url.startswith("/api/"):
                continue
            response = client.get(url)
            if "text/html" not in response.get("Content-Type", ""):
                continue
            html = response.content.decode()
            for n, label in labels.items():
                if f"<script>xss({n})" in html or f"onerror=xss({n})>" in html:
                    raw.append(f"{label} on {url} as {user}")
                if f"xss({n})" in html:
                    seen.add(label)
    print(f"\n{len(fields)} text fields filled; {len(seen)} shown on some page:", ", ".join(sorted(seen)))
    assert raw == []
    assert {"annotate.Campaign.name", "annotate.Candidate.text", "accounts.User.email"} <= seen
