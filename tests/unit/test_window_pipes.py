"""The pipes between the tray and a window's process: a window that cannot start Tk is reported, snapshots are paced,
and nothing is handled after a window was told to close."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agent.desktop.windows import host
from agent.desktop.windows.child import TK_FIX, Channel
from tests.helpers import wait_until


class FakeRoot:
    """The two Tk calls the channel makes."""

    def __init__(self) -> None:
        self.scheduled: list[Any] = []
        self.destroyed = False

    def after(self, _ms: int, callback: Any) -> None:
        self.scheduled.append(callback)

    def destroy(self) -> None:
        self.destroyed = True


def test_nothing_is_handled_after_close() -> None:
    root = FakeRoot()
    channel = Channel(root, None, None)
    handled: list[str] = []
    channel.on("close", lambda message: handled.append("close"))
    channel.on("snapshot", lambda message: handled.append("snapshot"))
    channel._queue.put({"type": "close"})
    channel._queue.put({"type": "snapshot", "n": 1})
    channel._pump()
    assert handled == ["close"] and root.scheduled == [], "a snapshot reached a window that was closing"


def test_a_window_without_tkinter_is_reported_with_its_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "tkinter"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError(\"No module named '_tkinter'\")\n", encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    reported: list[tuple[str, str]] = []
    windows = host.WindowHost(tmp_path / "config.yaml", lambda command, message: None,
                              on_cannot_start=lambda kind, reason: reported.append((kind, reason)))
    windows.open("settings")
    wait_until(lambda: reported, 30, "the window's failure to be reported")
    assert reported == [("settings", TK_FIX)]


def test_a_burst_of_events_gets_paced_snapshots(monkeypatch: pytest.MonkeyPatch) -> None:
    taken: list[float] = []

    def snapshot() -> dict[str, Any]:
        taken.append(time.monotonic())
        return {"n": len(taken)}  # always new, so each one is sent

    process = subprocess.Popen([sys.executable, "-c", "import sys\nfor _ in sys.stdin: pass"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    window = host.OpenWindow("activity", process, lambda command, message: None, snapshot, lambda window: None)
    try:
        started = time.monotonic()
        while time.monotonic() - started < 1.0:
            window.refresh()  # an engine event each millisecond
            time.sleep(0.001)
        elapsed = time.monotonic() - started
    finally:
        window.close()
    assert len(taken) >= 1
    assert len(taken) <= elapsed / host.SNAPSHOT_GAP_SECONDS + 2, f"{len(taken)} snapshots in {elapsed:.2f} s"
