"""The user's pause: whether downloads are paused and until when, kept in the ledger so it survives a restart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from agent.engine.ledger import Ledger

PAUSED_STATE = "paused"  # ledger state: "1" while paused
PAUSED_UNTIL_STATE = "paused_until"  # ledger state: when a timed pause ends (Unix time), "" for "until I resume"
MORNING_HOUR = 9  # "until tomorrow" means until 09:00
NIGHT_ENDS_HOUR = 5  # before 05:00, "tomorrow" still means the coming morning, not the one after


@dataclass(frozen=True)
class Pause:
    """A pause the user chose. `until` (timezone-aware): it ends by itself then; None: only the user ends it."""

    until: datetime | None = None

    def ended(self, now: datetime | None = None) -> bool:
        return self.until is not None and self.until <= (now or datetime.now().astimezone())


def load(ledger: Ledger) -> Pause | None:
    """The pause in force, or None. A timed pause whose end has passed (while the agent was off, say) is None."""
    if ledger.get_state(PAUSED_STATE) != "1":
        return None
    until = ledger.get_state(PAUSED_UNTIL_STATE) or ""
    try:
        pause = Pause(datetime.fromtimestamp(float(until)).astimezone() if until else None)
    except (ValueError, OverflowError, OSError):
        pause = Pause()  # unreadable: keep the safer reading, paused until the user resumes
    return None if pause.ended() else pause


def save(ledger: Ledger, pause: Pause | None) -> None:
    ledger.set_state(PAUSED_UNTIL_STATE, str(pause.until.timestamp()) if pause and pause.until else "")
    ledger.set_state(PAUSED_STATE, "1" if pause else "0")


def tomorrow_morning(now: datetime | None = None) -> datetime:
    """When "until tomorrow" ends: the next 09:00 local time, except that in the small hours it is this morning's."""
    local = (now or datetime.now().astimezone()).astimezone().replace(tzinfo=None)  # naive local: days keep 09:00 over DST
    morning = local.replace(hour=MORNING_HOUR, minute=0, second=0, microsecond=0)
    if local.hour >= NIGHT_ENDS_HOUR:
        morning += timedelta(days=1)
    return morning.astimezone()


def until_text(until: datetime, now: datetime | None = None) -> str:
    """'14:30' today, 'tomorrow 09:00', else 'Mon 1 Dec 09:00' (local time, 24-hour clock)."""
    until, today = until.astimezone(), (now or datetime.now().astimezone()).astimezone().date()
    clock = f"{until:%H:%M}"
    days = (until.date() - today).days
    if days == 0:
        return clock
    if days == 1:
        return f"tomorrow {clock}"
    return f"{until:%a} {until.day} {until:%b}{f' {until.year}' if until.year != today.year else ''} {clock}"
