from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from core.values import INT64_MAX
from modelhost.backends.base import BackendError, SamplingParams
from modelhost.models import ModelEndpoint

DEFAULT_ENDPOINT_NAME = "SmolLM2-135M-Instruct"
PARAM_TYPES = {"max_new_tokens": int, "temperature": (int, float), "top_p": (int, float), "stop": list, "seed": int}


def sampling_params_from(values: dict, *, base: dict | None = None) -> SamplingParams:
    """Validate a JSON dict of sampling values (over `base` defaults) into SamplingParams."""
    merged = {**(base or {}), **(values or {})}
    unknown = sorted(set(merged) - set(PARAM_TYPES))
    if unknown:
        raise ValidationError(f"Unknown sampling parameter(s): {', '.join(unknown)}; use {', '.join(PARAM_TYPES)}.")
    for name, kind in PARAM_TYPES.items():
        if name in merged and (not isinstance(merged[name], kind) or isinstance(merged[name], bool)):
            raise ValidationError(f"Sampling parameter {name} has the wrong type: {merged[name]!r}.")
    if not 1 <= merged.get("max_new_tokens", 1) <= 32768:
        raise ValidationError("max_new_tokens must be between 1 and 32768.")
    if not 0 <= merged.get("temperature", 0) <= 5:
        raise ValidationError("temperature must be between 0 and 5.")
    if not 0 < merged.get("top_p", 1) <= 1:
        raise ValidationError("top_p must be in (0, 1].")
    if not 0 <= merged.get("seed", 0) <= INT64_MAX:
        raise ValidationError("seed must be a whole number from 0 to 2^63 - 1.")
    if "stop" in merged:
        merged["stop"] = tuple(str(s) for s in merged["stop"])
    return SamplingParams(**merged)


def endpoint_params(*, endpoint: ModelEndpoint, values: dict | None = None) -> SamplingParams:
    """The sampling params of a request to this endpoint: its defaults overlaid with `values`, validated."""
    params = sampling_params_from(values or {}, base=endpoint.default_params)
    if params.max_new_tokens >= endpoint.max_context:
        raise ValidationError(
            f"max_new_tokens={params.max_new_tokens} leaves no room for a prompt in {endpoint.name}'s "
            f"context of {endpoint.max_context} tokens."
        )
    return params


def endpoint_validate(*, endpoint: ModelEndpoint) -> None:
    """Refuse a row that cannot work: a path that is missing or not allowed, a server that does not answer."""
    from modelhost.registry import API_KEY_ENV_PREFIX, allowed_model_dirs, api_key_env_allowed, backend_build

    try:
        sampling_params_from(endpoint.default_params)
    except ValidationError as error:
        raise ValidationError({"default_params": error.messages}) from None
    if endpoint.backend == ModelEndpoint.Backend.OPENAI:
        missing = {field: "Required for an OpenAI-compatible server." for field in ("base_url", "model")
                   if not getattr(endpoint, field)}
        if missing:
            raise ValidationError(missing)
        if endpoint.api_key_env and not api_key_env_allowed(endpoint.api_key_env):
            raise ValidationError({"api_key_env": f"Name a variable that starts with {API_KEY_ENV_PREFIX}, set for "
                                                  "this purpose only: its value is sent to the server."})
        try:
            backend_build(endpoint).check()
        except BackendError as error:
            raise ValidationError({"base_url": str(error)}) from None
        return
    if not endpoint.model:
        return  # the bundled model, checked when the worker loads it
    path = Path(endpoint.model).resolve()
    if not path.exists():
        raise ValidationError({"model": f"{endpoint.model} does not exist on this machine."})
    if not any(path.is_relative_to(Path(allowed).resolve()) for allowed in allowed_model_dirs()):
        raise ValidationError(
            {"model": f"{endpoint.model} is outside the allowed model folders (set MODELHOST_MODEL_DIRS)."}
        )
    weights = [path] if path.suffix == ".gguf" else list(path.glob("*.safetensors")) + list(path.glob("*.gguf"))
    if not weights:
        raise ValidationError({"model": f"{endpoint.model} holds no .safetensors or .gguf weights."})


@transaction.atomic
def endpoint_get_default() -> ModelEndpoint:
    """The default endpoint; on a fresh install, the bundled SmolLM2 on the CPU or GPU the worker finds."""
    endpoint = ModelEndpoint.objects.filter(is_default=True).first() or ModelEndpoint.objects.first()
    if endpoint is None:
        endpoint = ModelEndpoint.objects.create(
            name=DEFAULT_ENDPOINT_NAME,
            backend=ModelEndpoint.Backend.TRANSFORMERS,
            is_default=True,
            max_context=8192,
            default_params={"max_new_tokens": 256, "temperature": 0.7, "top_p": 0.95},
        )
    return endpoint


@transaction.atomic
def endpoint_make_default(*, endpoint: ModelEndpoint) -> None:
    ModelEndpoint.objects.filter(is_default=True).exclude(pk=endpoint.pk).update(is_default=False)
    ModelEndpoint.objects.filter(pk=endpoint.pk).update(is_default=True)
