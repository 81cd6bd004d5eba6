"""Settings are read at import, so each case runs in a fresh interpreter with its own environment."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOW = (
    "import django, json; django.setup(); from django.conf import settings as s; d = s.DATABASES['default'];"
    "print(json.dumps({'engine': d['ENGINE'], 'name': str(d['NAME']), 'max_age': d['CONN_MAX_AGE'],"
    "'health': d['CONN_HEALTH_CHECKS'], 'options': d.get('OPTIONS', {}), 'broker': s.CELERY_BROKER_URL,"
    "'debug': s.DEBUG}))"
)


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_"))}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
    )


def show(**env) -> dict:
    result = run_python(SHOW, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def manage(*args, **env) -> subprocess.CompletedProcess:
    return run_python(f"import sys; from django.core.management import execute_from_command_line; "
                      f"execute_from_command_line(['manage.py', *{list(args)!r}])", **env)


def test_with_no_environment_it_needs_no_server(tmp_path):
    settings = show(CONCORD_DATA_DIR=str(tmp_path))
    assert settings["engine"] == "django.db.backends.sqlite3"
    assert settings["name"] == str(tmp_path / "db.sqlite3")
    assert "journal_mode=WAL" in settings["options"]["init_command"]
    assert settings["options"]["timeout"] == 20
    assert settings["broker"] == "filesystem://"
    assert settings["debug"] is True


def test_database_url_switches_to_postgresql_with_persistent_checked_connections():
    settings = show(DATABASE_URL="postgres://concord:pw@db.internal:5433/concord")
    assert settings["engine"] == "django.db.backends.postgresql"
    assert settings["name"] == "concord"
    assert settings["max_age"] == 600 and settings["health"] is True
    assert settings["options"]["server_side_binding"] is True and settings["options"]["prepare_threshold"] == 5


def test_prepared_statements_can_be_turned_off_for_a_pooler_that_cannot_keep_them():
    settings = show(DATABASE_URL="postgres://concord:pw@db.internal:5433/concord", DATABASE_PREPARED_STATEMENTS="0")
    assert "server_side_binding" not in settings["options"] and "prepare_threshold" not in settings["options"]


def test_celery_broker_url_switches_the_broker():
    assert show(CELERY_BROKER_URL="redis://127.0.0.1:6379/3")["broker"] == "redis://127.0.0.1:6379/3"


def test_a_malformed_boolean_fails_loudly():
    result = run_python(SHOW, DJANGO_DEBUG="maybe")
    assert result.returncode != 0
    assert "DJANGO_DEBUG='maybe' is not a boolean" in result.stderr


PRODUCTION = {
    "DJANGO_ENV": "production",
    "DJANGO_ALLOWED_HOSTS": "concord.example.org",
}


def test_production_mode_with_safe_settings_passes_the_deploy_check(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", CONCORD_DATA_DIR=str(tmp_path),
                    DJANGO_SECRET_KEY=secrets.token_urlsafe(50), **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_mode_refuses_debug():
    result = manage("check", DJANGO_DEBUG="1", DJANGO_SECRET_KEY=secrets.token_urlsafe(50), **PRODUCTION)
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be off" in result.stderr


def test_production_mode_refuses_the_default_a_short_or_a_repeated_secret_key():
    for key in [None, "short-key", "abcdefghij" * 5, "a1b2c3d4e5f6g7h8" * 4]:
        env = {**PRODUCTION, **({"DJANGO_SECRET_KEY": key} if key else {})}
        result = manage("check", **env)
        assert result.returncode != 0
        assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_mode_refuses_empty_allowed_hosts():
    result = manage("check", DJANGO_ENV="production", DJANGO_SECRET_KEY=secrets.token_urlsafe(50))
    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS must list" in result.stderr


def test_production_mode_refuses_a_wildcard_allowed_host():
    result = manage("check", DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
                    **{**PRODUCTION, "DJANGO_ALLOWED_HOSTS": "concord.example.org,*"})
    assert result.returncode != 0
    assert "not '*'" in result.stderr
