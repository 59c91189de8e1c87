"""The light public API for plugin authors: the hook marker, the hook payload types, the errors and the constants.

This module imports nothing heavy (no boto3, no engine): `from agent import hookimpl` costs a plugin only pluggy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from importlib import metadata

import pluggy

PROJECT_NAME = "s3_sqs_agent"
"""The pluggy project name and the entry-point group that third-party plugins register under."""

APP_NAME = "s3-sqs-agent"
"""The command's name, and the folder name used in the platform's config, data and log folders."""

APP_TITLE = "S3 SQS Agent"
"""The name a person reads: in notifications, window titles and the login items list."""

try:
    __version__ = metadata.version(APP_NAME)
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Decorate a plugin's functions with this to implement the agent's hooks."""


@dataclass(frozen=True)
class ObjectEvent:
    """One S3 object announced by a queue message. Public API: plugins receive and return these."""

    bucket: str
    key: str
    """The object key, already decoded: exactly what S3 stores."""
    size: int | None = None
    etag: str | None = None
    version_id: str | None = None
    event_time: datetime | None = None
    event_name: str = "ObjectCreated:Put"
    source: str = "s3"
    """`s3`, `sns`, `eventbridge`, or the name of the plugin that parsed the message."""
    message_id: str = ""


class MalformedMessage(ValueError):
    """A body in a known format that cannot be used. Carries the reason for the dead-letter record."""


class PermanentFailure(Exception):
    """A message that can never succeed, with the reason for the dead-letter record."""


__all__ = ["APP_NAME", "APP_TITLE", "PROJECT_NAME", "MalformedMessage", "ObjectEvent", "PermanentFailure",
           "__version__", "hookimpl"]
