"""The SQLite ledger: what was downloaded into which folder (deduplication, versions, recent files) and what was given up."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.errors import DiskFullError, LedgerError, LedgerWriteError, NeedsUserError

log = logging.getLogger(__name__)

# One row per object per download folder: a file downloaded into another folder says nothing about this one.
SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    etag TEXT,
    version_id TEXT,
    size INTEGER NOT NULL,
    path TEXT NOT NULL,
    claim TEXT NOT NULL,
    mtime_ns INTEGER NOT NULL,
    complete INTEGER NOT NULL DEFAULT 0,
    downloaded_at REAL NOT NULL,
    folder TEXT NOT NULL DEFAULT '',
    sequencer TEXT,
    PRIMARY KEY (folder, bucket, key)
);
CREATE INDEX IF NOT EXISTS files_claim ON files (claim);
CREATE INDEX IF NOT EXISTS files_time ON files (downloaded_at);
CREATE TABLE IF NOT EXISTS failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL,
    queue_url TEXT NOT NULL,
    body TEXT NOT NULL,
    reason TEXT NOT NULL,
    bucket TEXT,
    key TEXT,
    failed_at REAL NOT NULL,
    retried_at REAL,
    dismissed_at REAL
);
CREATE INDEX IF NOT EXISTS failures_object ON failures (bucket, key);
CREATE TABLE IF NOT EXISTS restores (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    version_id TEXT NOT NULL DEFAULT '',
    event TEXT NOT NULL,
    message_id TEXT NOT NULL,
    queue_url TEXT NOT NULL,
    body TEXT NOT NULL,
    requested_at REAL NOT NULL,
    next_check REAL NOT NULL,
    requests INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (bucket, key, version_id)
);
CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
FILE_COLUMNS = "bucket, key, etag, version_id, size, path, claim, mtime_ns, complete, downloaded_at, folder, sequencer"
_RESTORE_COLUMNS = "bucket, key, version_id, event, message_id, queue_url, body, requested_at, next_check, requests"
# Before per-folder rows (ledgers of versions up to 0.x): files were keyed by (bucket, key) alone. Their rows are
# kept with folder '' until a start with a download folder that holds their path claims them (adopt_legacy_rows).
_LEGACY_FILE_COLUMNS = "bucket, key, etag, version_id, size, path, claim, mtime_ns, complete, downloaded_at"


@dataclass(frozen=True)
class FileRecord:
    bucket: str
    key: str
    etag: str | None
    version_id: str | None
    size: int
    path: Path
    claim: str
    mtime_ns: int
    complete: bool
    downloaded_at: float
    folder: str = ""
    """The download folder it was downloaded into (str of the config's download_folder)."""
    sequencer: str | None = None
    """S3's sequencer of the event that brought this version, when it had one."""

    def unchanged_on_disk(self) -> bool:
        """True when the file is still exactly as the agent wrote it (same size and modification time)."""
        try:
            info = os.stat(self.path)
        except OSError:
            return False
        return info.st_size == self.size and info.st_mtime_ns == self.mtime_ns


@dataclass(frozen=True)
class WaitingRestore:
    """An archived object the agent asked S3 to restore, waiting until it is readable (its message was deleted)."""

    bucket: str
    key: str
    version_id: str
    event: str
    """The object event, as JSON (agent.engine.archive.event_to_json)."""
    message_id: str
    queue_url: str
    body: str
    """Its message, to keep with the reason should the restore never come."""
    requested_at: float
    next_check: float
    requests: int


@dataclass(frozen=True)
class FailureRecord:
    id: int
    message_id: str
    queue_url: str
    body: str
    reason: str
    bucket: str | None
    key: str | None
    failed_at: float


def write_failure(exc: sqlite3.Error, path: Path | None = None) -> NeedsUserError:
    """What a failed ledger write means for the user, and what to do (`path`: the ledger, when known)."""
    ledger = f"the agent's ledger {path}" if path else "the agent's ledger"
    if "full" in str(exc).lower():  # SQLITE_FULL: "database or disk is full"
        return DiskFullError(f"The disk holding {ledger} is full ({exc}). Free some space; downloads resume by "
                             "themselves and nothing is lost.")
    return LedgerWriteError(f"Cannot write to {ledger} ({exc}). Check that its disk is healthy and that no other "
                            "program has the file open; downloads resume by themselves once it can be written.")


class BatchLost(Exception):
    """A batch of download rows could not be committed (a full or failing disk): its messages must stay on the queue."""


BATCH_SECONDS = 0.05
"""A download's rows are written into the open batch: one transaction, committed before the messages of those files are
deleted (Consumer's deleter calls make_durable()), and by itself at most this long after the batch began."""


class Ledger:
    """Thread-safe access to one SQLite file, created readable by the user only.

    The rows of downloads (record_file, moved, mark_complete) join one open transaction, the batch, so that a delete
    batch of files costs one commit instead of two per file. A message must not be deleted before the batch that holds
    its rows is committed: `batches_of_this_thread()` names them, `make_durable()` commits them or raises BatchLost. Every
    other write commits at once, and the batch with it, or raises.
    """

    def __init__(self, path: Path, read_only: bool = False) -> None:
        """`read_only`: only look (diagnostics): nothing is created, upgraded or set aside, and a ledger that cannot be
        read raises sqlite3.Error."""
        self.path = path
        if read_only:
            self._init_state()
            self._db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, check_same_thread=False,
                                       isolation_level=None, timeout=30)
            self._unsettled: set[tuple[str, str]] = set()
            return
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not path.exists():
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._init_state()
        try:
            self._db = self._open()
        except sqlite3.OperationalError as exc:  # locked, unreadable, read-only: the user must look
            raise LedgerError(f"Cannot open the ledger {path} ({exc}). Check that the file and its folder are readable "
                              "and writable by you, and that no other copy of the agent is using it.") from None
        except sqlite3.DatabaseError as exc:  # damaged: keep it aside for inspection and start a new one
            aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
            for suffix in ("", "-wal", "-shm"):
                source = Path(f"{path}{suffix}")
                if source.exists():
                    os.replace(source, Path(f"{aside}{suffix}"))
            log.warning("The ledger %s was damaged (%s); kept it as %s and started a new one. Files already downloaded "
                        "are recognised by their content.", path, exc, aside.name)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
            self._db = self._open()
        # Objects the ledger holds something against (a failure kept, a restore awaited): settle() looks only at these.
        self._unsettled = set(self._query(
            "SELECT bucket, key FROM failures WHERE key IS NOT NULL AND retried_at IS NULL AND dismissed_at IS NULL "
            "UNION SELECT bucket, key FROM restores"))

    def _init_state(self) -> None:
        self._lock = threading.Lock()
        self._batch = 0  # the number of the open (or last) batch
        self._committed = 0  # the last batch committed
        self._lost: set[int] = set()  # batches whose commit failed (rolled back)
        self._this_thread = threading.local()
        self._committer: threading.Thread | None = None
        self._wake = threading.Condition(self._lock)
        self._closed = False

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30)
        try:
            with self._lock:
                db.execute("PRAGMA journal_mode=WAL")
                # FULL: each commit syncs the WAL before it returns. With NORMAL a commit is durable only at the next
                # checkpoint, so a power cut could roll back the rows (and the version protection they carry) of files
                # whose messages were already deleted. Measured: docs/performance.md, "The ledger's durability".
                db.execute("PRAGMA synchronous=FULL")
                db.executescript(_upgrade_script(db))
                columns = {row[1] for row in db.execute("PRAGMA table_info(failures)")}
                if "dismissed_at" not in columns:  # a ledger from before Dismiss existed
                    db.execute("ALTER TABLE failures ADD COLUMN dismissed_at REAL")
        except BaseException:
            db.close()
            raise
        return db

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._wake.notify_all()
            try:
                self._commit_locked()
            finally:
                self._db.close()

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """A read (it sees the open batch's rows)."""
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _write(self, sql: str, args: tuple[Any, ...] = ()) -> None:
        """A write that commits at once, with the open batch if there is one. Raises DiskFullError or LedgerWriteError
        when it is not recorded (its caller must then keep the message)."""
        with self._lock:
            self._execute_locked(sql, args)
            failure = self._commit_locked()
            if failure is not None:
                raise write_failure(failure, self.path) from failure

    def _batched(self, sql: str, args: tuple[Any, ...]) -> None:
        """A write of a download's rows, into the open batch (begun here if none is open). Raises as _write does."""
        with self._lock:
            if not self._db.in_transaction:
                self._db.execute("BEGIN")
                self._batch += 1
                self._start_committer()
                self._wake.notify_all()
            self._execute_locked(sql, args)
            if not getattr(self._this_thread, "first", 0):
                self._this_thread.first = self._batch
            self._this_thread.last = self._batch

    def _execute_locked(self, sql: str, args: tuple[Any, ...]) -> None:
        """One write statement, under the lock. A failure that made SQLite roll the open batch back with it (a full
        disk, say) marks that batch lost; it raises DiskFullError or LedgerWriteError."""
        in_batch = self._db.in_transaction
        try:
            self._db.execute(sql, args)
        except sqlite3.Error as exc:
            if in_batch and not self._db.in_transaction:
                self._lost.add(self._batch)
            raise write_failure(exc, self.path) from exc

    def batches_of_this_thread(self) -> range:
        """The batches holding the rows this thread wrote since the last call (empty: none), and forget them."""
        first, last = getattr(self._this_thread, "first", 0), getattr(self._this_thread, "last", 0)
        self._this_thread.first = self._this_thread.last = 0
        return range(first, last + 1) if first else range(0)

    def make_durable(self, batches: range) -> None:
        """Return once every batch in `batches` is committed (an empty range, no rows, always is), committing the open
        one now if it is among them. Raises BatchLost when one could not be committed: its rows are lost, so its
        messages must not be deleted."""
        with self._lock:
            if self._db.in_transaction and self._batch in batches:
                self._commit_locked()
            for batch in batches:
                if batch > self._committed:  # neither open nor committed: it was rolled back
                    self._lost.add(batch)
            lost = next((batch for batch in batches if batch in self._lost), None)
            if lost is not None:
                raise BatchLost(f"the ledger {self.path} could not commit batch {lost}")

    def commit(self) -> None:
        """Commit the open batch now."""
        with self._lock:
            self._commit_locked()

    def _commit_locked(self) -> sqlite3.Error | None:
        """Commit the open batch; the error when it could not be (the batch is then rolled back and lost)."""
        if not self._db.in_transaction:
            return None
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            log.error("The ledger %s could not record the last downloads (%s); their messages stay on the queue", self.path, exc)
            self._lost.add(self._batch)
            if self._db.in_transaction:
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error as again:
                    log.error("Could not roll the ledger back either (%s)", again)
            return exc
        self._committed = self._batch
        return None

    def _start_committer(self) -> None:
        if self._committer is None:
            self._committer = threading.Thread(target=self._commit_loop, name="ledger-commit", daemon=True)
            self._committer.start()

    def _commit_loop(self) -> None:
        """Commit each batch at most BATCH_SECONDS after it began, whoever else commits it sooner."""
        with self._lock:
            while not self._closed:  # close() commits what is open
                if not self._db.in_transaction:
                    self._wake.wait()
                    continue
                batch = self._batch
                self._wake.wait(BATCH_SECONDS)
                if self._still_open(batch):
                    self._commit_locked()

    def _still_open(self, batch: int) -> bool:
        return not self._closed and self._db.in_transaction and self._batch == batch

    # ------------------------------------------------------------ files

    def file(self, bucket: str, key: str, folder: str | None = None) -> FileRecord | None:
        """The object's record in `folder` (the config's download_folder as a string); with no folder, the record
        of its latest download, wherever that went."""
        if folder is None:
            rows = self._query(f"SELECT {FILE_COLUMNS} FROM files WHERE bucket = ? AND key = ? ORDER BY downloaded_at DESC LIMIT 1",
                               (bucket, key))
        else:
            rows = self._query(f"SELECT {FILE_COLUMNS} FROM files WHERE folder = ? AND bucket = ? AND key = ?", (folder, bucket, key))
        return _file(rows[0]) if rows else None

    def owner_of(self, claim: str) -> tuple[str, str] | None:
        """Which object owns a local path (by its claim key), if any."""
        rows = self._query("SELECT bucket, key FROM files WHERE claim = ? LIMIT 1", (claim,))
        return (rows[0][0], rows[0][1]) if rows else None

    def record_file(self, record: FileRecord) -> None:
        self._batched(
            f"INSERT OR REPLACE INTO files ({FILE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (record.bucket, record.key, record.etag, record.version_id, record.size, str(record.path),
             record.claim, record.mtime_ns, int(record.complete), record.downloaded_at, record.folder, record.sequencer),
        )

    def moved(self, folder: str, bucket: str, key: str, path: Path, claim: str, mtime_ns: int) -> None:
        """A plugin moved the object's file: record where it is now."""
        self._batched("UPDATE files SET path = ?, claim = ?, mtime_ns = ? WHERE folder = ? AND bucket = ? AND key = ?",
                    (str(path), claim, mtime_ns, folder, bucket, key))

    def mark_complete(self, folder: str, bucket: str, key: str) -> None:
        self._batched("UPDATE files SET complete = 1 WHERE folder = ? AND bucket = ? AND key = ?", (folder, bucket, key))

    def adopt_legacy_rows(self, folder: str) -> int:
        """Give the rows written before per-folder records to `folder` when their file's path is inside it."""
        prefix = folder.rstrip("/\\") + os.sep
        with self._lock:
            cursor = self._db.execute(
                "UPDATE OR IGNORE files SET folder = ? WHERE folder = '' AND substr(path, 1, ?) = ?", (folder, len(prefix), prefix))
            self._commit_locked()
            return cursor.rowcount

    def recent(self, limit: int = 10) -> list[FileRecord]:
        rows = self._query(f"SELECT {FILE_COLUMNS} FROM files WHERE complete = 1 ORDER BY downloaded_at DESC LIMIT ?", (limit,))
        return [_file(row) for row in rows]

    def count_since(self, moment: float) -> int:
        return int(self._query("SELECT COUNT(*) FROM files WHERE downloaded_at >= ?", (moment,))[0][0])

    # ------------------------------------------------------------ failures

    def record_failure(self, message_id: str, queue_url: str, body: str, reason: str,
                       bucket: str | None = None, key: str | None = None) -> None:
        self._write(
            "INSERT INTO failures (message_id, queue_url, body, reason, bucket, key, failed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (message_id, queue_url, body, reason, bucket, key, time.time()),
        )
        if bucket is not None and key is not None:
            self._unsettled.add((bucket, key))

    def settle(self, bucket: str, key: str) -> None:
        """The object's file arrived: a failure kept for it leaves the pending list (as dismissed), and it no longer
        waits for a restore. Costs nothing for objects the ledger holds nothing against (most)."""
        if (bucket, key) not in self._unsettled:  # unlocked read: every download passes here
            return
        with self._lock:  # in the open batch when there is one, as the download's own rows are
            self._execute_locked("UPDATE failures SET dismissed_at = ? WHERE bucket = ? AND key = ? AND retried_at IS NULL "
                                 "AND dismissed_at IS NULL", (time.time(), bucket, key))
            self._execute_locked("DELETE FROM restores WHERE bucket = ? AND key = ?", (bucket, key))
            self._unsettled.discard((bucket, key))

    def pending_failures(self) -> list[FailureRecord]:
        rows = self._query("SELECT id, message_id, queue_url, body, reason, bucket, key, failed_at FROM failures "
                           "WHERE retried_at IS NULL AND dismissed_at IS NULL ORDER BY id")
        return [FailureRecord(*row) for row in rows]

    def mark_retried(self, failure_id: int) -> None:
        self._write("UPDATE failures SET retried_at = ? WHERE id = ?", (time.time(), failure_id))

    def counts(self) -> dict[str, int]:
        """How many files (downloaded, unfinished) and failures (kept, retried, dismissed) the ledger holds, for diagnostics."""
        files = dict(self._query("SELECT complete, COUNT(*) FROM files GROUP BY complete"))
        failures = dict(self._query("SELECT CASE WHEN retried_at IS NOT NULL THEN 'retried' WHEN dismissed_at IS NOT NULL "
                                    "THEN 'dismissed' ELSE 'kept' END AS fate, COUNT(*) FROM failures GROUP BY fate"))
        return {"files_downloaded": int(files.get(1, 0)), "files_unfinished": int(files.get(0, 0)),
                "failures_kept": int(failures.get("kept", 0)), "failures_retried": int(failures.get("retried", 0)),
                "failures_dismissed": int(failures.get("dismissed", 0))}

    def dismiss_failure(self, failure_id: int) -> None:
        """The user looked at a given-up message and let it go: it leaves the pending list (the row stays)."""
        self._write("UPDATE failures SET dismissed_at = ? WHERE id = ?", (time.time(), failure_id))

    # ------------------------------------------------------------ archived objects waiting for their restore

    def wait_for_restore(self, bucket: str, key: str, version_id: str | None, event: str, message_id: str, queue_url: str,
                         body: str, next_check: float) -> None:
        self._write("INSERT OR REPLACE INTO restores (bucket, key, version_id, event, message_id, queue_url, body, "
                    "requested_at, next_check, requests) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                    (bucket, key, version_id or "", event, message_id, queue_url, body, time.time(), next_check))
        self._unsettled.add((bucket, key))

    def waiting_restore(self, bucket: str, key: str, version_id: str | None) -> WaitingRestore | None:
        rows = self._query(f"SELECT {_RESTORE_COLUMNS} FROM restores WHERE bucket = ? AND key = ? AND version_id = ?",
                           (bucket, key, version_id or ""))
        return WaitingRestore(*rows[0]) if rows else None

    def restores(self) -> list[WaitingRestore]:
        return [WaitingRestore(*row) for row in self._query(f"SELECT {_RESTORE_COLUMNS} FROM restores ORDER BY requested_at")]

    def restores_due(self, now: float) -> list[WaitingRestore]:
        rows = self._query(f"SELECT {_RESTORE_COLUMNS} FROM restores WHERE next_check <= ? ORDER BY next_check LIMIT 100", (now,))
        return [WaitingRestore(*row) for row in rows]

    def check_restore_later(self, waiting: WaitingRestore, when: float) -> None:
        self._write("UPDATE restores SET next_check = ? WHERE bucket = ? AND key = ? AND version_id = ?",
                    (when, waiting.bucket, waiting.key, waiting.version_id))

    def restore_requested_again(self, waiting: WaitingRestore) -> None:
        self._write("UPDATE restores SET requests = requests + 1 WHERE bucket = ? AND key = ? AND version_id = ?",
                    (waiting.bucket, waiting.key, waiting.version_id))

    def restore_done(self, waiting: WaitingRestore) -> None:
        self._write("DELETE FROM restores WHERE bucket = ? AND key = ? AND version_id = ?",
                    (waiting.bucket, waiting.key, waiting.version_id))

    # ------------------------------------------------------------ small state

    def get_state(self, name: str, default: str | None = None) -> str | None:
        rows = self._query("SELECT value FROM state WHERE name = ?", (name,))
        return rows[0][0] if rows else default

    def states(self) -> dict[str, str]:
        return dict(self._query("SELECT name, value FROM state ORDER BY name"))

    def set_state(self, name: str, value: str) -> None:
        self._write("INSERT OR REPLACE INTO state VALUES (?, ?)", (name, value))


def _file(row: tuple[Any, ...]) -> FileRecord:
    bucket, key, etag, version_id, size, path, claim, mtime_ns, complete, downloaded_at, folder, sequencer = row
    return FileRecord(bucket, key, etag, version_id, size, Path(path), claim, mtime_ns, bool(complete), downloaded_at,
                      folder, sequencer)


def _upgrade_script(db: sqlite3.Connection) -> str:
    """The schema, in one transaction; a ledger from before per-folder rows is rebuilt with its rows kept."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(files)")}
    if not columns or "folder" in columns:
        return SCHEMA
    return (f"BEGIN IMMEDIATE; ALTER TABLE files RENAME TO files_before_folders; DROP INDEX IF EXISTS files_claim; "
            f"DROP INDEX IF EXISTS files_time; {SCHEMA} "
            f"INSERT OR IGNORE INTO files ({_LEGACY_FILE_COLUMNS}) SELECT {_LEGACY_FILE_COLUMNS} FROM files_before_folders; "
            f"DROP TABLE files_before_folders; COMMIT;")
