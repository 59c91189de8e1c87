"""The light public API for plugin authors: the hook marker, the hook payload types, the errors and the constants.

This module imports nothing heavy (no boto3, no engine): `from agent import hookimpl` costs a plugin only pluggy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pluggy

PROJECT_NAME = "s3_sqs_agent"
"""The pluggy project name and the entry-point group that third-party plugins register under."""

APP_NAME = "s3-sqs-agent"
"""The command's name, and the folder name used in the platform's config, data and log folders."""

APP_TITLE = "S3 SQS Agent"
"""The name a person reads: in notifications, window titles and the login items list."""

__version__: str  # read when first asked for, by __getattr__ below

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
    """The event's name exactly as its route sent it: `ObjectCreated:Put` from S3, `s3:ObjectCreated:Put` from
    MinIO, `Object Created` from EventBridge. Filter on `operation` instead: it reads the same on every route."""
    source: str = "s3"
    """`s3` (S3 straight to the queue), `sns` (S3 through SNS), `eventbridge` (EventBridge, straight or through
    SNS), `catch-up`, or the name of the plugin that parsed the message."""
    message_id: str = ""
    operation: str = "put"
    """How the object came to be, the same on every route: `put`, `post`, `copy`, `multipart`, `restore` (a
    restored copy of an archived object is readable), or `other`."""
    sequencer: str | None = None
    """S3's `sequencer` for this event: hexadecimal, it orders the events of one key (never of two keys)."""
    raw_key: str | None = None
    """The key exactly as the message wrote it, before any decoding (None when the parser did not say)."""


@dataclass(frozen=True)
class RejectedRecord:
    """One record of a message that can never be used, which a parser returns beside the message's good events.

    It is given up on its own, with `reason` (dead-lettered, or kept in the ledger) while the other records of the
    message download. `body` is the record alone, as a message body that could be sent to the queue again."""

    reason: str
    body: str
    bucket: str | None = None
    key: str | None = None


class MalformedMessage(ValueError):
    """A body in a known format that cannot be used. Carries the reason for the dead-letter record."""


class PermanentFailure(Exception):
    """A message that can never succeed, with the reason for the dead-letter record."""


__all__ = ["APP_NAME", "APP_TITLE", "PROJECT_NAME", "MalformedMessage", "ObjectEvent", "PermanentFailure",
           "RejectedRecord", "__version__", "hookimpl"]


def __getattr__(name: str) -> Any:
    """`__version__`, read from the installed package's metadata only when asked for (importing importlib.metadata
    costs a cold start 10–20 ms)."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import metadata

    try:
        version = metadata.version(APP_NAME)
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        version = "0.0.0+unknown"
    globals()["__version__"] = version
    return version
