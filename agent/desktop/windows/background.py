"""Work off the Tk thread: workers hand their results to a queue that the Tk thread drains (Tk is not thread-safe).

A worker never touches Tk, not even `root.after`: it posts a callback, and the Tk thread runs it at its next pump
(every 50 ms, like child.Channel's). Whatever the work needs from the widgets is read before it starts.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import tkinter as tk
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

PUMP_MS = 50
Done = Callable[[Any, BaseException | None], None]


class Background:
    """Runs calls on worker threads for one window; their results and posted callbacks run on the Tk thread."""

    def __init__(self, root: tk.Misc) -> None:
        self.root = root
        self._posted: queue.SimpleQueue[Callable[[], object]] = queue.SimpleQueue()
        root.after(PUMP_MS, self._pump)

    def post(self, callback: Callable[[], object]) -> None:
        """Run `callback` on the Tk thread soon. Safe from any thread."""
        self._posted.put(callback)

    def run(self, work: Callable[[], Any], done: Done) -> None:
        """Run `work` on a worker thread (AWS calls can take seconds); `done(result, error)` then runs on the Tk thread."""
        def worker() -> None:
            try:
                result, error = work(), None
            except BaseException as exc:  # noqa: BLE001  shown to the person by `done`
                result, error = None, exc
            self.post(lambda: done(result, error))

        threading.Thread(target=worker, daemon=True).start()

    def _pump(self) -> None:
        while True:
            try:
                callback = self._posted.get_nowait()
            except queue.Empty:
                break
            try:
                callback()
            except Exception:
                log.exception("A window's background result could not be shown")
        with contextlib.suppress(tk.TclError):  # the window was closed meanwhile
            self.root.after(PUMP_MS, self._pump)
