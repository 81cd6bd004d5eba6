import pytest
from django.core.cache import cache

from accounts.services.tokens import token_create


@pytest.fixture(autouse=True)
def throttles_forgotten():
    """Throttle history lives in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_key():
    def key_for(user) -> str:
        return token_create(user=user, name="app")[1]

    return key_for


@pytest.fixture
def api_as(api_client, api_key):
    """An API client authenticated with a fresh key of `user` (`Authorization: Token`)."""

    def client_for(user):
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_key(user)}")
        return api_client

    return client_for


@pytest.fixture(autouse=True)
def model_in_this_process(settings):
    """The tiny model answers in the test process (the embedded default), whatever broker the run uses; tests of
    the worker paths say otherwise and start a worker."""
    settings.MODELHOST_STREAM_VIA = "inprocess"
