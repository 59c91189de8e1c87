"""S3 SQS Agent: downloads new S3 objects announced on an SQS queue; re-exports the light API for plugin authors."""

from __future__ import annotations

from typing import Any

from agent.api import (
    APP_NAME,
    APP_TITLE,
    PROJECT_NAME,
    MalformedMessage,
    ObjectEvent,
    PermanentFailure,
    RejectedRecord,
    hookimpl,
)

__version__: str  # read when first asked for, by __getattr__ below

__all__ = ["APP_NAME", "APP_TITLE", "PROJECT_NAME", "MalformedMessage", "ObjectEvent", "PermanentFailure",
           "RejectedRecord", "__version__", "hookimpl"]


def __getattr__(name: str) -> Any:
    """`agent.__version__`, read only when asked for (see agent.api)."""
    if name == "__version__":
        from agent import api

        return api.__version__
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
