"""Native dialogs (tkinter) run in a child process, so Tk never shares a thread or a main loop with the tray.

`python -m agent.desktop.dialogs folder INITIAL TITLE` prints the chosen folder (exit 0) or nothing (exit 1);
`python -m agent.desktop.dialogs yesno TITLE MESSAGE` exits 0 for yes and 1 for no. Exit 3 means tkinter is missing.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from agent.child_commands import DIALOG_COMMAND

EXIT_CHOSEN, EXIT_CANCELLED, EXIT_NO_TK = 0, 1, 3
TK_FIX = ("the folder dialog needs tkinter: install it (Debian/Ubuntu: sudo apt install python3-tk; "
          "Fedora: sudo dnf install python3-tkinter), or set download_folder in the config file")


class DialogUnavailable(Exception):
    """tkinter (or a display) is missing; the message says how to fix it."""


def _command(*args: str) -> list[str]:
    if getattr(sys, "frozen", False):  # a PyInstaller build has no `-m`: its executable runs the hidden `_dialog` command
        return [sys.executable, DIALOG_COMMAND, *args]
    return [sys.executable, "-m", "agent.desktop.dialogs", *args]


_running: set[subprocess.Popen[str]] = set()
_running_lock = threading.Lock()
_quitting = threading.Event()


def _run(*args: str, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    process = subprocess.Popen(_command(*args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with _running_lock:
        _running.add(process)
    if _quitting.is_set():  # close_all() came while this one was starting: it could not see it
        process.terminate()
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    finally:
        with _running_lock:
            _running.discard(process)
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    if result.returncode < 0:  # closed by close_all() while quitting
        return subprocess.CompletedProcess(process.args, EXIT_CANCELLED, "", "")
    if result.returncode == EXIT_NO_TK or result.returncode not in (EXIT_CHOSEN, EXIT_CANCELLED):
        raise DialogUnavailable(result.stderr.strip() or TK_FIX)
    return result


def close_all() -> None:
    """Close every open dialog, and any that is still opening (quitting): each counts as cancelled."""
    _quitting.set()
    for process in list(_running):  # no lock: this also runs in signal handlers
        process.terminate()


def choose_folder(initial: Path | None, title: str = "Choose download folder") -> Path | None:
    """Ask for a folder. None when cancelled; raises DialogUnavailable without tkinter or a display."""
    result = _run("folder", str(initial or Path.home()), title)
    chosen = result.stdout.strip()
    return Path(chosen) if result.returncode == EXIT_CHOSEN and chosen else None


def ask_yes_no(title: str, message: str, timeout: float | None = None) -> bool:
    """A yes/no question. Raises DialogUnavailable without tkinter or a display."""
    return _run("yesno", title, message, timeout=timeout).returncode == EXIT_CHOSEN


def main(argv: list[str]) -> int:
    """Run one dialog (the child process's whole job); see the module docstring for the exit codes."""
    if sys.stdout is None:  # a windowed build: the parent's pipe is still file descriptor 1
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    if sys.stderr is None:
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    try:
        import tkinter
        from tkinter import filedialog, messagebox
    except ImportError:
        print(TK_FIX, file=sys.stderr)
        return EXIT_NO_TK
    try:
        root = tkinter.Tk()
    except tkinter.TclError as exc:
        print(f"cannot open a window ({exc})", file=sys.stderr)
        return EXIT_NO_TK
    root.withdraw()
    try:
        if argv[0] == "folder":
            chosen = filedialog.askdirectory(parent=root, initialdir=argv[1], title=argv[2], mustexist=False)
            if not chosen:
                return EXIT_CANCELLED
            print(chosen)
            return EXIT_CHOSEN
        if argv[0] == "yesno":
            return EXIT_CHOSEN if messagebox.askyesno(argv[1], argv[2], parent=root) else EXIT_CANCELLED
        print(f"unknown dialog {argv[0]!r}", file=sys.stderr)
        return 2
    finally:
        root.destroy()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
