"""Fetches one object into a new temporary file in its folder, size-checked and fsynced; objects.py puts it in place."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_all
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from agent.api import ObjectEvent
from agent.engine.crt import CrtGetter
from agent.engine.fileio import write_at
from agent.engine.folders import TargetFolder, path_folder
from agent.engine.paths import TEMP_PREFIX, TEMP_SUFFIX
from agent.engine.retry import MISSING_BUCKET, IncompleteDownload, TooLargeForDisk, error_code

log = logging.getLogger(__name__)
MiB = 1024 * 1024
_READ_SIZE = 256 * 1024


@dataclass(frozen=True)
class TransferSettings:
    """How objects are fetched. Objects above `multipart_threshold` are fetched in parallel ranges."""

    concurrency: int = 8
    multipart_threshold: int = 16 * MiB
    chunk_size: int = 8 * MiB
    max_bandwidth: int | None = None


class Fetched(NamedTuple):
    """A finished download: its temporary file, and the file's stat once complete."""

    path: Path
    info: os.stat_result


class Cancelled(Exception):
    """The download was aborted because the agent is shutting down."""


class RateLimiter:
    """A shared token bucket: callers sleep so that all downloads together stay under `rate` bytes per second."""

    def __init__(self, rate: int) -> None:
        self._rate = rate
        self._lock = threading.Lock()
        self._next = time.monotonic()

    def consume(self, count: int) -> None:
        with self._lock:
            now = time.monotonic()
            self._next = max(self._next, now - 0.25) + count / self._rate  # allow a quarter second of burst
            delay = self._next - now
        if delay > 0:
            time.sleep(delay)


class Downloader:
    """GETs objects into temporary files: one request for small objects, parallel ranges for large ones.

    Every request carries If-Match with the announced ETag, so all ranges come from one version of the
    object, and a notification for a version that was since overwritten ends in a 412 (superseded) instead
    of a file that mixes versions. (boto3's transfer manager accepts neither If-Match nor returns headers.)
    """

    def __init__(self, s3_client: Any, settings: TransferSettings) -> None:
        self._client = s3_client
        self._settings = settings
        self._ranges = ThreadPoolExecutor(max_workers=max(4, settings.concurrency), thread_name_prefix="range")
        self._limiter = RateLimiter(settings.max_bandwidth) if settings.max_bandwidth else None
        # Native GETs through the AWS Common Runtime (docs/performance.md); boto3 where it cannot serve (crt.unavailable).
        self._crt, path = CrtGetter.create(s3_client, settings.chunk_size, settings.max_bandwidth)
        log.info("Downloads go through %s", path)
        self._cancel = threading.Event()
        self._active: set[str] = set()  # temporary files of this run, which the start-up cleanup must spare

    def new_temp_path(self, folder: Path) -> Path:
        """A fresh temporary name in `folder`, registered as in use until `forget_temp()`."""
        temp = folder / f"{TEMP_PREFIX}{uuid.uuid4().hex}{TEMP_SUFFIX}"
        self._active.add(temp.name)
        return temp

    def forget_temp(self, temp: Path) -> None:
        self._active.discard(temp.name)

    def active_temp_files(self) -> set[str]:
        """The live set of the names of temporary files in use (unique names; checked at each removal)."""
        return self._active

    def describe(self, event: ObjectEvent, folder: Path | None = None) -> ObjectEvent:
        """Fill in size and ETag from a HEAD request when the notification did not carry them, or when its size is more
        than the disk holding `folder` has free. A size is only a field of a message, and the space is reserved before
        any GET: a forged one (2**30 on a 64 MiB disk) would hold every download as "disk full", for a key that need
        not even exist. Raises TooLargeForDisk when the object is larger than the whole disk: that object's failure
        (retried, then given up), not a wait for the user."""
        space = disk_space(folder) if folder is not None else None
        if event.size is not None and event.etag and (space is None or event.size <= space.free):
            return event
        head = self.head(event.bucket, event.key, event.version_id)
        size = int(head["ContentLength"])
        if event.size is not None and size != event.size:
            log.warning("%s: the message announced %s bytes, but the object has %s; using the object's size", event.key,
                        f"{event.size:,}", f"{size:,}")
        event = replace(event, size=size, etag=event.etag or str(head.get("ETag", "")).strip('"') or None)
        if space is not None and size > space.total:
            raise TooLargeForDisk(f"{event.key} ({size:,} bytes) is larger than the whole disk holding the download folder "
                                  f"({space.total:,} bytes): choose a download folder on a larger disk, or exclude it")
        return event

    def bucket_missing(self, bucket: str) -> bool:
        """Whether `bucket` does not exist (a HEAD of an object in a missing bucket answers a bare 404, as for a missing
        key, so a not-found object asks once more). Refused or unanswered: it is not known to be missing."""
        try:
            self._client.head_bucket(Bucket=bucket)
        except ClientError as exc:
            return error_code(exc) in MISSING_BUCKET or error_code(exc) in ("404", "NotFound")
        except BotoCoreError:
            return False
        return False

    def head(self, bucket: str, key: str, version_id: str | None = None) -> dict[str, Any]:
        """HEAD of an object: of one version, or of the current one."""
        return dict(self._client.head_object(**object_args(bucket, key, version_id)))

    @staticmethod
    def _object_args(event: ObjectEvent) -> dict[str, Any]:
        args = object_args(event.bucket, event.key, event.version_id)
        if event.etag:
            args["IfMatch"] = f'"{event.etag}"'
        return args

    def fetch(self, event: ObjectEvent, folder: TargetFolder | Path, on_progress: Callable[[int], None] = lambda n: None) -> Fetched:
        """Download into a new temporary file in `folder` (created in it, never through a link); return it fsynced and
        size-checked, with its stat (size and mtime, which the rename keeps). Never leaves it behind on failure."""
        assert event.size is not None, "describe() the event first"
        if isinstance(folder, Path):
            folder = path_folder(folder)
        temp = self.new_temp_path(folder.path)
        try:
            fd = folder.create(temp.name)
        except BaseException:
            self.forget_temp(temp)
            raise
        try:
            try:
                if self._crt is not None:
                    self._fetch_crt(event, fd, on_progress)
                elif event.size > self._settings.multipart_threshold:
                    self._fetch_ranges(event, fd, on_progress)
                else:
                    self._fetch_range(event, fd, None, on_progress)
                info = os.fstat(fd)
                written = info.st_size
                if written != event.size:
                    raise IncompleteDownload(f"got {written} of {event.size} bytes")
                os.fsync(fd)
            finally:
                os.close(fd)
        except BaseException:
            folder.remove(temp.name)
            self.forget_temp(temp)
            raise
        return Fetched(temp, info)

    def _fetch_crt(self, event: ObjectEvent, fd: int, on_progress: Callable[[int], None]) -> None:
        """One CRT request: it splits a large object into parallel ranged GETs itself, each with If-Match."""
        assert self._crt is not None and event.size is not None
        if event.size > self._settings.multipart_threshold:
            _reserve(fd, event.size)  # a full disk fails now, before any byte is fetched
        etag = f'"{event.etag}"' if event.etag else None
        try:
            written = self._crt.get(event.bucket, event.key, event.version_id, etag, fd, 0, None, on_progress, self._cancel.is_set)
        except Exception:
            if self._cancel.is_set():
                raise Cancelled("the agent is shutting down") from None
            raise
        if written != event.size:
            raise IncompleteDownload(f"got {written} of {event.size} bytes")

    def _fetch_ranges(self, event: ObjectEvent, fd: int, on_progress: Callable[[int], None]) -> None:
        assert event.size is not None
        _reserve(fd, event.size)  # a full disk fails now, before any byte is fetched
        chunk = self._settings.chunk_size
        abort = threading.Event()
        futures = [self._ranges.submit(self._fetch_range, event, fd, (start, min(start + chunk, event.size) - 1), on_progress, abort)
                   for start in range(0, event.size, chunk)]
        try:
            for future in futures:
                future.result()
        except BaseException:
            abort.set()
            for future in futures:
                future.cancel()
            # The caller closes `fd` next, and the number can be reused at once by another file: no range may
            # still be writing to it by then.
            wait_all(futures)
            raise

    def _fetch_range(self, event: ObjectEvent, fd: int, byte_range: tuple[int, int] | None, on_progress: Callable[[int], None],
                     abort: threading.Event | None = None) -> None:
        args = self._object_args(event)
        offset = 0
        if byte_range is not None:
            args["Range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
            offset = byte_range[0]
        body = self._client.get_object(**args)["Body"]
        try:
            for data in body.iter_chunks(_READ_SIZE):
                if self._cancel.is_set():
                    raise Cancelled("the agent is shutting down")
                if abort is not None and abort.is_set():
                    raise Cancelled("another range of this download failed")
                if self._limiter:
                    self._limiter.consume(len(data))
                write_at(fd, data, offset)
                offset += len(data)
                on_progress(len(data))
        finally:
            body.close()
        if byte_range is not None and offset != byte_range[1] + 1:
            raise IncompleteDownload(f"range {byte_range[0]}-{byte_range[1]} ended at byte {offset}")

    def cancel_all(self) -> None:
        """Abort transfers in progress (on shutdown); their callers see Cancelled and clean up."""
        self._cancel.set()

    def close(self) -> None:
        self.cancel_all()
        self._ranges.shutdown(wait=False, cancel_futures=True)


def object_args(bucket: str, key: str, version_id: str | None = None) -> dict[str, Any]:
    """The arguments naming one object (one version of it, or the current one) in a boto3 S3 call."""
    args: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        args["VersionId"] = version_id
    return args


class DiskSpace(NamedTuple):
    total: int
    free: int


def disk_space(folder: Path) -> DiskSpace | None:
    """The size and free space of the disk holding `folder` (None when it cannot be read: the write will tell)."""
    try:
        usage = shutil.disk_usage(folder)
    except OSError:
        return None
    return DiskSpace(usage.total, usage.free)


def _reserve(fd: int, size: int) -> None:
    """Allocate `size` bytes for real where the file system can (ftruncate alone makes a sparse file, which
    reserves nothing); the file's length becomes `size` either way."""
    if size > 0 and hasattr(os, "posix_fallocate"):
        try:
            os.posix_fallocate(fd, 0, size)
            return
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                raise
    os.ftruncate(fd, size)
