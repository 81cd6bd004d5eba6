"""Endpoint fixtures on the tiny model (imported by the Django-side model-host tests)."""

import pytest

from modelhost.models import ModelEndpoint


@pytest.fixture
def tiny_endpoint(db, settings, tiny_model_dir):
    settings.MODELHOST_MODEL_DIRS = [str(tiny_model_dir.parent)]
    return ModelEndpoint.objects.create(
        name="tiny", model=str(tiny_model_dir), device="cpu", dtype="float32", max_context=256, is_default=True,
        default_params={"max_new_tokens": 8, "temperature": 0.8, "top_p": 0.95},
    )
