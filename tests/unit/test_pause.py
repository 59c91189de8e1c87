"""The user's pause: when "until tomorrow" ends, how its end reads, and how it is kept in the ledger."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from agent.engine import pause
from agent.engine.ledger import Ledger


def local(*parts: int) -> datetime:
    return datetime(*parts).astimezone()  # type: ignore[arg-type]


def test_until_tomorrow_is_the_next_morning_and_the_small_hours_count_as_tonight() -> None:
    assert pause.tomorrow_morning(local(2026, 11, 28, 14, 30)) == local(2026, 11, 29, 9, 0)
    assert pause.tomorrow_morning(local(2026, 11, 28, 9, 0)) == local(2026, 11, 29, 9, 0)
    assert pause.tomorrow_morning(local(2026, 11, 28, 23, 59)) == local(2026, 11, 29, 9, 0)
    assert pause.tomorrow_morning(local(2026, 11, 29, 1, 15)) == local(2026, 11, 29, 9, 0)  # still "tonight"
    assert pause.tomorrow_morning(local(2026, 12, 31, 18, 0)) == local(2027, 1, 1, 9, 0)


def test_the_end_of_a_pause_reads_as_a_time_today_and_with_a_day_otherwise() -> None:
    now = local(2026, 11, 28, 10, 0)
    assert pause.until_text(local(2026, 11, 28, 14, 30), now) == "14:30"
    assert pause.until_text(local(2026, 11, 29, 9, 0), now) == "tomorrow 09:00"
    assert pause.until_text(local(2026, 12, 1, 9, 5), now) == "Tue 1 Dec 09:05"
    assert pause.until_text(local(2027, 1, 2, 9, 0), local(2026, 12, 31, 10, 0)) == "Sat 2 Jan 2027 09:00"


def test_a_pause_is_kept_in_the_ledger_and_an_ended_one_is_no_pause(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    assert pause.load(ledger) is None
    pause.save(ledger, pause.Pause())
    assert pause.load(ledger) == pause.Pause(None)
    soon = datetime.now().astimezone().replace(microsecond=0) + timedelta(hours=2)
    pause.save(ledger, pause.Pause(soon))
    reopened = Ledger(tmp_path / "ledger.sqlite3")
    assert pause.load(reopened) == pause.Pause(soon)
    pause.save(reopened, pause.Pause(datetime.now().astimezone() - timedelta(seconds=1)))
    assert pause.load(reopened) is None
    assert reopened.get_state(pause.PAUSED_STATE) == "1"  # kept as written: an ended pause simply no longer counts
    pause.save(reopened, None)
    assert reopened.get_state(pause.PAUSED_STATE) == "0" and pause.load(reopened) is None
    reopened.set_state(pause.PAUSED_STATE, "1")
    reopened.set_state(pause.PAUSED_UNTIL_STATE, "garbage")
    assert pause.load(reopened) == pause.Pause(None), "an unreadable end keeps the pause until the user resumes"
