"""The checks as the terminal shows them: a line each, the fix and the policy statement under a failure, a summary."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from typing import Any

from agent.aws.doctor.check import Check

MARKS = {True: "ok  ", False: "FAIL", None: "--  "}


def terminal_width(stream: Any = None) -> int | None:
    """The width a terminal's lines wrap to (its columns), or None when `stream` (stdout) is not a terminal."""
    stream = stream if stream is not None else sys.stdout
    if not getattr(stream, "isatty", lambda: False)():
        return None
    return shutil.get_terminal_size().columns


def format_check(check: Check, width: int | None = None) -> str:
    """A check as the terminal shows it: one line, then for a failure the fix and the policy statement, indented.
    With `width` (a terminal's), the first two wrap at words, their next lines indented under their text."""
    def wrapped(text: str, indent: int) -> str:
        if width is None:
            return text
        return "\n".join(textwrap.fill(line, max(width - 1, 40), subsequent_indent=" " * indent, break_long_words=False,
                                       break_on_hyphens=False) for line in text.split("\n"))

    lines = [wrapped(f"{MARKS[check.passed]}  {check.name}: {check.detail}", 6)]
    if check.passed is False and check.fix:
        lines.append(wrapped(f"      Fix: {check.fix}", 11))
    if check.policy is not None:
        lines.append("      Policy statement to send to your AWS administrator:")
        lines.extend(f"        {line}" for line in json.dumps(check.policy, indent=2).splitlines())
    return "\n".join(lines)


def summary(checks: list[Check]) -> str:
    passed = sum(1 for c in checks if c.passed is True)
    failed = sum(1 for c in checks if c.passed is False)
    other = len(checks) - passed - failed
    return f"{passed} passed, {failed} failed, {other} not checked."
