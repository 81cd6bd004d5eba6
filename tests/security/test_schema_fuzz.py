"""Schemathesis against the OpenAPI schema: generated requests to every documented operation never get a 500.

Bounded and repeatable: a few examples per operation, derandomized, run in-process on the test database as
maria (a manager, so most operations get past permissions into the code that parses and checks input)."""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings

from accounts.services.tokens import token_create
from config.wsgi import application


@pytest.fixture
def api_schema(db):
    # As Django's test client does: a request through the WSGI handler must not close the test's connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/schema/", application)
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def maria_key(manager, annotator):
    from tests.factories import campaign_with_items

    campaign_with_items(manager=manager, members=[annotator])
    return token_create(user=manager, name="fuzz")[1]


def test_no_generated_request_gets_a_server_error(api_schema, maria_key):
    # One hypothesis run per operation, driven here rather than by schemathesis' pytest plugin (which does not
    # run on pytest 9): every failure is collected, so one run names them all.
    failures = []
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=8, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def call(case):
            response = case.call(headers={"Authorization": f"Token {maria_key}"})
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.body!r:.200}: {response.status_code}")

        call()
    assert failures == []
