"""The fault suite: real workers, and private PostgreSQL and Redis servers that the tests restart.

Marked `faults` (and `integration`), so CI can run it as a stage of its own (`pytest -m faults`); `make test` runs it
too. Each test is bounded (a few minutes in all on a 2-core box)."""

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from kombu import pools

from config.celery import app
from tests.faults.services import PrivatePostgres, PrivateRedis


@pytest.fixture
def private_folder():
    folder = Path(tempfile.mkdtemp(prefix="concord-faults-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def private_redis(private_folder):
    redis = PrivateRedis(private_folder).start()
    yield redis
    redis.stop()


@pytest.fixture
def private_postgres(private_folder):
    postgres = PrivatePostgres(private_folder).init()
    yield postgres
    postgres.stop("immediate")


@contextmanager
def _broker(url: str):
    """Send this process's tasks to `url` (the web side of a test), then back to the settings' broker. The write URL,
    since a CELERY_BROKER_URL in the environment wins over the configured broker_url."""
    saved = app.conf.broker_write_url if "broker_write_url" in app.conf.changes else None

    def reset(to: str | None) -> None:
        # app.pool is kombu's process-wide pool for the URL: closing only it would leave a closed pool registered
        # for the settings' broker ("Acquire on closed pool" in every later test). Empty the registry instead.
        pools.reset()
        app._pool = None
        app.amqp._producer_pool = None
        app.conf.broker_write_url = to

    reset(url)
    try:
        yield
    finally:
        reset(saved)


@pytest.fixture
def tasks_to():
    return _broker

