"""S3 SQS Agent: downloads new S3 objects announced on an SQS queue; re-exports the light API for plugin authors."""

from __future__ import annotations

from agent.api import (
    APP_NAME,
    APP_TITLE,
    PROJECT_NAME,
    MalformedMessage,
    ObjectEvent,
    PermanentFailure,
    RejectedRecord,
    __version__,
    hookimpl,
)

__all__ = ["APP_NAME", "APP_TITLE", "PROJECT_NAME", "MalformedMessage", "ObjectEvent", "PermanentFailure",
           "RejectedRecord", "__version__", "hookimpl"]
