"""Brings one announced object to disk.

Filter, choose its path, skip duplicates and older versions, download, keep user edits, record."""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from botocore.exceptions import ClientError

from agent.api import ObjectEvent, PermanentFailure
from agent.config import Config
from agent.engine import paths, versions
from agent.engine.download import Downloader, Fetched
from agent.engine.events import Conflict, Downloaded, EventBus, Skipped
from agent.engine.folders import TargetFolder, open_target_folder, path_folder
from agent.engine.hooks import Hooks
from agent.engine.ledger import FileRecord, Ledger
from agent.engine.messages import other_reading
from agent.engine.retry import MISSING_BUCKET, NOT_READY, bucket_not_found, error_code
from agent.errors import PLACES, FolderMissingError

log = logging.getLogger(__name__)


@dataclass
class Transfer:
    """One download running now: the object, its size and the bytes received so far."""

    bucket: str
    key: str
    size: int
    done: int = 0
    started: float = field(default_factory=time.monotonic)


@dataclass
class Progress:
    """Bytes of the downloads running now, for the tray's percentage, and each running download (Activity)."""

    done: int = 0
    total: int = 0
    files: int = 0
    transfers: dict[int, Transfer] = field(default_factory=dict)


class ObjectHandler:
    """Handles one object event at a time per calling thread; shared by all workers."""

    def __init__(self, config: Config, ledger: Ledger, downloader: Downloader, plugins: Hooks, bus: EventBus) -> None:
        self.config = config
        self.ledger = ledger
        self.downloader = downloader
        self.plugins = plugins
        self.bus = bus
        self.policy = paths.detect_policy(config.download_folder)
        start = _folder_stat(config.download_folder)
        self._folder_device = start.st_dev if start else None
        self._root: Path | None = None  # the download folder with its links resolved (see _check_folder)
        self._root_identity: tuple[int, int] = (-1, -1)
        self.progress = Progress()
        self._progress_lock = threading.Lock()
        self._placement_lock = threading.Lock()  # two workers must never claim one path
        self._object_locks = KeyedLocks()
        self._reserved: dict[str, tuple[str, str]] = {}  # paths claimed by downloads in progress
        self.folder = str(config.download_folder)
        """The ledger's records are per download folder: what was downloaded elsewhere is not here."""
        adopted = ledger.adopt_legacy_rows(self.folder)
        if adopted:
            log.info("The ledger now records %d earlier downloads as being in %s", adopted, self.folder)

    def handle(self, event: ObjectEvent) -> Downloaded | None:
        """Bring the object to disk, or decide it needs nothing (None). Raises on failure; the caller classifies it.

        A key that is not found gets one more try under the other reading of the message's key (as written, or
        form-decoded) when that differs: a route that encodes keys unlike S3's own costs one request, on failure only.
        A bucket that is gone raises BucketNotFoundError, with its name: a wait for the user, not the object's failure."""
        try:
            return self._either_reading(event)
        except ClientError as exc:
            code = error_code(exc)
            if code in MISSING_BUCKET or (code in NOT_READY and self.downloader.bucket_missing(event.bucket)):
                raise bucket_not_found(event.bucket) from exc
            raise

    def _either_reading(self, event: ObjectEvent) -> Downloaded | None:
        with self._object_locks.hold((event.bucket, event.key)):  # duplicates in flight together: one downloads
            try:
                return self._handle(event)
            except ClientError as exc:
                other = other_reading(event) if error_code(exc) in NOT_READY else None
                if other is None:
                    raise
                not_found = exc
        with self._object_locks.hold((event.bucket, other)):  # never two keys' locks at once: no deadlock
            try:
                result = self._handle(replace(event, key=other))
            except ClientError as exc:
                if error_code(exc) in NOT_READY:
                    raise not_found from None
                raise
        as_written = other == event.raw_key
        log.warning("%r was not found, but %r was: this %s notification wrote its key %s, where %s. Used %r.",
                    event.key, other, event.source, "as it is" if as_written else "form-encoded",
                    "S3 form-encodes keys sent directly or through SNS" if as_written else "EventBridge writes them as they are",
                    other)
        return result

    def _handle(self, event: ObjectEvent) -> Downloaded | None:
        config = self.config
        if config.s3_bucket_name and event.bucket != config.s3_bucket_name:
            raise PermanentFailure(f"the notification is for bucket {event.bucket!r}, but this agent downloads only from "
                                   f"{config.s3_bucket_name!r} (s3_bucket_name; {PLACES['s3_bucket_name']})")
        default = paths.default_relative_path(event.key, self.policy)
        if default is None:
            log.info("Skipping %s: a key ending in '/' is a folder marker, not a file", event.key)
            return None
        if not self.plugins.accepts(event):
            log.info("Skipping %s: filtered out", event.key)
            self.bus.publish(Skipped(event, "filtered out"))
            return None
        chosen = self.plugins.local_path(event, default)
        relative = paths.sanitize(str(chosen), self.policy)
        if relative is None:
            raise PermanentFailure(f"the path {str(chosen)!r} chosen for {event.key!r} has no usable name")

        self._check_folder()
        event = self.downloader.describe(event, self._root_folder())
        record = self.ledger.file(event.bucket, event.key, self.folder)
        if record and self._is_current(record, event):
            if not record.complete:  # downloaded, but a plugin's after-download step failed last time
                self._finish(event, record.path)
            self.ledger.settle(event.bucket, event.key)
            log.info("Already downloaded %s (duplicate notification)", event.key)
            return None
        if record:
            older = versions.older_than_on_disk(event, record, lambda version: self.downloader.head(event.bucket, event.key, version))
            if older:
                log.info("Skipping %s: %s; the newer file stays", event.key, older)
                return None

        natural = _lstat(self._root_folder() / relative)  # looked at once: adopt, then choose the name
        if self._adopt(event, relative, natural):
            return None

        started = time.monotonic()
        with self._placement_lock:
            target_relative = self._place(event, relative, record, natural)
            # Opened once, by descriptor: the folder checked here is the one the file is written and renamed into.
            folder = open_target_folder(self._root_folder(), target_relative.parts[:-1])
            target = folder.path / target_relative.name
            in_the_way = folder.entry(target.name)
            if in_the_way is not None and stat.S_ISDIR(in_the_way.st_mode):  # a folder itself, not a link to one
                folder.close()
                raise paths.UnsafePathError(f"a folder named {target.name!r} is in the way of the file {target}")
            claim = self._claim(target)
            self._reserved[claim] = (event.bucket, event.key)
        temp: Path | None = None
        placed = False
        try:
            temp, info = self._fetch(event, folder)
            with self._placement_lock:  # the name stays reserved (self._reserved) until recorded below
                final = self._put_in_place(event, folder, temp.name, target,
                                           bool(record and self._under_root(record.path) == target and record.unchanged_on_disk()))
            placed = True
            folder.sync()  # outside the lock: workers' renames in one folder share one fsync
            self.ledger.record_file(FileRecord(event.bucket, event.key, event.etag, event.version_id, info.st_size,
                                               final, self._claim(final), info.st_mtime_ns, False, time.time(),
                                               self.folder, event.sequencer))
        finally:
            if temp is not None:
                if not placed:
                    folder.remove(temp.name)
                self.downloader.forget_temp(temp)
            folder.close()
            with self._placement_lock:
                self._reserved.pop(claim, None)
        seconds = time.monotonic() - started
        final = self._finish(event, final)
        log.info("Downloaded %s (%s) in %.2f s -> %s", event.key, human_size(info.st_size), seconds, final)
        downloaded = Downloaded(event, final, info.st_size, seconds)
        self.bus.publish(downloaded)
        return downloaded

    def _check_folder(self) -> None:
        """The folder must still exist, on the disk it was on at start: writing into the empty mount point of an
        unplugged drive would fill the system disk with files the user will not find."""
        folder = self.config.download_folder
        info = _folder_stat(folder)
        if info is None:
            raise FolderMissingError(f"The download folder {folder} is missing. Reconnect its drive or create it again; "
                                     "downloads resume by themselves.")
        if self._folder_device is None:
            self._folder_device = info.st_dev
        elif info.st_dev != self._folder_device:
            raise FolderMissingError(f"The download folder {folder} is no longer on the disk it was on (an unplugged drive "
                                     "or unmounted share?). Reconnect it, or restart the agent to use the folder as it is now.")
        if (info.st_dev, info.st_ino) != self._root_identity:  # the folder, with its links resolved, once per folder
            self._root = Path(os.path.realpath(folder))
            self._root_identity = (info.st_dev, info.st_ino)

    def _root_folder(self) -> Path:
        """The download folder with its links resolved (/var/home/… for /home/…): every path the handler builds,
        compares and records starts from it, so a folder reached through a link names each file one way."""
        assert self._root is not None, "_check_folder() sets it"
        return self._root

    def _under_root(self, path: Path) -> Path | None:
        """A recorded path as the same file under the resolved folder (a record may name it through the folder's
        link, as the config spells it); None when it is outside the download folder."""
        for base in (self._root_folder(), self.config.download_folder):
            if path.is_relative_to(base):
                return self._root_folder() / path.relative_to(base)
        return None

    def _adopt(self, event: ObjectEvent, relative: PurePosixPath, info: os.stat_result | None) -> bool:
        """A file already at the object's natural path (whose lstat is `info`) with exactly its content (a run killed
        between the rename and the ledger's record, or files fetched before the agent) is recorded as the download
        instead of copied again."""
        natural = self._root_folder() / relative
        if info is None:
            return False
        if not stat.S_ISREG(info.st_mode) or info.st_size != event.size or not event.etag:
            return False
        claim = self._claim(natural)
        with self._placement_lock:
            if self._reserved.get(claim) or self.ledger.owner_of(claim) not in (None, (event.bucket, event.key)):
                return False
        if not paths.inside_folder(self.config.download_folder, natural) or not content_matches(natural, event.size, event.etag):
            return False
        _make_durable(natural)  # its message is deleted next: another tool may have written it a moment ago, unsynced
        with self._placement_lock:
            if self._reserved.get(claim) or self.ledger.owner_of(claim) not in (None, (event.bucket, event.key)):
                return False
            self.ledger.record_file(FileRecord(event.bucket, event.key, event.etag, event.version_id, info.st_size,
                                               natural, claim, info.st_mtime_ns, False, time.time(), self.folder, event.sequencer))
        log.info("Already on disk: %s matches %s; recorded it", natural, event.key)
        self._finish(event, natural)
        return True

    def _finish(self, event: ObjectEvent, path: Path) -> Path:
        """Run the plugins' after-download step; returns where the file is then. A plugin that moved it (audio-check's
        quarantine) said where, and the ledger follows, so recent files and later duplicates find it there."""
        where = self.plugins.object_downloaded(event, path)
        if where != path:
            self.ledger.moved(self.folder, event.bucket, event.key, where, self._claim(where), os.stat(where).st_mtime_ns)
        self.ledger.mark_complete(self.folder, event.bucket, event.key)
        self.ledger.settle(event.bucket, event.key)  # no longer failed, nor waiting for a restore
        return where

    def _claim(self, path: Path) -> str:
        return paths.claim_key(PurePosixPath(path.as_posix()), self.policy)

    @staticmethod
    def _is_current(record: FileRecord, event: ObjectEvent) -> bool:
        same_version = record.etag == event.etag and (event.version_id is None or record.version_id == event.version_id)
        return bool(event.etag) and same_version

    def _place(self, event: ObjectEvent, relative: PurePosixPath, record: FileRecord | None,
               natural_info: os.stat_result | None) -> PurePosixPath:
        """The object's own path: the one it had, its natural one (whose lstat is `natural_info`), or a distinct one
        when that is taken."""
        folder = self._root_folder()
        natural = folder / relative
        recorded = self._under_root(record.path) if record else None
        if recorded is not None and (recorded == natural or recorded.parent == natural.parent):
            return PurePosixPath(recorded.relative_to(folder).as_posix())
        identity = f"{event.bucket}/{event.key}"
        candidate = relative
        for attempt in range(100):  # a name taken by another key (even one spelled like a disambiguated name) is skipped
            path = folder / candidate
            claim = self._claim(path)
            owner = self._reserved.get(claim) or self.ledger.owner_of(claim)
            mine = owner == (event.bucket, event.key)
            info = natural_info if attempt == 0 else _lstat(path)
            taken = (owner is not None and not mine) or (owner is None and info is not None) or \
                (info is not None and stat.S_ISDIR(info.st_mode))  # a folder of the same name: the file goes beside it
            if not taken:
                return candidate
            candidate = paths.disambiguate(relative, identity if attempt == 0 else f"{identity}#{attempt}")
        raise PermanentFailure(f"no free name for {event.key!r} near {relative}")

    def _fetch(self, event: ObjectEvent, folder: TargetFolder) -> Fetched:
        assert event.size is not None
        transfer = Transfer(event.bucket, event.key, event.size)
        with self._progress_lock:
            self.progress.files += 1
            self.progress.total += event.size
            self.progress.transfers[id(transfer)] = transfer

        def advance(count: int) -> None:
            with self._progress_lock:
                transfer.done += count
                self.progress.done += count

        try:
            return self.downloader.fetch(event, folder, advance)
        finally:
            with self._progress_lock:
                self.progress.files -= 1
                self.progress.total -= event.size
                self.progress.done -= transfer.done
                del self.progress.transfers[id(transfer)]

    def transfers(self) -> list[Transfer]:
        """A copy of each running download, oldest first."""
        with self._progress_lock:
            return [replace(t) for t in self.progress.transfers.values()]

    def _put_in_place(self, event: ObjectEvent, folder: TargetFolder, temp: str, target: Path, replaces_own: bool) -> Path:
        """Give the temporary file its name: `target`, replacing the agent's own earlier version there (`replaces_own`),
        else only if the name is free. A file of someone else's at that name, even one saved at this very moment, is
        kept, and the download goes beside it under a conflict name. Returns where it went."""
        final = target
        for _ in range(100):
            taken = folder.entry(final.name) is not None
            if taken and replaces_own and final == target:
                folder.replace(temp, final.name)
                return final
            if taken:
                final = self._conflict_path(folder, target)
                log.warning("%s changed on disk since it was downloaded; keeping it and writing the new version to %s", target, final.name)
                self.bus.publish(Conflict(event, target, final))
            try:
                folder.place(temp, final.name)
                return final
            except FileExistsError:  # saved under that name just now, between the look and the rename: someone's file
                replaces_own = False
        raise PermanentFailure(f"no free name near {target}: names kept being taken")

    @staticmethod
    def _conflict_path(folder: TargetFolder, target: Path) -> Path:
        stamp = time.strftime("%Y-%m-%d %H%M%S")
        stem, suffix = target.stem, target.suffix
        for n in range(1, 1000):
            candidate = target.with_name(f"{stem} (conflict {stamp}{'' if n == 1 else f' {n}'}){suffix}")
            if folder.entry(candidate.name) is None:
                return candidate
        raise PermanentFailure(f"too many conflicting copies of {target}")


class KeyedLocks:
    """One lock per key, created on demand and dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[object, list[Any]] = {}  # key -> [lock, users]

    @contextmanager
    def hold(self, key: object) -> Iterator[None]:
        with self._guard:
            entry = self._locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._guard:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._locks[key]


def _folder_stat(folder: Path) -> os.stat_result | None:
    """The folder's stat; None when it is missing or not a folder."""
    try:
        info = os.stat(folder)
    except OSError:
        return None
    return info if stat.S_ISDIR(info.st_mode) else None


def _make_durable(path: Path) -> None:
    """Sync a file this run did not write, and its name in its folder. Not on Windows, which cannot fsync a file opened
    only to read, nor a folder."""
    if os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    path_folder(path.parent).sync()


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except OSError:
        return None


MiB = 1024 * 1024
_COMMON_PART_SIZES = (8 * MiB, 5 * MiB, 16 * MiB, 15 * MiB, 64 * MiB, 100 * MiB)


def content_matches(path: Path, size: int, etag: str) -> bool:
    """True when the file holds exactly the object with this ETag: an MD5, or a multipart ETag with a common part size."""
    digest, dash, count = etag.strip('"').partition("-")
    if not dash:
        return _md5_parts(path, max(size, 1)) == [digest]
    if not count.isdigit():
        return False
    for part in _COMMON_PART_SIZES:
        if -(-size // part) == int(count):
            parts = _md5_parts(path, part)
            combined = hashlib.md5(b"".join(bytes.fromhex(p) for p in parts), usedforsecurity=False).hexdigest()
            if combined == digest:
                return True
    return False


def _md5_parts(path: Path, part_size: int) -> list[str]:
    digests: list[str] = []
    with open(path, "rb") as handle:
        while True:
            hasher, left = hashlib.md5(usedforsecurity=False), part_size  # an ETag check, not security: FIPS-mode Pythons allow it
            while left:
                block = handle.read(min(left, 1024 * 1024))
                if not block:
                    break
                hasher.update(block)
                left -= len(block)
            if left == part_size and digests:
                return digests
            digests.append(hasher.hexdigest())
            if left:
                return digests


def human_size(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"

