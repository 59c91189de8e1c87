"""What a HEAD says about an archived object, what the user reads about it, and the waiting list in the ledger."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.api import ObjectEvent
from agent.engine import archive
from agent.engine.archive import ArchiveState, RestoreWatcher, event_from_json, event_to_json, not_restored_reason
from agent.engine.ledger import Ledger, WaitingRestore
from tests.helpers import wait_until


@pytest.mark.parametrize("head, where, readable, restoring", [
    ({"StorageClass": "GLACIER"}, "Glacier Flexible Retrieval", False, False),
    ({"StorageClass": "DEEP_ARCHIVE", "Restore": 'ongoing-request="true"'}, "Glacier Deep Archive", False, True),
    ({"StorageClass": "GLACIER", "Restore": 'ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"'},
     "Glacier Flexible Retrieval", True, False),
    ({"StorageClass": "INTELLIGENT_TIERING", "ArchiveStatus": "DEEP_ARCHIVE_ACCESS"},
     "the Intelligent-Tiering Deep Archive Access tier", False, False),
    ({"StorageClass": "INTELLIGENT_TIERING"}, "Intelligent-Tiering", True, False),  # back in a tier that reads at once
    ({}, "STANDARD", True, False),
])
def test_archive_state_from_a_head(head: dict[str, str], where: str, readable: bool, restoring: bool) -> None:
    state = ArchiveState.of(head)
    assert (state.where, state.readable, state.restoring) == (where, readable, restoring)


def test_the_user_reads_what_is_wrong_and_both_ways_to_fix_it() -> None:
    reason = not_restored_reason(ObjectEvent("b", "sessions/take 07.wav"), "Glacier Flexible Retrieval")
    assert reason.startswith("take 07.wav is archived in Glacier Flexible Retrieval; restore it")
    assert "set restore_archived" in reason and "s3-sqs-agent failed retry" in reason


def test_an_event_survives_the_ledger() -> None:
    event = ObjectEvent("b", "a+b c.wav", 5, "e", "v1", datetime(2026, 11, 28, 10, 0, tzinfo=UTC), "Object Created",
                        "eventbridge", "m-1", "multipart", "0A", "a+b c.wav")
    assert event_from_json(event_to_json(event)) == event


def test_the_waiting_list_and_settling_an_object(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    ledger.wait_for_restore("b", "k.wav", None, "{}", "m-1", "q", "body", next_check=100.0)
    ledger.record_failure("m-2", "q", "body", "archived", "b", "other.wav")
    [waiting] = ledger.restores_due(100.0)
    assert (waiting.key, waiting.version_id, waiting.requests) == ("k.wav", "", 1)
    assert ledger.restores_due(99.0) == []
    ledger.restore_requested_again(waiting)
    ledger.check_restore_later(waiting, 200.0)
    again = ledger.waiting_restore("b", "k.wav", None)
    assert again is not None and (again.requests, again.next_check) == (2, 200.0)
    ledger.close()

    reopened = Ledger(tmp_path / "ledger.sqlite3")  # what is unsettled is known after a restart too
    reopened.settle("b", "k.wav")
    reopened.settle("b", "other.wav")
    assert reopened.restores() == [] and reopened.pending_failures() == []


def test_the_restore_watcher_outlives_a_failing_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "TICK_SECONDS", 0.01)
    calls: list[float] = []

    class FailingOnce:  # the ledger's waiting list: the first look fails (a disk that cannot be read, say)
        def restores_due(self, now: float) -> list[WaitingRestore]:
            calls.append(now)
            if len(calls) == 1:
                raise sqlite3.OperationalError("disk I/O error")
            return []

    class Watched:
        ledger = FailingOnce()

    watcher = RestoreWatcher(Watched(), lambda event: None, lambda waiting, reason: None,  # type: ignore[arg-type]
                             paused=lambda: False)
    watcher.start()
    try:
        wait_until(lambda: len(calls) >= 3, 30, "the watcher to look again after the failure")
    finally:
        watcher.stop()
