"""The models this process holds, loaded once and reused by every task and stream.

Workers load the default model when they start (see modelhost/worker.py); everything else
loads lazily on first use. An edited endpoint is reloaded; at most MAX_LOADED stay in memory.
"""

import os
import threading
from collections import OrderedDict
from datetime import datetime
from pathlib import Path

from django.conf import settings

from modelhost.backends.base import Backend
from modelhost.models import ModelEndpoint

MAX_LOADED = 2
_loaded: OrderedDict[int, tuple[datetime, Backend]] = OrderedDict()
API_KEY_ENV_PREFIX = "MODELHOST_KEY_"
_lock = threading.Lock()
# Backends are not thread-safe; a threaded web server running a model in-process holds this while it does.
model_lock = threading.Lock()


def allowed_model_dirs() -> list[Path]:
    """MODELHOST_MODEL_DIRS plus the cache that holds the converted bundled model."""
    return [Path(d) for d in settings.MODELHOST_MODEL_DIRS] + [settings.MODELHOST_CACHE_DIR]


def api_key_env_allowed(name: str) -> bool:
    """Only variables named for the purpose hold keys: any other (DJANGO_SECRET_KEY, DATABASE_URL) would be sent as a
    bearer token to whatever server the endpoint names."""
    return name.startswith(API_KEY_ENV_PREFIX) and len(name) > len(API_KEY_ENV_PREFIX)


def backend_build(endpoint: ModelEndpoint) -> Backend:
    if endpoint.backend == ModelEndpoint.Backend.OPENAI:
        from modelhost.backends.openai_backend import OpenAIBackend

        return OpenAIBackend(
            base_url=endpoint.base_url,
            model=endpoint.model,
            api_key=os.environ.get(endpoint.api_key_env) if api_key_env_allowed(endpoint.api_key_env) else None,
            max_context=endpoint.max_context,
            allowed_hosts=settings.MODELHOST_ALLOWED_HOSTS,
        )
    from modelhost.backends.transformers_backend import TransformersBackend, default_model_path

    path = Path(endpoint.model) if endpoint.model else default_model_path(settings.MODELHOST_CACHE_DIR)
    gguf_file = None
    if path.suffix == ".gguf":
        path, gguf_file = path.parent, path.name
    device = settings.MODELHOST_DEVICE if endpoint.device == ModelEndpoint.Device.AUTO else endpoint.device
    return TransformersBackend(
        path,
        gguf_file=gguf_file,
        device=device,
        dtype=endpoint.dtype,
        max_context=endpoint.max_context,
        token_budget=settings.MODELHOST_TOKEN_BUDGET,
        allowed_dirs=allowed_model_dirs(),
    )


def backend_for(endpoint: ModelEndpoint) -> Backend:
    with _lock:
        entry = _loaded.get(endpoint.pk)
        if entry and entry[0] == endpoint.updated_at:
            _loaded.move_to_end(endpoint.pk)
            return entry[1]
        if entry:
            entry[1].close()
        backend = backend_build(endpoint)
        _loaded[endpoint.pk] = (endpoint.updated_at, backend)
        while len(_loaded) > MAX_LOADED:
            _loaded.popitem(last=False)[1][1].close()
        return backend


def unload_all() -> None:
    with _lock:
        while _loaded:
            _loaded.popitem()[1][1].close()
