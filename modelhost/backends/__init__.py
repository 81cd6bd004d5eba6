"""Model backends: plain Python, no Django. Import a concrete backend from its module (it pulls in torch or openai)."""

from .base import (
    Backend,
    BackendError,
    Message,
    ModelLoadError,
    NotSupported,
    Output,
    Request,
    Role,
    SamplingParams,
    TransientBackendError,
)

__all__ = [
    "Backend",
    "BackendError",
    "Message",
    "ModelLoadError",
    "NotSupported",
    "Output",
    "Request",
    "Role",
    "SamplingParams",
    "TransientBackendError",
]
