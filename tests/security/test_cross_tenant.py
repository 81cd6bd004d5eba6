"""Every route that takes an id, found in the URL configuration (so a new route is covered the day it is added),
is tried on maria's objects by a manager of other campaigns and by an annotator outside them: each answer is a
refusal (403, 404 or 405) and nothing changes."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.services.tokens import token_create
from tests.security.conftest import state

PUBLIC = {"invite_accept"}  # reached with a signed token, not an id: tests/accounts covers it


def routes(resolver=None, namespace="", *, with_id=True):
    """(url name, keyword names) of every named route (with `with_id`, those with an int keyword), admin excluded
    (Django's own checks). tests/e2e/test_accessibility.py visits them all."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                continue
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from routes(entry, inner, with_id=with_id)
        elif isinstance(entry, URLPattern) and entry.name and entry.name not in PUBLIC:
            converters = entry.pattern.converters
            if not with_id or any(type(converter).__name__ == "IntConverter" for converter in converters.values()):
                yield f"{namespace}{entry.name}", sorted(converters)


ROUTES = sorted(set((name, tuple(kwargs)) for name, kwargs in routes()))


def test_the_routes_are_found():
    names = {name for name, _ in ROUTES}
    assert {"annotate:manage_status", "api-export-file", "exports:download", "token_revoke"} <= names


@pytest.mark.parametrize("intruder", ["other_manager", "other_annotator"])
@pytest.mark.parametrize(("name", "kwargs"), ROUTES, ids=[name for name, _ in ROUTES])
def test_an_intruder_is_refused_everywhere_and_changes_nothing(client, world, request, intruder, name, kwargs):
    user = request.getfixturevalue(intruder)
    url = reverse(name, kwargs=world.kwargs(name, kwargs))
    headers = {"HTTP_AUTHORIZATION": f"Token {token_create(user=user, name='probe')[1]}"} if "/api/" in url else {}
    client.force_login(user)
    before = state()
    for method in ("get", "post"):
        response = getattr(client, method)(url, **headers)
        assert response.status_code in (403, 404, 405), f"{method.upper()} {url} as {user}: {response.status_code}"
    assert state() == before
