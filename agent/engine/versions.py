"""Which of two versions of one key is newer: S3's sequencer, or without one, LastModified and the current version.

S3 does not deliver notifications in order. On a versioned bucket each notification names its own version, so a late
notification for an older version still downloads (its ETag matches that version); these rules keep it from
replacing the newer file on disk.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from agent.api import ObjectEvent
from agent.engine.ledger import FileRecord
from agent.engine.retry import NOT_READY, error_code

log = logging.getLogger(__name__)

Head = Callable[[str | None], dict[str, Any]]
"""HEAD of the event's key: of the given version, or of the current version with None. Raises ClientError."""


def compare_sequencers(a: str, b: str) -> int:
    """-1, 0 or 1 as `a` is older than, the same as, or newer than `b`: S3's rule is to right-pad the shorter with
    zeros, then compare them as text (its documentation once said left-pad; its current text says right). Only
    sequencers of one key can be compared."""
    width = max(len(a), len(b))
    left, right = a.upper().ljust(width, "0"), b.upper().ljust(width, "0")
    return (left > right) - (left < right)


def older_than_on_disk(event: ObjectEvent, record: FileRecord, head: Head) -> str | None:
    """Why `event` brings an older version than the one `record` placed on disk (the reason to log), or None when it
    is not older, or nothing can tell. Costs no request when the event is newer by the sequencers, or names no
    version (then If-Match on the GET already refuses a version that was overwritten); one HEAD before it is skipped.

    A sequencer comes from a message, and anyone who can write to the queue can write one: before a file is skipped
    as older, a HEAD checks that the version announced is not the bucket's current one (a forged sequencer recorded
    on disk would otherwise make every later upload of the key look older, and be skipped for good)."""
    if event.sequencer and record.sequencer:
        if compare_sequencers(event.sequencer, record.sequencer) >= 0:
            return None
        if _is_current(event, head):
            log.warning("%s: the sequencer recorded for the file on disk (%s) is newer than this notification's (%s), "
                        "but the bucket says this one is the current version: downloading it (a forged or damaged "
                        "sequencer?)", event.key, record.sequencer, event.sequencer)
            return None
        return (f"this notification (sequencer {event.sequencer}) is older than the version on disk "
                f"(sequencer {record.sequencer})")
    if not event.version_id or not record.version_id or event.version_id == record.version_id:
        return None
    # No sequencer to compare (some S3-compatible servers send none): the versions' LastModified, then which one
    # the bucket calls current.
    announced, placed = _modified(head, event.version_id), _modified(head, record.version_id)
    if announced is not None and placed is not None and announced != placed:
        if announced < placed:
            return (f"its version {event.version_id} was last modified at {announced:%Y-%m-%d %H:%M:%S}, before the "
                    f"version on disk ({placed:%Y-%m-%d %H:%M:%S})")
        return None
    if head(None).get("VersionId") == record.version_id:
        return f"the version on disk ({record.version_id}) is the bucket's current version, not {event.version_id}"
    return None


def _is_current(event: ObjectEvent, head: Head) -> bool:
    """Whether the bucket's current version of the key is the one `event` announces: the same version id, or without
    one (an unversioned bucket) the same ETag. A key that is gone is current in no version."""
    try:
        current = head(None)
    except ClientError as exc:
        if error_code(exc) in NOT_READY:
            return False
        raise
    if event.version_id:
        return current.get("VersionId") == event.version_id
    return bool(event.etag) and str(current.get("ETag", "")).strip('"') == event.etag


def _modified(head: Head, version_id: str) -> datetime | None:
    try:
        value = head(version_id).get("LastModified")
    except ClientError as exc:
        if error_code(exc) in NOT_READY:
            return None  # that version is gone: it orders nothing
        raise
    return value if isinstance(value, datetime) else None
