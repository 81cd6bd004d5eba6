"""Every API body goes through one parser: what would break a view further in is a 400 (or 413) in JSON."""

import json
import os
import subprocess
import sys

import pytest

from accounts.services.tokens import token_create
from tests.factories import campaign_with_items


def auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {token_create(user=user, name='t')[1]}"}


@pytest.fixture
def submit(api_client, manager, annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator])
    headers = auth(annotator)
    assignment = api_client.post(f"/api/v1/campaigns/{campaign.pk}/next", **headers).json()["assignment"]

    def post(body: str):
        return api_client.generic("POST", f"/api/v1/assignments/{assignment}/submit", body,
                                  content_type="application/json", **headers)

    return post


@pytest.mark.parametrize("body, says", [
    ('{"choice": "a", "ranking": ' + "[" * 5000 + "]" * 5000 + "}", "deeper"),
    ('{"choice": "a", "time_on_task_ms": NaN}', "NaN"),
    ('{"choice": "a", "rationale": "\\ud800"}', "lone surrogate"),
    ('{"choice": "a", "rationale": "\\u0000"}', "NUL"),
    ('{"choice": "a", "time_on_task_ms": 99999999999999999999999}', "64 bits"),
    ('{"choice": "a", "time_on_task_ms": 9999999999}', "less than or equal"),
])
def test_a_body_that_would_break_a_view_is_a_400_naming_the_reason(submit, body, says):
    response = submit(body)
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert says in json.dumps(response.json())


def test_an_oversized_body_is_a_413_in_json(submit, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = submit(json.dumps({"choice": "a", "rationale": "x" * 2000}))
    assert response.status_code == 413 and response["Content-Type"] == "application/json"
    assert "1000 bytes" in response.json()["detail"]


def test_ids_beyond_64_bits_in_a_path_are_not_found(api_client, annotator):
    huge = 2**70
    assert api_client.post(f"/api/v1/campaigns/{huge}/next", **auth(annotator)).status_code == 404
    assert api_client.post(f"/api/v1/assignments/{huge}/submit", {"choice": "a"}, format="json",
                           **auth(annotator)).status_code == 404


def test_a_key_is_throttled_per_view_and_another_key_or_view_is_not(api_client, manager, annotator, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "key_view": "3/min"}}
    headers = auth(annotator)
    statuses = [api_client.get("/api/v1/me", **headers).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert api_client.get("/api/v1/me", **auth(manager)).status_code == 200  # another key
    assert api_client.get("/api/v1/exports", **headers).status_code == 403  # another view: refused, not throttled


# Another web process, as gunicorn runs several: the same settings and test database, its own memory.
OTHER_PROCESS = """
import django, sys
django.setup()
from django.test.utils import setup_test_environment
from rest_framework.test import APIClient
setup_test_environment()
print([APIClient().get("/api/v1/me", HTTP_AUTHORIZATION=sys.argv[1]).status_code for _ in range(2)])
"""


@pytest.mark.django_db(transaction=True)  # the other process reads the key from the database
def test_a_key_is_counted_once_across_the_processes_of_the_machine(api_client, annotator, settings):
    from tests.workers import ROOT, database_url_of_test_db

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "key_view": "3/min"}}
    header = auth(annotator)["HTTP_AUTHORIZATION"]
    other = subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS, header], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test", "DATABASE_URL": database_url_of_test_db(),
             "CONCORD_THROTTLE_KEY_VIEW": "3/min"})
    assert other.stdout.strip() == "[200, 200]", other.stderr[-2000:]
    statuses = [api_client.get("/api/v1/me", HTTP_AUTHORIZATION=header).status_code for _ in range(2)]
    assert statuses == [200, 429]  # with memory per process, this one would allow three more


def test_anonymous_callers_are_throttled_per_address(api_client, db, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": "2/min"}}
    statuses = [api_client.get("/api/schema/").status_code for _ in range(3)]  # the one API page open to anyone
    assert statuses == [200, 200, 429]
