import pytest
from django.core.exceptions import ValidationError

from modelhost.models import ModelEndpoint
from modelhost.services.endpoints import endpoint_get_default, endpoint_make_default


def validate(**fields):
    ModelEndpoint(name="x", **fields).full_clean()


def test_a_checkpoint_in_an_allowed_folder_is_accepted(settings, tiny_model_dir, db):
    settings.MODELHOST_MODEL_DIRS = [str(tiny_model_dir.parent)]
    validate(model=str(tiny_model_dir))


def test_a_missing_path_is_refused_with_a_clear_error(db):
    with pytest.raises(ValidationError, match="does not exist on this machine"):
        validate(model="/nowhere/model")


def test_a_folder_outside_the_allow_list_is_refused(settings, tiny_model_dir, db):
    settings.MODELHOST_MODEL_DIRS = []
    with pytest.raises(ValidationError, match="outside the allowed model folders"):
        validate(model=str(tiny_model_dir))


def test_a_folder_without_safe_weights_is_refused(settings, tmp_path, db):
    (tmp_path / "pytorch_model.bin").write_bytes(b"pickle")
    settings.MODELHOST_MODEL_DIRS = [str(tmp_path)]
    with pytest.raises(ValidationError, match="no .safetensors or .gguf weights"):
        validate(model=str(tmp_path))


def test_bad_default_params_are_refused(db):
    with pytest.raises(ValidationError, match="Unknown sampling parameter"):
        validate(default_params={"temp": 1})


def test_an_openai_server_that_does_not_answer_is_refused(db):
    with pytest.raises(ValidationError) as error:
        validate(backend="openai", base_url="http://127.0.0.1:9/v1", model="m")
    assert "base_url" in error.value.message_dict


def test_a_fresh_install_gets_the_bundled_model_as_default(db):
    endpoint = endpoint_get_default()
    assert endpoint.is_default and endpoint.backend == "transformers" and endpoint.model == ""
    assert endpoint_get_default() == endpoint


def test_one_endpoint_is_the_default(tiny_endpoint):
    other = ModelEndpoint.objects.create(name="other", model=tiny_endpoint.model)
    endpoint_make_default(endpoint=other)
    assert list(ModelEndpoint.objects.filter(is_default=True)) == [other]
