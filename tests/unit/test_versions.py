"""Ordering two versions of one key: S3's sequencer (right-padded, hexadecimal), and without one, LastModified and
the bucket's current version; plus the ledger that keeps the placed version's sequencer per download folder."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from agent.api import ObjectEvent
from agent.engine.ledger import FileRecord, Ledger
from agent.engine.versions import compare_sequencers, older_than_on_disk


@pytest.mark.parametrize("a, b, order", [
    ("0055AED6DCD90281E5", "0055AED6DCD90281E6", -1),
    ("0055AED6DCD90281E6", "0055AED6DCD90281E5", 1),
    ("617f08299329d189", "617F08299329D189", 0),  # hexadecimal: case does not matter
    ("617f0829", "617f082900", 0),  # right-padded with zeros
    ("617f0829", "617f082901", -1),
    ("617f083", "617f0829ff", 1),  # "617f0830" > "617f0829": padding on the right, not the left
    ("0C0F6F405D6ED209E1", "0C0F6F405D6ED209E1", 0),
])
def test_sequencers_compare_as_s3_says(a: str, b: str, order: int) -> None:
    assert compare_sequencers(a, b) == order


def record(version: str | None, sequencer: str | None = None) -> FileRecord:
    return FileRecord("b", "k", "e-old", version, 1, Path("/x/k"), "k", 0, True, 0.0, "/x", sequencer)


def event(version: str | None, sequencer: str | None = None) -> ObjectEvent:
    return ObjectEvent("b", "k", 1, "e-new", version, sequencer=sequencer)


class Heads:
    """HEAD answers by version (None: the current version), counting the requests."""

    def __init__(self, modified: dict[str, datetime], current: str) -> None:
        self.modified, self.current, self.calls = modified, current, 0

    def __call__(self, version: str | None) -> dict[str, Any]:
        self.calls += 1
        if version is None:
            return {"VersionId": self.current, "LastModified": self.modified[self.current]}
        if version not in self.modified:
            raise ClientError({"Error": {"Code": "404", "Message": "Not Found"}}, "HeadObject")
        return {"VersionId": version, "LastModified": self.modified[version]}


T1, T2 = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC), datetime(2026, 11, 28, 10, 0, 5, tzinfo=UTC)


def test_with_sequencers_a_newer_event_costs_no_request_and_an_older_one_is_confirmed_by_one() -> None:
    heads = Heads({"v1": T1, "v2": T2}, "v2")
    assert older_than_on_disk(event("v3", "0C"), record("v2", "0B"), heads) is None
    assert heads.calls == 0
    assert older_than_on_disk(event("v1", "0A"), record("v2", "0B"), heads) is not None
    assert heads.calls == 1


def test_a_forged_sequencer_on_disk_never_hides_the_current_version() -> None:
    """Regression: a message with a sequencer of 64 Fs recorded it for the key; every genuine upload after it then
    looked older and was skipped, its message deleted."""
    forged = record("v2", "F" * 32)
    assert older_than_on_disk(event("v3", "0055AED6DCD90281E6"), forged, Heads({"v2": T1, "v3": T2}, "v3")) is None
    unversioned = FileRecord("b", "k", "e-old", None, 1, Path("/x/k"), "k", 0, True, 0.0, "/x", "F" * 32)

    def head(version: str | None) -> dict[str, Any]:
        return {"ETag": '"e-new"'}

    assert older_than_on_disk(ObjectEvent("b", "k", 1, "e-new", sequencer="0A"), unversioned, head) is None
    assert older_than_on_disk(ObjectEvent("b", "k", 1, "e-late", sequencer="0A"), unversioned, head) is not None


def test_without_a_version_if_match_decides_and_nothing_is_asked() -> None:
    heads = Heads({}, "v2")
    assert older_than_on_disk(event(None), record(None), heads) is None
    assert older_than_on_disk(event("v1"), record("v1"), heads) is None
    assert heads.calls == 0


def test_without_sequencers_last_modified_orders_the_versions() -> None:
    heads = Heads({"v1": T1, "v2": T2}, "v2")
    reason = older_than_on_disk(event("v1"), record("v2"), heads)
    assert reason is not None and "last modified" in reason
    assert older_than_on_disk(event("v2"), record("v1"), heads) is None


def test_within_one_second_the_current_version_wins() -> None:
    same = Heads({"v1": T1, "v2": T1}, "v2")
    reason = older_than_on_disk(event("v1"), record("v2"), same)
    assert reason is not None and "current version" in reason
    assert older_than_on_disk(event("v2"), record("v1"), same) is None


def test_a_version_that_is_gone_orders_nothing() -> None:
    heads = Heads({"v2": T2}, "v2")
    assert older_than_on_disk(event("v3"), record("v1"), Heads({"v3": T2, "v2": T2}, "v3")) is None
    reason = older_than_on_disk(event("v1"), record("v2"), heads)  # v1 was deleted; v2 is current
    assert reason is not None and "current version" in reason


# ------------------------------------------------------------------ the ledger


def test_records_are_per_folder_and_keep_the_sequencer(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    for folder in ("/old", "/new"):
        ledger.record_file(FileRecord("b", "k", "e", "v", 1, Path(f"{folder}/k"), f"{folder}/k", 0, False, 1.0, folder, "0A"))
    ledger.mark_complete("/new", "b", "k")
    old, new = ledger.file("b", "k", "/old"), ledger.file("b", "k", "/new")
    assert old is not None and new is not None
    assert (old.path, old.complete, new.path, new.complete, new.sequencer) == (Path("/old/k"), False, Path("/new/k"), True, "0A")
    assert ledger.file("b", "k", "/elsewhere") is None


def test_a_ledger_from_before_folders_is_upgraded_and_its_rows_claimed_by_their_folder(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE files (bucket TEXT NOT NULL, key TEXT NOT NULL, etag TEXT, version_id TEXT, size INTEGER NOT NULL,
            path TEXT NOT NULL, claim TEXT NOT NULL, mtime_ns INTEGER NOT NULL, complete INTEGER NOT NULL DEFAULT 0,
            downloaded_at REAL NOT NULL, PRIMARY KEY (bucket, key));
        CREATE INDEX files_claim ON files (claim);
        CREATE INDEX files_time ON files (downloaded_at);
        INSERT INTO files VALUES ('b', 'in.wav', 'e1', NULL, 1, '/music/in.wav', '/music/in.wav', 5, 1, 10.0);
        INSERT INTO files VALUES ('b', 'out.wav', 'e2', NULL, 1, '/musical/out.wav', '/musical/out.wav', 5, 1, 11.0);
    """)
    db.commit()
    db.close()
    ledger = Ledger(path)
    assert ledger.file("b", "in.wav", "/music") is None  # not claimed yet
    assert ledger.adopt_legacy_rows("/music") == 1  # "/musical" is not inside "/music"
    claimed = ledger.file("b", "in.wav", "/music")
    assert claimed is not None and (claimed.etag, claimed.complete, claimed.sequencer) == ("e1", True, None)
    assert ledger.file("b", "out.wav", "/music") is None
    assert [r.key for r in ledger.recent()] == ["out.wav", "in.wav"]
    assert ledger.owner_of("/musical/out.wav") == ("b", "out.wav")
    ledger.close()
    assert Ledger(path).adopt_legacy_rows("/musical") == 1  # reopening does not rebuild again
