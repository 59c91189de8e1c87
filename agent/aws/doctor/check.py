"""A check's outcome (passed, failed or not checked, with the fix in plain words), the checks' names, and their units."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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

    `detail` and `fix` are the terminal's form: they name settings by their config keys. `in_window()` gives the
    window's form, with the window, section and field (agent/errors.py's `{key}`)."""

    name: str
    passed: bool | None
    detail: str
    fix: str = ""
    """What to do, in plain words (failures only)."""
    policy: dict[str, Any] | None = None
    """The IAM policy statement an administrator must grant (a failure for a missing permission)."""
    suggestion: str | None = None
    """A value to offer instead: the URL of the existing queue nearest to a missing one."""
    written: tuple[str, str] = field(default=("", ""), init=False, repr=False, compare=False)
    """detail and fix as written, `{key}` and all."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "written", (self.detail, self.fix))
        object.__setattr__(self, "detail", errors.for_terminal(self.detail))
        object.__setattr__(self, "fix", errors.for_terminal(self.fix))

    def in_window(self, places: Mapping[str, object] | None = None) -> tuple[str, str]:
        """(detail, fix) for a window: each setting where Settings shows it, or where `places` says this window asks
        for it (Setup's Queue step, say)."""
        return errors.for_window(self.written[0], places), errors.for_window(self.written[1], places)


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
