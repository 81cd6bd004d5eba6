"""Personas shared by the whole suite: a manager, two annotators on different campaigns, an outsider."""

import shutil

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import CampaignFactory, UserFactory

PASSWORD = "a-Good-password-1"

pytest_plugins = ["tests.tiny_model"]  # tiny_model_dir and tiny_endpoint, for every folder


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters and the probe lock live in the cache: each test starts with none."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True, scope="session")
def _cache_folder_removed():
    """The file cache's folder is the test run's own (config/settings_test.py): removed when the run ends."""
    yield
    from django.conf import settings

    if settings.CACHES["default"]["BACKEND"] == "core.cache.FileCache":
        shutil.rmtree(settings.CACHES["default"]["LOCATION"], ignore_errors=True)


@pytest.fixture
def admin_user(db):
    return UserFactory(username="ada", role=User.Role.ADMIN, is_staff=True, is_superuser=True)


@pytest.fixture
def manager(db):
    return UserFactory(username="maria", role=User.Role.MANAGER)


@pytest.fixture
def annotator(db):
    return UserFactory(username="anna")


@pytest.fixture
def other_annotator(db):
    return UserFactory(username="otto")


@pytest.fixture
def outsider(db):
    return UserFactory(username="olga")


@pytest.fixture
def campaign(manager, annotator):
    campaign = CampaignFactory(name="Helpfulness", created_by=manager)
    campaign.managers.add(manager)
    campaign.members.add(annotator)
    return campaign


@pytest.fixture
def other_campaign(manager, other_annotator):
    campaign = CampaignFactory(name="Harmlessness", created_by=manager)
    campaign.managers.add(manager)
    campaign.members.add(other_annotator)
    return campaign


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def start_worker(tmp_path):
    """Start real worker processes on the test database; all are stopped at the end of the test."""
    from tests.workers import WorkerProcess

    started = []

    def start(**kwargs):
        worker = WorkerProcess(log_dir=tmp_path, **kwargs).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()


@pytest.fixture
def model_env(tiny_model_dir):
    """A worker's environment for the tiny model, in small batches: a job long enough to kill the worker half way."""
    return {"MODELHOST_MODEL_DIRS": str(tiny_model_dir.parent), "MODELHOST_TOKEN_BUDGET": "600"}

@pytest.fixture
def shared_media(settings):
    """Worker processes read the settings' MEDIA_ROOT, so the test does too; the export files go after the test."""
    from exports.models import Export

    settings.MEDIA_ROOT = settings.DATA_DIR / "media"
    yield
    for export in Export.objects.all():
        shutil.rmtree(export.directory, ignore_errors=True)
