"""What the Setup window's pages share: the narrow view of the window they work through, and their heading."""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from tkinter import ttk
from typing import Any, Protocol

from agent.desktop.windows.theme import Theme
from agent.desktop.windows.widgets import ScrollFrame
from agent.setup_flow import SetupFlow


class Host(Protocol):
    """The Setup window as its pages (and the queue creator) see it."""

    root: tk.Tk
    look: Theme
    flow: SetupFlow
    body: ScrollFrame
    next_button: ttk.Button

    def run_in_background(self, work: Callable[[], Any], done: Callable[[Any, BaseException | None], None]) -> None:
        """`work` runs on a worker thread and must not touch Tk; `done(result, error)` runs on the Tk thread."""

    def post(self, callback: Callable[[], object]) -> None:
        """Run `callback` on the Tk thread soon (safe from a worker)."""

    def refresh(self) -> None:
        """A page changed what it shows: the footer's buttons and the test probe follow."""


def heading(page: ttk.Frame, look: Theme, title: str, text: str) -> ttk.Label:
    """A page's title and the sentence under it (returned: some pages change it)."""
    ttk.Label(page, text=title, style="Title.TLabel").pack(anchor="w")
    label = ttk.Label(page, text=text, style="Muted.TLabel", wraplength=look.px(540), justify="left")
    label.pack(anchor="w", pady=(look.px(6), look.px(20)))
    return label


def centre(widget: tk.Misc) -> list[int]:
    """Where a test clicks a widget: its centre on the screen."""
    return [widget.winfo_rootx() + widget.winfo_width() // 2, widget.winfo_rooty() + widget.winfo_height() // 2]
