"""The tray's side of the windows: starts each window's process, feeds it snapshots, and runs the commands it sends.

A window costs nothing while it is closed: no process, no thread. While it is open, one thread reads its commands
and, for a window that shows live data, one thread sends a new snapshot when what it shows has changed.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.child_commands import WINDOW_COMMAND
from agent.desktop.windows.child import EXIT_NO_TK

log = logging.getLogger(__name__)

SNAPSHOT_SECONDS = 0.5
"""How often a live window gets a snapshot when nothing wakes its feed."""
SNAPSHOT_GAP_SECONDS = 0.25
"""At least this long between two snapshots, however many engine events ask for one (each reads the ledger)."""
STDERR_LINES = 20
"""How many of a window's last stderr lines are kept to say why it could not start."""

Snapshot = Callable[[], dict[str, Any]]
CommandHandler = Callable[[str, dict[str, Any]], None]
CannotStart = Callable[[str, str], None]
"""Called with the window's kind and its own explanation (its stderr) when it exits because Tk cannot start."""


def window_command(kind: str, config: Path) -> list[str]:
    if getattr(sys, "frozen", False):  # a PyInstaller build has no `-m`: its executable runs the hidden command
        return [sys.executable, WINDOW_COMMAND, kind, "--config", str(config)]
    return [sys.executable, "-m", "agent.desktop.windows", kind, "--config", str(config)]


class OpenWindow:
    """One running window process and the threads that serve it."""

    def __init__(self, kind: str, process: subprocess.Popen[str], on_command: CommandHandler, snapshot: Snapshot | None,
                 on_exit: Callable[[OpenWindow], None], on_cannot_start: CannotStart | None = None) -> None:
        self.kind = kind
        self.process = process
        self._on_command = on_command
        self._snapshot = snapshot
        self._on_exit = on_exit
        self._on_cannot_start = on_cannot_start
        self._write_lock = threading.Lock()
        self._closed = threading.Event()
        self._wake = threading.Event()
        self._errors: deque[str] = deque(maxlen=STDERR_LINES)
        self._stderr_reader = threading.Thread(target=self._log_errors, name=f"window-{kind}-stderr", daemon=True)
        self._stderr_reader.start()
        threading.Thread(target=self._read, name=f"window-{kind}", daemon=True).start()
        if snapshot is not None:
            threading.Thread(target=self._feed, name=f"window-{kind}-feed", daemon=True).start()

    def alive(self) -> bool:
        return self.process.poll() is None and not self._closed.is_set()

    def send(self, message: dict[str, Any]) -> bool:
        stdin = self.process.stdin
        if stdin is None:
            return False
        with self._write_lock:
            try:
                stdin.write(json.dumps(message, default=str) + "\n")
                stdin.flush()
                return True
            except (OSError, ValueError):
                return False

    def refresh(self) -> None:
        """Something the window shows may have changed: send a snapshot now rather than at the next tick."""
        self._wake.set()

    def close(self) -> None:
        self._closed.set()
        self._wake.set()
        if self.process.poll() is None:
            self.send({"type": "close"})
            try:
                self.process.wait(3)
            except subprocess.TimeoutExpired:
                self.process.terminate()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                log.debug("The %s window wrote %r", self.kind, line)
                continue
            if isinstance(message, dict) and isinstance(message.get("command"), str):
                try:
                    self._on_command(message["command"], message)
                except Exception:
                    log.exception("The %s window's command %s failed", self.kind, message.get("command"))
        code = self.process.wait()
        self._closed.set()
        self._wake.set()
        self._on_exit(self)
        if code == EXIT_NO_TK:
            self._stderr_reader.join(5)  # its last words say what to install
            reason = " ".join(self._errors).strip()
            log.error("The %s window cannot start: %s", self.kind, reason or "tkinter or the display is missing")
            if self._on_cannot_start is not None:
                self._on_cannot_start(self.kind, reason)
            return
        log.info("The %s window closed", self.kind)

    def _log_errors(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            if line.strip():
                self._errors.append(line.strip())
                log.warning("%s window: %s", self.kind, line.rstrip())

    def _feed(self) -> None:
        assert self._snapshot is not None
        last: str | None = None
        while not self._closed.is_set():
            started = time.monotonic()
            text: str | None
            try:
                text = json.dumps({"type": "snapshot", **self._snapshot()}, default=str, sort_keys=True)
            except Exception:
                log.exception("Could not describe the activity for the %s window", self.kind)
                text = last
            if text is not None and text != last:
                stdin = self.process.stdin
                if stdin is None:
                    return
                with self._write_lock:
                    try:
                        stdin.write(text + "\n")
                        stdin.flush()
                    except (OSError, ValueError):
                        return
                last = text
            self._wake.wait(SNAPSHOT_SECONDS)
            self._wake.clear()
            rest = SNAPSHOT_GAP_SECONDS - (time.monotonic() - started)
            if rest > 0:
                self._closed.wait(rest)  # a burst of events gets one snapshot, not one each


class WindowHost:
    """Opens at most one window of each kind; opening one that is open brings it to the front."""

    def __init__(self, config_path: Path, on_command: CommandHandler, on_cannot_start: CannotStart | None = None) -> None:
        self.config_path = config_path
        self._on_command = on_command
        self._on_cannot_start = on_cannot_start
        self._windows: dict[str, OpenWindow] = {}
        self._lock = threading.Lock()
        self._snapshots: dict[str, Snapshot] = {}

    def provide(self, kind: str, snapshot: Snapshot) -> None:
        """Windows of `kind` get `snapshot()` pushed to them while they are open."""
        self._snapshots[kind] = snapshot

    def open(self, kind: str) -> OpenWindow:
        """Show the window of `kind`, starting its process if it is not running. Raises OSError if it cannot start."""
        with self._lock:
            window = self._windows.get(kind)
            if window is not None and window.alive():
                window.send({"type": "raise"})
                log.info("Brought the %s window to the front", kind)
                return window
            process = subprocess.Popen(window_command(kind, self.config_path), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace", bufsize=1,
                                       env={**os.environ, "PYTHONIOENCODING": "utf-8"})
            log.info("Opened the %s window (process %d)", kind, process.pid)
            window = OpenWindow(kind, process, self._on_command, self._snapshots.get(kind), self._forget, self._on_cannot_start)
            self._windows[kind] = window
            return window

    def send(self, kind: str, message: dict[str, Any]) -> bool:
        """Hand the open window of `kind` a message (False: it is not open)."""
        window = self._windows.get(kind)
        return window is not None and window.alive() and window.send(message)

    def refresh(self, kind: str) -> None:
        window = self._windows.get(kind)
        if window is not None:
            window.refresh()

    def close_all(self) -> None:
        for window in list(self._windows.values()):
            window.close()

    def _forget(self, window: OpenWindow) -> None:
        with self._lock:
            if self._windows.get(window.kind) is window:
                del self._windows[window.kind]
