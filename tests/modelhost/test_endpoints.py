import pytest
from django.core.exceptions import ValidationError

from modelhost.models import ModelEndpoint
from modelhost.services.endpoints import endpoint_get_default, endpoint_make_default, endpoint_validate

ADD = "/admin/modelhost/modelendpoint/add/"
FORM = {"name": "x", "backend": "transformers", "model": "", "base_url": "", "api_key_env": "", "device": "auto",
        "dtype": "auto", "max_context": 2048, "default_params": "{}"}


def validate(**fields):
    endpoint_validate(endpoint=ModelEndpoint(name="x", **fields))


def test_an_admin_adds_a_checkpoint_in_an_allowed_folder(settings, tiny_model_dir, admin_user, client):
    settings.MODELHOST_MODEL_DIRS = [str(tiny_model_dir.parent)]
    client.force_login(admin_user)
    response = client.post(ADD, {**FORM, "model": str(tiny_model_dir)})
    assert response.status_code == 302
    assert ModelEndpoint.objects.get(name="x").model == str(tiny_model_dir)


@pytest.fixture
def loopback_allowed(settings):
    settings.MODELHOST_ALLOWED_HOSTS = ["127.0.0.1"]


def test_the_admin_form_refuses_a_server_that_does_not_answer_and_saves_nothing(admin_user, client,
                                                                                loopback_allowed):
    client.force_login(admin_user)
    response = client.post(ADD, {**FORM, "backend": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m"})
    assert response.status_code == 200 and "base_url" in response.context["adminform"].form.errors
    assert not ModelEndpoint.objects.exists()


def test_saving_a_row_in_code_calls_no_network(db):
    """Checks belong to the service and the admin form: a model's clean() must not reach out to a server."""
    ModelEndpoint(name="x", backend="openai", base_url="http://127.0.0.1:9/v1", model="m").full_clean()


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


def test_an_openai_server_that_does_not_answer_is_refused(db, loopback_allowed):
    with pytest.raises(ValidationError, match="did not answer") as error:
        validate(backend="openai", base_url="http://127.0.0.1:9/v1", model="m")
    assert "base_url" in error.value.message_dict


@pytest.mark.parametrize("url", ["http://169.254.169.254/v1", "http://127.0.0.1:9/v1", "http://2130706433/v1"])
def test_an_internal_server_is_refused_unless_allowed(db, url):
    with pytest.raises(ValidationError, match="internal address") as error:
        validate(backend="openai", base_url=url, model="m")
    assert "base_url" in error.value.message_dict


@pytest.mark.parametrize("name", ["DJANGO_SECRET_KEY", "DATABASE_URL", "MODELHOST_KEY_"])
def test_the_api_key_comes_only_from_a_variable_named_for_it(db, loopback_allowed, name):
    with pytest.raises(ValidationError) as error:
        validate(backend="openai", base_url="http://127.0.0.1:9/v1", model="m", api_key_env=name)
    assert "MODELHOST_KEY_" in error.value.message_dict["api_key_env"][0]


def test_a_row_saved_before_the_rule_never_sends_another_variable(db, settings, monkeypatch):
    from modelhost.registry import backend_build

    settings.MODELHOST_ALLOWED_HOSTS = ["127.0.0.1"]
    monkeypatch.setenv("DJANGO_SECRET_KEY", "the-real-secret")
    endpoint = ModelEndpoint.objects.create(name="old", backend="openai", base_url="http://127.0.0.1:9/v1",
                                            model="m", api_key_env="DJANGO_SECRET_KEY")
    assert backend_build(endpoint)._client.api_key == "no-key"
    monkeypatch.setenv("MODELHOST_KEY_VLLM", "vllm-key")
    endpoint.api_key_env = "MODELHOST_KEY_VLLM"
    assert backend_build(endpoint)._client.api_key == "vllm-key"


def test_a_fresh_install_gets_the_bundled_model_as_default(db):
    endpoint = endpoint_get_default()
    assert endpoint.is_default and endpoint.backend == "transformers" and endpoint.model == ""
    assert endpoint_get_default() == endpoint


def test_one_endpoint_is_the_default(tiny_endpoint):
    other = ModelEndpoint.objects.create(name="other", model=tiny_endpoint.model)
    endpoint_make_default(endpoint=other)
    assert list(ModelEndpoint.objects.filter(is_default=True)) == [other]
