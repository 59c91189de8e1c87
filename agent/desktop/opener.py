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

log = logging.getLogger(__name__)

Action = Literal["open_folder", "open_file", "reveal", "open_url"]
Opener = Callable[[Action, Path | str], None]

RECORD_ENV = "S3_SQS_AGENT_OPENER_RECORD"
"""When set to a file path, every request is appended to that file as a JSON line instead of opening anything.
The desktop tests use it to check what the menu asked for without a file manager."""

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
    if _override is not None:
        _override(action, path)
        return
    record = os.environ.get(RECORD_ENV)
    if record:
        with _lock, open(record, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"action": action, "path": str(path)}) + "\n")
        return
    try:
        if isinstance(path, str):
            webbrowser.open(path, new=2)
        else:
            _platform_open(action, path)
    except (OSError, webbrowser.Error) as exc:
        log.error("Could not open %s: %s", path, exc)


def _spawn(command: list[str]) -> None:
    """Start a helper without waiting for it and without a console window."""
    log.debug("Running %s", command)
    subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=sys.platform != "win32", close_fds=True)


def _platform_open(action: Action, path: Path) -> None:
    if action == "open_folder":
        path.mkdir(parents=True, exist_ok=True)
    if sys.platform == "win32":
        if action == "reveal" and path.exists():
            _spawn(["explorer", f"/select,{path}"])
        else:
            os.startfile(path if action != "reveal" else path.parent)  # type: ignore[attr-defined]
    elif sys.platform == "darwin":
        _spawn(["open", "-R", str(path)] if action == "reveal" and path.exists() else ["open", str(path)])
    else:
        if action == "reveal" and path.exists() and _show_items(path):
            return
        target = path.parent if action == "reveal" else path
        _spawn(["xdg-open", str(target)])


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
