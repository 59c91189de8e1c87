"""Small widgets the windows share: a scrolling frame, a search box, a table in a card, and readable times and paths."""

from __future__ import annotations

import os
import re
import sys
import time
import tkinter as tk
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from tkinter import ttk
from typing import Any

from agent.desktop.windows import theme
from agent.desktop.windows.theme import Theme


def when(moment: float, now: float | None = None) -> str:
    """A past moment as a person says it: "14:32", "Yesterday 09:10", "3 Nov 09:10"."""
    then, today = datetime.fromtimestamp(moment), datetime.fromtimestamp(now or time.time())
    days = (today.date() - then.date()).days
    if days == 0:
        return f"{then:%H:%M}"
    if days == 1:
        return f"Yesterday {then:%H:%M}"
    return f"{then.day} {then:%b %Y %H:%M}" if then.year != today.year else f"{then.day} {then:%b %H:%M}"


def until(moment: float, now: float | None = None) -> str:
    """A future moment: "now", "in 12 s", "in 3 min", "at 14:32"."""
    seconds = moment - (now or time.time())
    if seconds < 1:
        return "now"
    if seconds < 60:
        return f"in {seconds:.0f} s"
    if seconds < 3600:
        return f"in {seconds / 60:.0f} min"
    return f"at {datetime.fromtimestamp(moment):%H:%M}"


def in_home_words(text: str) -> str:
    """`text` with the home folder written as ~ where a path starts with it (~/S3 Downloads, ~/.config/...): at the
    start of the text, or after a space, a quote or a bracket; never inside another path (/srv/home/ann/) or in a
    longer name (/home/anna/ when the home is /home/ann)."""
    home = str(Path.home()).rstrip(os.sep)
    if not home:
        return text
    return re.sub(r"(?<![^\s'\"(\[“‘])" + re.escape(home + os.sep), lambda match: "~" + os.sep, text)


def wrap_path(text: str, width: float, measure: Callable[[str], float]) -> str:
    """A path in lines no wider than `width` (as `measure` measures text), each broken after a folder separator; a
    name too wide for a line of its own starts a line and is broken after a '-', '_' or '.', failing those between
    letters."""
    return "\n".join(_wrap(re.findall(r"[^/\\]*[/\\]|[^/\\]+$", text), width, measure, [r"[^-_.]*[-_.]|[^-_.]+$", r"."]))


def _wrap(parts: list[str], width: float, measure: Callable[[str], float], finer: list[str]) -> list[str]:
    lines = [""]
    for part in parts:
        if measure(lines[-1] + part) <= width:
            lines[-1] += part
        elif measure(part) <= width or not finer:
            lines.append(part)
        else:
            lines += _wrap(re.findall(finer[0], part), width, measure, finer[1:])
    return [line for line in lines if line]


def bind_activate(widget: tk.Misc, action: Callable[[], object]) -> None:
    """Enter and the space bar press a focused button, as on every desktop."""
    widget.bind("<Return>", lambda event: action())
    widget.bind("<KP_Enter>", lambda event: action())


def button(parent: tk.Misc, text: str, command: Callable[[], object], *, style: str = "TButton", **options: Any) -> ttk.Button:
    widget = ttk.Button(parent, text=text, command=command, style=style, takefocus=True, **options)
    bind_activate(widget, command)
    return widget


class SearchBox(ttk.Frame):
    """An entry with a grey hint while it is empty; `on_change(text)` runs as the user types."""

    def __init__(self, parent: tk.Misc, look: Theme, hint: str, on_change: Callable[[str], None], width: int = 24) -> None:
        super().__init__(parent)
        self.variable = tk.StringVar(self)
        self.entry = ttk.Entry(self, textvariable=self.variable, width=width)
        self.entry.pack(fill="x")
        self.hint = tk.Label(self.entry, text=hint, background=theme.SURFACE, foreground="#8a94a3", font=look.body,
                             cursor="xterm")
        self.hint.place(x=look.px(9), rely=0.5, anchor="w")
        self.hint.bind("<Button-1>", lambda event: self.entry.focus_set())
        self.variable.trace_add("write", lambda *args: self._changed(on_change))

    def _changed(self, on_change: Callable[[str], None]) -> None:
        text = self.variable.get()
        if text:
            self.hint.place_forget()
        else:
            self.hint.place(x=self.hint.winfo_x() or 9, rely=0.5, anchor="w")
        on_change(text)

    def get(self) -> str:
        return self.variable.get()

    def clear(self) -> None:
        self.variable.set("")


class Table(ttk.Frame):
    """A Treeview with a slim scrollbar inside a bordered card, striped rows and a message shown while it is empty."""

    def __init__(self, parent: tk.Misc, look: Theme, columns: Sequence[tuple[str, str, int, bool]], empty: str) -> None:
        """`columns`: (id, heading, width in 96-DPI pixels, stretches); widths should add up to the narrowest window."""
        super().__init__(parent, style="Card.TFrame", padding=1)
        self.look = look
        self.tree = ttk.Treeview(self, columns=[c[0] for c in columns], show="headings", selectmode="extended",
                                 takefocus=True)
        for column_id, heading, width, stretch in columns:
            self.tree.heading(column_id, text=heading, anchor="w")
            self.tree.column(column_id, width=look.px(width), minwidth=look.px(50), stretch=stretch, anchor="w")
        self.tree.bind("<FocusIn>", lambda event: self.select_first_if_none())
        self.tree.tag_configure("odd", background=theme.STRIPE)
        self.tree.tag_configure("muted", foreground=theme.MUTED)
        scrollbar = ttk.Scrollbar(self, orient="vertical", command=self.tree.yview, style="Vertical.TScrollbar")
        self.tree.configure(yscrollcommand=lambda first, last: _autohide(scrollbar, first, last))
        self.tree.grid(row=0, column=0, sticky="nsew")
        scrollbar.grid(row=0, column=1, sticky="ns")
        self.columnconfigure(0, weight=1)
        self.rowconfigure(0, weight=1)
        self.empty = ttk.Label(self, text=empty, style="Surface.Muted.TLabel", justify="center")
        self._rows: list[tuple[str, tuple[Any, ...]]] = []
        self._columns = [c[0] for c in columns]
        self._widths: list[int] = []
        self._font = look.body
        self.tree.bind("<Configure>", lambda event: self.after_idle(self._refit), add="+")
        self._show_empty(True)

    def _show_empty(self, empty: bool) -> None:
        if empty:
            self.empty.place(relx=0.5, rely=0.45, anchor="center")
        else:
            self.empty.place_forget()

    def set_rows(self, rows: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """(iid, the columns' texts). Selection and scrolling survive an update."""
        wanted = [(iid, tuple(values)) for iid, values in rows]
        if wanted == self._rows:
            return
        self._rows = wanted
        self._show(wanted)

    def _refit(self) -> None:
        widths = [int(self.tree.column(column, "width")) for column in self._columns]
        if widths != self._widths:
            self._show(self._rows)

    def _fit(self, value: Any, width: int) -> str:
        """The text, cut with an ellipsis where the column is too narrow (a Treeview would cut it mid-letter)."""
        text = str(value)
        room = width - self.look.px(22)
        if self._font.measure(text) <= room:
            return text
        low, high = 0, len(text)
        while low < high:
            middle = (low + high + 1) // 2
            if self._font.measure(text[:middle] + "…") <= room:
                low = middle
            else:
                high = middle - 1
        return text[:low].rstrip() + "…"

    def _show(self, wanted: list[tuple[str, tuple[Any, ...]]]) -> None:
        self._widths = [int(self.tree.column(column, "width")) for column in self._columns]
        wanted = [(iid, tuple(self._fit(value, width) for value, width in zip(values, self._widths, strict=False)))
                  for iid, values in wanted]
        selected = set(self.tree.selection())
        focus = self.tree.focus()
        existing = set(self.tree.get_children())
        keep = {iid for iid, _ in wanted}
        self.tree.delete(*[iid for iid in existing if iid not in keep])
        for index, (iid, values) in enumerate(wanted):
            tags = ("odd",) if index % 2 else ()
            if iid in existing:
                self.tree.item(iid, values=values, tags=tags)
                self.tree.move(iid, "", index)
            else:
                self.tree.insert("", index, iid=iid, values=values, tags=tags)
        still = [iid for iid in selected if iid in keep]
        if still:
            self.tree.selection_set(still)
        if focus in keep:
            self.tree.focus(focus)
        self._show_empty(not wanted)

    def selection(self) -> list[str]:
        return list(self.tree.selection())

    def values(self) -> list[tuple[Any, ...]]:
        """The rows' full texts (as given, before any ellipsis)."""
        return [values for _, values in self._rows]

    def select_first_if_none(self) -> None:
        """Arriving by keyboard selects the first row, so the arrow keys and the buttons have something to act on."""
        children = self.tree.get_children()
        if children and not self.tree.selection():
            self.tree.focus(children[0])
            self.tree.selection_set(children[0])


class ScrollFrame(ttk.Frame):
    """A vertically scrolling area; put children in `.inner`."""

    def __init__(self, parent: tk.Misc, style: str = "Surface.TFrame") -> None:
        super().__init__(parent, style=style)
        background = theme.SURFACE if style.startswith(("Surface", "Card")) else theme.BACKGROUND
        self.canvas = tk.Canvas(self, highlightthickness=0, borderwidth=0, background=background)
        self.scrollbar = ttk.Scrollbar(self, orient="vertical", command=self.canvas.yview)
        self.inner = ttk.Frame(self.canvas, style=style)
        self._window = self.canvas.create_window((0, 0), window=self.inner, anchor="nw")
        self.canvas.configure(yscrollcommand=lambda first, last: _autohide(self.scrollbar, first, last))
        self.canvas.grid(row=0, column=0, sticky="nsew")
        self.scrollbar.grid(row=0, column=1, sticky="ns")
        self.columnconfigure(0, weight=1)
        self.rowconfigure(0, weight=1)
        self.inner.bind("<Configure>", lambda event: self._resize())
        self.canvas.bind("<Configure>", lambda event: self.canvas.itemconfigure(self._window, width=event.width))
        for sequence in ("<MouseWheel>", "<Button-4>", "<Button-5>"):
            self.bind_all(sequence, self._wheel, add="+")

    def _resize(self) -> None:
        self.canvas.configure(scrollregion=self.canvas.bbox("all"))

    def _wheel(self, event: tk.Event[Any]) -> None:
        widget = event.widget
        if not isinstance(widget, tk.Misc) or not str(widget).startswith(str(self)):
            return
        if getattr(event, "num", None) == 4:
            self.canvas.yview_scroll(-2, "units")
        elif getattr(event, "num", None) == 5:
            self.canvas.yview_scroll(2, "units")
        else:
            delta = event.delta if sys.platform == "darwin" else event.delta // 120
            self.canvas.yview_scroll(-delta * 2, "units")

    def scroll_into_view(self, widget: tk.Misc) -> None:
        self.update_idletasks()
        height = self.inner.winfo_height()
        if height <= 0:
            return
        top = widget.winfo_rooty() - self.inner.winfo_rooty()
        bottom = top + widget.winfo_height()
        view_top, view_bottom = (fraction * height for fraction in self.canvas.yview())
        if top < view_top:
            self.canvas.yview_moveto(top / height)
        elif bottom > view_bottom:
            self.canvas.yview_moveto((bottom - (view_bottom - view_top)) / height)
        self.update_idletasks()


def _autohide(scrollbar: ttk.Scrollbar, first: float | str, last: float | str) -> None:
    """Show a scrollbar only while there is something to scroll."""
    if float(first) <= 0.0 and float(last) >= 1.0:
        scrollbar.grid_remove()
    else:
        scrollbar.grid()
    scrollbar.set(first, last)


def line(parent: tk.Misc) -> ttk.Frame:
    """A one-pixel rule."""
    return ttk.Frame(parent, style="Line.TFrame", height=1)


class Toast:
    """A short confirmation ("Copied") shown in a label for two seconds."""

    def __init__(self, label: ttk.Label) -> None:
        self.label = label
        self._job: str | None = None

    def show(self, text: str) -> None:
        self.label.configure(text=text)
        if self._job:
            self.label.after_cancel(self._job)
        self._job = self.label.after(2500, lambda: self.label.configure(text=""))


def copy_to_clipboard(widget: tk.Misc, text: str) -> None:
    widget.clipboard_clear()
    widget.clipboard_append(text)
    widget.update()  # hand the text to the clipboard now (X11 asks the owner later)


def place_window(root: tk.Tk, width: int, height: int) -> None:
    """A sensible size, centred, never larger than the screen."""
    screen_w, screen_h = root.winfo_screenwidth(), root.winfo_screenheight()
    width, height = min(width, screen_w - 40), min(height, screen_h - 80)
    root.geometry(f"{width}x{height}+{max(0, (screen_w - width) // 2)}+{max(0, (screen_h - height) // 3)}")
    root.minsize(min(width, root.winfo_reqwidth()), min(height, 300))
