"""The Activity window's data: waiting objects from Retrying events, failures the user dismisses, an older ledger."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from agent.api import ObjectEvent
from agent.desktop.activity import ActivityLog
from agent.engine.events import Downloaded, Failed, Retrying
from agent.engine.ledger import Ledger


def test_waiting_rows_come_from_retrying_events_and_leave_when_the_object_is_settled(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    log = ActivityLog()
    late, broken = ObjectEvent("bucket", "in/late.wav", message_id="m1"), ObjectEvent("bucket", "in/broken.wav", message_id="m2")
    log.handle(Retrying(late, "m1", 1, 6, 30.0, "the object is not readable yet (not found)"))
    log.handle(Retrying(broken, "m2", 2, 6, 5.0, "the server answered 500"))
    snapshot = log.snapshot(None, ledger, "Up to date", "idle", "/downloads")
    assert [(row["name"], row["attempt"], row["max_attempts"]) for row in snapshot["waiting"]] == [
        ("broken.wav", 3, 6), ("late.wav", 2, 6)], "soonest retry first, with the attempt that comes next"
    assert 25 < snapshot["waiting"][1]["next_at"] - time.time() <= 30

    log.handle(Downloaded(late, tmp_path / "late.wav", 3, 0.1))
    log.handle(Failed(broken, "m2", "gave up after 6 attempts", "sent to the dead-letter queue"))
    snapshot = log.snapshot(None, ledger, "", "idle", "")
    assert snapshot["waiting"] == []
    assert [(row["name"], row["where"], row["retryable"]) for row in snapshot["failed"]] == [
        ("broken.wav", "Sent to the dead-letter queue", False)]
    log.dismiss(["m2"])
    assert log.snapshot(None, ledger, "", "idle", "")["failed"] == []
    ledger.close()


def test_a_dismissed_failure_leaves_the_pending_list_and_an_older_ledger_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    old = sqlite3.connect(path)  # the failures table as it was before Dismiss existed
    old.execute("CREATE TABLE failures (id INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL, queue_url TEXT NOT NULL, "
                "body TEXT NOT NULL, reason TEXT NOT NULL, bucket TEXT, key TEXT, failed_at REAL NOT NULL, retried_at REAL)")
    old.execute("INSERT INTO failures (message_id, queue_url, body, reason, key, failed_at) VALUES ('m1', 'q', '{}', 'gone', 'a.wav', 1)")
    old.commit()
    old.close()
    ledger = Ledger(path)
    ledger.record_failure("m2", "q", "{}", "broken", "bucket", "b.wav")
    assert [f.key for f in ledger.pending_failures()] == ["a.wav", "b.wav"]
    ledger.dismiss_failure(ledger.pending_failures()[0].id)
    assert [f.key for f in ledger.pending_failures()] == ["b.wav"]
    snapshot = ActivityLog().snapshot(None, ledger, "", "idle", "")
    assert [(row["name"], row["retryable"]) for row in snapshot["failed"]] == [("b.wav", True)]
    ledger.close()
