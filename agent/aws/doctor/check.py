"""A check's outcome (passed, failed or not checked, with the fix in plain words), the checks' names, and their units."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent import errors

CONFIG = "Config"
CREDENTIALS_CHECK = "Credentials"
QUEUE = "Queue"
RECEIVE = "Receive messages"
DELETE = "Delete messages"
BUCKET = "Bucket"
DEAD_LETTER = "Dead-letter queue"
FOLDER = "Download folder"
CLOCK = "Clock"
NAMES = (CONFIG, CREDENTIALS_CHECK, QUEUE, RECEIVE, DELETE, BUCKET, DEAD_LETTER, FOLDER, CLOCK)
"""Every check, in the order it runs."""


@dataclass(frozen=True)
class Check:
    """One check's outcome: `passed` None means not checked, or only informative.

    `detail` and `fix` may name settings as `{key}` (agent/errors.py): they keep the config keys (the terminal's form),
    and `window_detail` and `window_fix` get the window, section and field (the Setup window's form)."""

    name: str
    passed: bool | None
    detail: str
    fix: str = ""
    """What to do, in plain words (failures only)."""
    policy: dict[str, Any] | None = None
    """The IAM policy statement an administrator must grant (a failure for a missing permission)."""
    suggestion: str | None = None
    """A value to offer instead: the URL of the existing queue nearest to a missing one."""
    window_detail: str = ""
    window_fix: str = ""

    def __post_init__(self) -> None:
        for name, text in (("detail", self.detail), ("fix", self.fix)):
            object.__setattr__(self, name, errors.for_terminal(text))
            object.__setattr__(self, f"window_{name}", errors.for_window(getattr(self, f"window_{name}") or text))


def skipped(name: str, why: str) -> Check:
    return Check(name, None, f"Not checked: {why}.")


def duration(seconds: float) -> str:
    seconds = round(seconds)
    for unit, length in (("day", 86_400), ("hour", 3600), ("minute", 60)):
        if seconds >= length:
            count = round(seconds / length)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} s"


def size(count: int) -> str:
    value = float(count)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"
