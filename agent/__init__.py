"""S3 SQS Agent: downloads new S3 objects announced on an SQS queue; public API for plugin authors."""

from __future__ import annotations

from importlib import metadata

import pluggy

PROJECT_NAME = "s3_sqs_agent"
"""The pluggy project name and the entry-point group that third-party plugins register under."""

APP_NAME = "s3-sqs-agent"
"""The command's name, and the folder name used in the platform's config, data and log folders."""

try:
    __version__ = metadata.version(APP_NAME)
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Decorate a plugin's functions with this to implement the agent's hooks."""

from agent.engine.events import ObjectEvent  # noqa: E402  (public API; needs hookimpl defined first)
from agent.engine.messages import MalformedMessage  # noqa: E402
from agent.engine.retry import PermanentFailure  # noqa: E402

__all__ = ["APP_NAME", "PROJECT_NAME", "MalformedMessage", "ObjectEvent", "PermanentFailure", "__version__", "hookimpl"]
