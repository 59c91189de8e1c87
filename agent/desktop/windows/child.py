"""The window process: one Tk window (setup, settings or activity), talking to the tray over its stdin and stdout.

The tray writes JSON lines to the window's stdin (`{"type": "snapshot", ...}`, `{"type": "raise"}`,
`{"type": "close"}`); the window writes commands to its stdout (`{"command": "retry", "ids": [3]}`). When the tray
goes away (end of stdin), the window closes. Exit codes: 0 closed, 2 usage, 3 no tkinter or no display.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import os
import queue
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

EXIT_OK, EXIT_NO_TK = 0, 3
TK_FIX = ("The windows need Python's tkinter. Install it (Debian/Ubuntu: sudo apt install python3-tk; "
          "Fedora: sudo dnf install python3-tkinter), then open the window again")
"""What a window prints on stderr before exiting with EXIT_NO_TK; the tray passes it on in a notification."""
PROBE_ENV = "S3_SQS_AGENT_WINDOW_PROBE"
"""When set to a folder, each window writes what it shows there as KIND.json after each change (for the tests)."""
WINDOWS = {"activity": "agent.desktop.windows.activity:ActivityWindow", "settings": "agent.desktop.windows.settings:SettingsWindow",
           "setup": "agent.desktop.windows.setup.window:SetupWindow"}
"""Each kind of window: the class that builds it, as `module:class` (imported only in its own process)."""
log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]


class Channel:
    """The pipe to the tray. Messages from the tray are handed to the Tk thread; `send` may be called from any thread."""

    def __init__(self, root: Any, incoming: IO[str] | None, outgoing: IO[str] | None) -> None:
        self.root = root
        self._incoming = incoming
        self._outgoing = outgoing
        self._queue: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        self._handlers: dict[str, Handler] = {}
        self._write_lock = threading.Lock()
        self.on_tray_gone: Callable[[], None] = root.destroy

    def on(self, kind: str, handler: Handler) -> None:
        self._handlers[kind] = handler

    def start(self) -> None:
        if self._incoming is not None:
            threading.Thread(target=self._read, name="tray-pipe", daemon=True).start()
        self.root.after(50, self._pump)

    def send(self, command: str, **fields: Any) -> None:
        if self._outgoing is None:
            return
        with self._write_lock:
            try:
                self._outgoing.write(json.dumps({"command": command, **fields}) + "\n")
                self._outgoing.flush()
            except (OSError, ValueError):  # the tray is gone; the window closes when its stdin ends
                pass

    def _read(self) -> None:
        assert self._incoming is not None
        for line in self._incoming:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if isinstance(message, dict):
                self._queue.put(message)
        self._queue.put(None)

    def _pump(self) -> None:
        latest: dict[str, dict[str, Any]] = {}
        try:
            while True:
                message = self._queue.get_nowait()
                if message is None:
                    self.on_tray_gone()
                    return
                if message.get("type") == "close":  # nothing after it is for a window that is going
                    self._dispatch("close", message)
                    return
                latest[str(message.get("type"))] = message  # only the newest snapshot matters
        except queue.Empty:
            pass
        for kind, message in latest.items():
            self._dispatch(kind, message)
        with contextlib.suppress(Exception):  # the window was closed meanwhile
            self.root.after(100, self._pump)

    def _dispatch(self, kind: str, message: dict[str, Any]) -> None:
        handler = self._handlers.get(kind)
        if handler is not None:
            try:
                handler(message)
            except Exception:
                log.exception("The window could not handle %s", kind)


def write_probe(root: Any, kind: str, data: dict[str, Any]) -> None:
    """Record what the window shows, with its place on the screen, when the tests ask for it (PROBE_ENV)."""
    folder = os.environ.get(PROBE_ENV)
    if not folder:
        return
    from agent.desktop.windows import forms

    root.update_idletasks()
    geometry = [root.winfo_rootx(), root.winfo_rooty(), root.winfo_width(), root.winfo_height()]
    target = Path(folder) / f"{kind}.json"
    temporary = target.with_name(f".{target.name}.tmp")
    shown = {"geometry": geometry, "pid": os.getpid(), "placeholders": forms.placeholders(), **data}
    temporary.write_text(json.dumps(shown, default=str), encoding="utf-8")
    os.replace(temporary, target)


def bring_to_front(root: Any) -> None:
    root.deiconify()
    root.lift()
    root.attributes("-topmost", True)
    root.after(300, lambda: root.attributes("-topmost", False))
    root.focus_force()


def main(argv: list[str]) -> int:
    """Run one window until it is closed."""
    parser = argparse.ArgumentParser(prog="s3-sqs-agent _window")
    parser.add_argument("kind", choices=sorted(WINDOWS))
    parser.add_argument("--config", type=Path, required=True)
    args = parser.parse_args(argv)
    if sys.stdout is None:  # a windowed build: the parent's pipes are still file descriptors 0, 1 and 2
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    if sys.stderr is None:
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    if sys.stdin is None:
        sys.stdin = open(0, closefd=False)  # noqa: SIM115
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    try:
        import tkinter
    except ImportError:
        print(TK_FIX, file=sys.stderr)
        return EXIT_NO_TK
    from agent.desktop.windows import theme

    theme.prepare_dpi()
    try:
        root = tkinter.Tk(className="s3-sqs-agent")
    except tkinter.TclError as exc:
        print(f"Tk cannot open a window ({exc}). {TK_FIX}", file=sys.stderr)
        return EXIT_NO_TK
    root.withdraw()
    look = theme.apply(root)
    from agent.desktop.windows.forms import FolderField

    FolderField.probe = write_probe  # the folder dialog says what it shows, as the window does
    channel = Channel(root, sys.stdin, sys.stdout)
    channel.on("raise", lambda message: bring_to_front(root))
    channel.on("close", lambda message: root.destroy())
    module, _, name = WINDOWS[args.kind].partition(":")
    getattr(importlib.import_module(module), name)(root, look, channel, args.config)
    channel.start()
    root.deiconify()
    bring_to_front(root)
    root.mainloop()
    return EXIT_OK
