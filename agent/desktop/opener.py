"""Open a folder or a file, or reveal a file in its folder, with the platform's file manager (replaceable in tests)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import webbrowser
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from agent.errors import AgentError

log = logging.getLogger(__name__)

Action = Literal["open_folder", "open_file", "reveal", "open_url"]
Opener = Callable[[Action, Path | str], None]

RECORD_ENV = "S3_SQS_AGENT_OPENER_RECORD"
"""When set to a file path, every request is appended to that file as a JSON line instead of opening anything.
The desktop tests use it to check what the menu asked for without a file manager."""

OPEN_WAIT_SECONDS = 3.0
"""How long xdg-open or open may take to fail (no file manager, no application for the type) before it counts as opened."""
XDG_UTILS = "xdg-open is not installed (Debian/Ubuntu: sudo apt install xdg-utils; Fedora: sudo dnf install xdg-utils)"


class CannotOpen(AgentError):
    """Nothing here can show or open the path: no file manager, no application for the file's type."""

    def __init__(self, action: Action, path: Path, why: str) -> None:
        self.action, self.path, self.why = action, path, why
        self.title = (f"Cannot show {path.name} in its folder" if action == "reveal" else
                      f"Cannot open the folder {path.name}" if action == "open_folder" else f"Cannot open {path.name}")
        super().__init__(f"{why[0].upper()}{why[1:]}. Its path, to copy: {path}")


_lock = threading.Lock()
_override: Opener | None = None


def set_opener(opener: Opener | None) -> None:
    """Replace the platform opener (None restores it). For tests and embedding."""
    global _override  # noqa: PLW0603 - one process-wide choice, set once by tests or an embedding app
    _override = opener


def open_folder(path: Path) -> None:
    _dispatch("open_folder", path)


def open_file(path: Path) -> None:
    _dispatch("open_file", path)


def reveal(path: Path) -> None:
    """Show the file selected in its folder where the platform allows; otherwise open its folder."""
    _dispatch("reveal", path)


def open_url(url: str) -> None:
    """Open a web page in the default browser (a sign-in page, say)."""
    _dispatch("open_url", url)


def _dispatch(action: Action, path: Path | str) -> None:
    """Raises CannotOpen when nothing here can show or open a path (a web page's failure is only logged)."""
    if _override is not None:
        _override(action, path)
        return
    record = os.environ.get(RECORD_ENV)
    if record:
        with _lock, open(record, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"action": action, "path": str(path)}) + "\n")
        return
    if isinstance(path, str):
        try:
            webbrowser.open(path, new=2)
        except webbrowser.Error as exc:
            log.error("Could not open %s: %s", path, exc)
        return
    try:
        _platform_open(action, path)
    except CannotOpen as exc:
        log.error("Could not open %s: %s", path, exc.why)
        raise
    except OSError as exc:
        log.error("Could not open %s: %s", path, exc)
        raise CannotOpen(action, path, f"the system could not open it ({exc.strerror or exc})") from None


def _spawn(command: list[str], action: Action, path: Path, check: bool = True) -> None:
    """Start a helper without a console window; raise CannotOpen if it fails at once (nothing to show the path with).
    One still running after OPEN_WAIT_SECONDS is showing it (a file manager xdg-open runs in the foreground).
    `check` False: its exit code means nothing (explorer's is 1 when it worked)."""
    log.debug("Running %s", command)
    try:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=sys.platform != "win32", close_fds=True)
    except FileNotFoundError:
        missing = XDG_UTILS if command[0] == "xdg-open" else f"{command[0]} is missing"
        raise CannotOpen(action, path, f"{_nothing_for(action, path)}: {missing}") from None
    if not check:
        return
    try:
        code = process.wait(OPEN_WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        return
    if code != 0:
        raise CannotOpen(action, path, f"{_nothing_for(action, path)} ({command[0]} answered {code})")


def _nothing_for(action: Action, path: Path) -> str:
    if action == "open_file" and not path.is_dir():
        return f"no application here opens {path.suffix or 'such'} files"
    return "no file manager is installed here"


def _platform_open(action: Action, path: Path) -> None:
    if action == "open_folder":
        path.mkdir(parents=True, exist_ok=True)
    if sys.platform == "win32":
        if action == "reveal" and path.exists():
            _spawn(["explorer", f"/select,{path}"], action, path, check=False)
        else:
            os.startfile(path if action != "reveal" else path.parent)  # type: ignore[attr-defined]
    elif sys.platform == "darwin":
        _spawn(["open", "-R", str(path)] if action == "reveal" and path.exists() else ["open", str(path)], action, path)
    else:
        if action == "reveal" and path.exists() and _show_items(path):
            return
        target = path.parent if action == "reveal" else path
        _spawn(["xdg-open", str(target)], action, path)


def _show_items(path: Path) -> bool:
    """The freedesktop FileManager1 interface selects a file in Nautilus, Dolphin, Nemo, Caja and others."""
    gdbus = shutil.which("gdbus")
    if not gdbus:
        return False
    result = subprocess.run(
        [gdbus, "call", "--session", "--dest", "org.freedesktop.FileManager1", "--object-path", "/org/freedesktop/FileManager1",
         "--method", "org.freedesktop.FileManager1.ShowItems", f"['{path.as_uri()}']", ""],
        stdin=subprocess.DEVNULL, capture_output=True, timeout=5, check=False)
    return result.returncode == 0
