"""A download's rows join one open batch: read back at once, committed once per delete batch or within BATCH_SECONDS,
and a batch that cannot be committed says so, so its messages are never deleted."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.engine import ledger as ledger_module
from agent.engine.ledger import BATCH_SECONDS, BatchLost, FileRecord, Ledger
from agent.errors import DiskFullError
from tests.helpers import IS_ROOT, wait_until


def record(folder: Path, index: int, padding: int = 0) -> FileRecord:
    return FileRecord("bucket", f"takes/{index:04d}.wav" + "x" * padding, "etag", None, 1000, folder / f"takes/{index:04d}.wav",
                      f"takes/{index:04d}.wav", 1, False, time.time(), str(folder), None)


def committed_rows(path: Path) -> int:
    """What another process sees: only committed rows."""
    other = sqlite3.connect(str(path), timeout=5)
    try:
        return int(other.execute("SELECT COUNT(*) FROM files").fetchone()[0])
    finally:
        other.close()


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    opened = Ledger(tmp_path / "ledger.sqlite3")
    try:
        yield opened
    finally:
        opened.close()


def test_rows_are_read_back_at_once_and_committed_together(ledger: Ledger, tmp_path: Path) -> None:
    ledger.commit()
    ledger.record_file(record(tmp_path, 1))
    ledger.mark_complete(str(tmp_path), "bucket", "takes/0001.wav")
    batch = ledger.batches_of_this_thread()
    assert batch and ledger.batches_of_this_thread() == range(0)  # read once
    found = ledger.file("bucket", "takes/0001.wav", str(tmp_path))
    assert found is not None and found.complete  # this process sees its own batch
    ledger.record_file(record(tmp_path, 2))
    assert ledger.batches_of_this_thread() == batch, "one batch for the rows written before its commit"
    ledger.make_durable(batch)
    assert committed_rows(ledger.path) == 2
    ledger.make_durable(range(0))  # a message that wrote no rows


def test_a_batch_commits_by_itself_soon(ledger: Ledger, tmp_path: Path) -> None:
    ledger.record_file(record(tmp_path, 1))
    started = time.monotonic()
    wait_until(lambda: committed_rows(ledger.path) == 1, 10, "the batch to commit by itself")
    assert time.monotonic() - started < 10 * BATCH_SECONDS + 5  # a bound, not a timing: it never waits for a delete


def test_other_writes_commit_at_once_with_the_batch(ledger: Ledger, tmp_path: Path) -> None:
    ledger.record_file(record(tmp_path, 1))
    ledger.set_state("last_receive", "1")
    assert committed_rows(ledger.path) == 1


def test_closing_commits_the_open_batch(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    ledger.record_file(record(tmp_path, 1))
    ledger.close()
    assert committed_rows(tmp_path / "ledger.sqlite3") == 1


def test_threads_each_learn_their_own_batch(ledger: Ledger, tmp_path: Path) -> None:
    seen: list[range] = []
    def write(index: int) -> None:
        ledger.record_file(record(tmp_path, index))
        seen.append(ledger.batches_of_this_thread())

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8 and all(seen)
    for batch in seen:
        ledger.make_durable(batch)
    assert committed_rows(ledger.path) == 8


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if not IS_ROOT:
        pytest.skip("mounting a tmpfs needs root on Linux (CI runs as root)")
    folder = tmp_path / "disk"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)], check=True)
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_batch_that_cannot_be_committed_is_lost_and_says_so(small_disk: Path) -> None:
    ledger = Ledger(small_disk / "ledger.sqlite3")
    try:
        ledger.commit()
        written = range(0)
        with pytest.raises(DiskFullError, match=r"ledger\.sqlite3 is full"):  # a batch larger than the disk
            for index in range(1000):
                ledger.record_file(record(small_disk, index, padding=1000))
                written = ledger.batches_of_this_thread() or written
        with pytest.raises(BatchLost):
            ledger.make_durable(written)  # its messages must not be deleted
        assert committed_rows(ledger.path) == 0
        ledger.record_file(record(small_disk, 1))  # the next batch goes on
        ledger.make_durable(ledger.batches_of_this_thread())
        assert committed_rows(ledger.path) == 1
    finally:
        ledger.close()


class FailingCommits:
    """The ledger's connection, whose COMMIT fails while `failing` is set, as it does on a full or failing disk."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db, self.failing = db, False

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if self.failing and sql == "COMMIT":
            raise sqlite3.OperationalError("database or disk is full")
        return self.db.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


@pytest.fixture
def failing_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Ledger, FailingCommits]]:
    monkeypatch.setattr(ledger_module, "BATCH_SECONDS", 3600.0)  # only the test commits
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    connection = FailingCommits(ledger._db)
    ledger._db = connection  # type: ignore[assignment]
    try:
        yield ledger, connection
    finally:
        connection.failing = False
        ledger.close()


def test_a_write_that_cannot_commit_with_the_open_batch_raises(failing_ledger: tuple[Ledger, FailingCommits],
                                                               tmp_path: Path) -> None:
    ledger, connection = failing_ledger
    ledger.record_file(record(tmp_path, 1))  # another message's batch is open
    connection.failing = True
    with pytest.raises(DiskFullError, match=r"ledger\.sqlite3 is full"):  # its caller keeps the message
        ledger.record_failure("m-1", "queue", "{}", "given up", "bucket", "takes/0002.wav")
    connection.failing = False
    assert ledger.pending_failures() == []
    with pytest.raises(BatchLost):
        ledger.make_durable(ledger.batches_of_this_thread())


def test_rows_spread_over_two_batches_are_lost_if_the_first_is(failing_ledger: tuple[Ledger, FailingCommits],
                                                                tmp_path: Path) -> None:
    ledger, connection = failing_ledger
    ledger.record_file(record(tmp_path, 1))  # batch N
    connection.failing = True
    ledger.commit()  # another message's delete commits batch N, and fails: N is rolled back
    connection.failing = False
    ledger.mark_complete(str(tmp_path), "bucket", "takes/0001.wav")  # batch N + 1
    batches = ledger.batches_of_this_thread()
    assert len(batches) == 2
    with pytest.raises(BatchLost):
        ledger.make_durable(batches)  # the message must not be deleted: its file's record is gone
