"""A download's rows join one open batch: read back at once, committed once per delete batch or within BATCH_SECONDS,
and a batch that cannot be committed says so, so its messages are never deleted."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.engine.ledger import BATCH_SECONDS, BatchLost, FileRecord, Ledger
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


def test_rows_are_read_back_at_once_and_committed_together(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    try:
        ledger.commit()
        ledger.record_file(record(tmp_path, 1))
        ledger.mark_complete(str(tmp_path), "bucket", "takes/0001.wav")
        batch = ledger.batch_of_this_thread()
        assert batch > 0 and ledger.batch_of_this_thread() == 0  # read once
        found = ledger.file("bucket", "takes/0001.wav", str(tmp_path))
        assert found is not None and found.complete  # this process sees its own batch
        ledger.record_file(record(tmp_path, 2))
        assert ledger.batch_of_this_thread() == batch, "one batch for the rows written before its commit"
        ledger.make_durable(batch)
        assert committed_rows(ledger.path) == 2
        ledger.make_durable(0)  # a message that wrote no rows
    finally:
        ledger.close()


def test_a_batch_commits_by_itself_soon(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    try:
        ledger.record_file(record(tmp_path, 1))
        started = time.monotonic()
        wait_until(lambda: committed_rows(ledger.path) == 1, 10, "the batch to commit by itself")
        assert time.monotonic() - started < 10 * BATCH_SECONDS + 5  # a bound, not a timing: it never waits for a delete
    finally:
        ledger.close()


def test_other_writes_commit_at_once_with_the_batch(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    try:
        ledger.record_file(record(tmp_path, 1))
        ledger.set_state("last_receive", "1")
        assert committed_rows(ledger.path) == 1
    finally:
        ledger.close()


def test_closing_commits_the_open_batch(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    ledger.record_file(record(tmp_path, 1))
    ledger.close()
    assert committed_rows(tmp_path / "ledger.sqlite3") == 1


def test_threads_each_learn_their_own_batch(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    seen: list[int] = []
    try:
        def write(index: int) -> None:
            ledger.record_file(record(tmp_path, index))
            seen.append(ledger.batch_of_this_thread())

        threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(seen) == 8 and all(batch > 0 for batch in seen)
        for batch in seen:
            ledger.make_durable(batch)
        assert committed_rows(ledger.path) == 8
    finally:
        ledger.close()


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
        written = 0
        with pytest.raises(sqlite3.OperationalError, match="full"):  # a batch larger than the disk
            for index in range(1000):
                ledger.record_file(record(small_disk, index, padding=1000))
                written = ledger.batch_of_this_thread() or written
        with pytest.raises(BatchLost):
            ledger.make_durable(written)  # its messages must not be deleted
        assert committed_rows(ledger.path) == 0
        ledger.record_file(record(small_disk, 1))  # the next batch goes on
        ledger.make_durable(ledger.batch_of_this_thread())
        assert committed_rows(ledger.path) == 1
    finally:
        ledger.close()
