"""Test settings: the same settings, with a data folder of their own and a fast hasher."""

import os
from pathlib import Path

os.environ.setdefault("CONCORD_DATA_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test"))
os.environ.setdefault("CONCORD_WORKER_HEARTBEAT_SECONDS", "1")
os.environ.setdefault("MODELHOST_PRELOAD", "0")  # test workers load the model a test asks for

from config.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if not CACHE_URL:  # noqa: F405
    # A cache folder per test run, as the SQLite test database has, and the processes a test starts inherit it.
    os.environ.setdefault("CONCORD_TEST_CACHE_DIR", str(DATA_DIR / f"test-cache-{os.getpid()}"))  # noqa: F405
    CACHES["default"]["LOCATION"] = os.environ["CONCORD_TEST_CACHE_DIR"]  # noqa: F405
