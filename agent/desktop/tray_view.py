"""What the tray shows, as data: the status line and icon for an engine status, the problem's lines, the pause choices."""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from agent.desktop.icons import IconState
from agent.engine import pause as pause_state
from agent.engine.engine import Status
from agent.engine.events import State
from agent.engine.hold import HOLD_MAX_SECONDS
from agent.errors import PLACES, ConfigError

PAUSE_SCALE_ENV = "S3_SQS_AGENT_PAUSE_SCALE"
"""Tests only: a factor for the timed pauses' lengths (0.001 makes "For 1 hour" last 3.6 s). "Until tomorrow" keeps 09:00."""


@dataclass(frozen=True)
class PauseChoice:
    """One entry of the Pause submenu. `length` None: until tomorrow morning; `forever`: until the user resumes."""

    label: str
    length: timedelta | None = None
    forever: bool = False

    def until(self, now: datetime | None = None) -> datetime | None:
        now = now or datetime.now().astimezone()
        if self.forever:
            return None
        if self.length is None:
            return pause_state.tomorrow_morning(now)
        return now + self.length * float(os.environ.get(PAUSE_SCALE_ENV) or 1)


PAUSE_CHOICES = (
    PauseChoice("For 30 minutes", timedelta(minutes=30)),
    PauseChoice("For 1 hour", timedelta(hours=1)),
    PauseChoice("For 2 hours", timedelta(hours=2)),
    PauseChoice("For 8 hours", timedelta(hours=8)),
    PauseChoice(f"Until tomorrow, {pause_state.MORNING_HOUR:02d}:00"),
    PauseChoice("Until I resume", forever=True),
)


@dataclass(frozen=True)
class RecentFile:
    label: str
    path: Path


@dataclass(frozen=True)
class TrayView:
    """Everything the tray shows; compared to the last one to know whether to redraw."""

    state: IconState
    status: str
    paused: bool
    recent: tuple[RecentFile, ...] = ()
    retryable: int = 0
    download_folder: str = ""
    needs_setup: bool = False
    sign_in: str | None = None  # the "Sign in again…" item's text; None: no such item
    problem: tuple[str, ...] = ()
    """What is wrong and where to fix it, under the status line: the problem's words for a window, wrapped for a menu."""


PROBLEM_LINES = 5
PROBLEM_WIDTH = 60  # characters a line: a menu as wide as its longest item stays narrow
RETRYING = " Retrying by itself."


def menu_lines(text: str) -> tuple[str, ...]:
    """`text` wrapped at words into at most PROBLEM_LINES lines (the last one cut with … when it does not fit), a
    place (Settings → Account → Endpoint) kept on one line; "Retrying by itself" left to the status line above."""
    text = " ".join(text.split()).removesuffix(RETRYING)
    for place in sorted({str(place) for place in PLACES.values()}, key=len, reverse=True):
        text = text.replace(place, place.replace(" ", "\N{NO-BREAK SPACE}"))
    lines = textwrap.wrap(text, PROBLEM_WIDTH, break_on_hyphens=False)
    if len(lines) > PROBLEM_LINES:
        last = textwrap.shorten(" ".join(lines[PROBLEM_LINES - 1:]), PROBLEM_WIDTH, placeholder=" …")
        lines = [*lines[:PROBLEM_LINES - 1], last]
    return tuple(lines)


NOT_SET_UP = "Not set up yet"
PROGRESS_STEP = 10


def next_attempt(retry_in: float | None, now: datetime | None = None) -> str:
    """When the next attempt is, in words that hold still: the menu and the tooltip are redrawn whenever their text
    changes, and a countdown would change it every second. Activity's Waiting tab counts the seconds."""
    if retry_in is None:
        return "retrying"
    if retry_in <= HOLD_MAX_SECONDS:  # the engine's longest hold: the wording stays put through a hold
        return "retrying within a minute"
    when = pause_state.until_text((now or datetime.now().astimezone()) + timedelta(seconds=retry_in), now)
    return f"retrying at {when}" if when[0].isdigit() else f"retrying {when}"  # at 14:32; tomorrow 00:03


def progress(done: int, total: int, step: int = PROGRESS_STEP) -> int:
    """The percentage done in steps of `step`, below 100 until it is done: the menu's status line changes a few times
    in a download, not at each second's bytes (Activity, redrawn anyway, asks for steps of 1)."""
    return min(99, done * 100 // total) // step * step


def describe(status: Status | None, *, config_error: ConfigError | None = None, start_error: str | None = None,
             failed: int = 0, needs_setup: bool = False, now: datetime | None = None,
             progress_step: int = PROGRESS_STEP) -> tuple[IconState, str]:
    """The icon state and the menu's status line for an engine status (None: no engine yet)."""
    if needs_setup and status is None:
        return IconState.SETUP, NOT_SET_UP  # its own icon, not Paused's; nothing is wrong, nothing runs until Set up… is done
    if status is not None and status.state is State.PAUSED:
        return IconState.PAUSED, f"Paused until {pause_state.until_text(status.paused_until)}" if status.paused_until else "Paused"
    if config_error is not None:
        first = config_error.problems[0] if config_error.problems else None
        where = f" (line {first.line}{f', {first.key}' if first.key else ''})" if first and first.line else (
            f" ({first.key})" if first and first.key else "")
        return IconState.ATTENTION, f"Config error{where}: using the last good config" if status else f"Config error{where}"
    if start_error is not None:
        return IconState.ATTENTION, start_error
    if status is None:
        return IconState.SYNCING, "Starting…"
    if status.state is State.OFFLINE:
        return IconState.OFFLINE, f"Offline: {next_attempt(status.retry_in, now)}"
    if status.state is State.ATTENTION:
        return IconState.ATTENTION, f"{status.detail or 'Needs attention'}: {next_attempt(status.retry_in, now)}"
    if status.state is State.SYNCING and status.active:
        files = f"{status.active} file{'' if status.active == 1 else 's'}"
        if status.bytes_total > 0:
            return IconState.SYNCING, f"Downloading {files} ({progress(status.bytes_done, status.bytes_total, progress_step)}%)"
        return IconState.SYNCING, f"Downloading {files}"
    if failed:
        return IconState.ATTENTION, f"{failed} file{'' if failed == 1 else 's'} failed"
    if status.state in (State.STARTING, State.SYNCING):
        return IconState.SYNCING, "Checking the queue…"
    today = status.downloaded_today
    return IconState.IDLE, f"Up to date: {today} file{'' if today == 1 else 's'} today"
