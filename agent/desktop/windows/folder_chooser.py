"""A folder chooser for X11, where Tk's own dialog lists hidden folders and cannot make a new one: one place at a time,
its folders without the hidden ones, Up, into a folder, and "New folder…". Windows and macOS keep their native dialog."""

from __future__ import annotations

import os
import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from tkinter import filedialog, ttk
from typing import Any

from agent.desktop.windows.theme import Theme
from agent.desktop.windows.widgets import button, in_home_words

PROBE = "folder-chooser"
Probe = Callable[[Any, str, dict[str, Any]], None]
"""child.write_probe: what the dialog shows, for the tests (passed in: this module imports no window's machinery)."""


def choose_folder(parent: tk.Misc, look: Theme, current: str | None, title: str, probe: Probe | None = None) -> str | None:
    """Ask for a folder, starting from the field's `current` text: this module's dialog on X11, the platform's elsewhere."""
    start = start_in(current)
    if parent.tk.call("tk", "windowingsystem") == "x11":
        chosen = FolderChooser(parent, look, start, title, probe).show()
        return str(chosen) if chosen else None
    return filedialog.askdirectory(parent=parent, initialdir=str(start), title=title, mustexist=False) or None


def folders_in(place: Path) -> list[str]:
    """The folders directly in `place` that a person would look for: no hidden ones (.config), sorted as a file manager does."""
    try:
        entries = list(os.scandir(place))
    except OSError:
        return []
    names = []
    for entry in entries:
        try:
            if entry.is_dir() and not entry.name.startswith("."):
                names.append(entry.name)
        except OSError:
            continue
    return sorted(names, key=str.casefold)


def start_in(text: str | None) -> Path:
    """Where the chooser opens for a field's text: that folder, else the nearest one above it that exists, else home."""
    place = Path(os.path.expanduser(text)) if text else Path.home()
    while not place.is_dir() and place.parent != place:
        place = place.parent
    return place if place.is_dir() and place.is_absolute() else Path.home()


def typed_folder(text: str, place: Path) -> Path:
    """The folder typed in the path box while `place` is shown: a relative name is taken inside `place` (never in the
    process's working folder), ~ is the home folder, and nothing typed is `place` itself."""
    return place / os.path.expanduser(text.strip())


class FolderChooser:
    """A modal dialog over `parent`. show() returns the folder chosen, or None when cancelled."""

    def __init__(self, parent: tk.Misc, look: Theme, start: Path, title: str, probe: Probe | None = None) -> None:
        self.look, self.place, self.probe = look, start, probe
        self.chosen: Path | None = None
        px = look.px
        self.top = top = tk.Toplevel(parent)
        top.title(title)
        self.owner = owner = parent.winfo_toplevel()
        top.transient(owner)
        width, height = px(560), px(420)  # centred over the window that asked
        top.geometry(f"{width}x{height}+{max(0, owner.winfo_rootx() + (owner.winfo_width() - width) // 2)}"
                     f"+{max(0, owner.winfo_rooty() + (owner.winfo_height() - height) // 3)}")
        shell = ttk.Frame(top, padding=(px(16), px(14)))
        shell.pack(fill="both", expand=True)

        bar = ttk.Frame(shell)
        bar.pack(fill="x")
        self.up_button = button(bar, "Up", self.up)
        self.up_button.pack(side="left")
        self.path = tk.StringVar(top, value=str(start))
        self.path_entry = ttk.Entry(bar, textvariable=self.path)
        self.path_entry.pack(side="left", fill="x", expand=True, padx=(px(8), 0))
        self.path_entry.bind("<Return>", lambda event: self._go_to_typed())

        self.list = ttk.Treeview(shell, show="tree", selectmode="browse", height=8)
        self.list.bind("<Double-Button-1>", lambda event: self._open_selected())
        self.list.bind("<Return>", lambda event: self._open_selected())
        self.list.bind("<BackSpace>", lambda event: self.up())
        self.list.bind("<<TreeviewSelect>>", lambda event: self._selected())
        tools = ttk.Frame(shell)
        self.new_button = button(tools, "New folder…", self._start_naming)
        self.new_button.pack(side="left")
        self.naming = ttk.Frame(tools)
        self.name = tk.StringVar(top)
        self.name_entry = ttk.Entry(self.naming, textvariable=self.name, width=28)
        self.name_entry.pack(side="left", padx=(px(8), 0))
        self.name_entry.bind("<Return>", lambda event: self._create())
        self.name_entry.bind("<Escape>", lambda event: self._stop_naming())
        self.create_button = button(self.naming, "Create", self._create)
        self.create_button.pack(side="left", padx=(px(6), 0))
        self.message = ttk.Label(shell, style="Error.TLabel", wraplength=px(520), justify="left")
        self.target = ttk.Label(shell, style="Small.TLabel", wraplength=px(520), justify="left")  # what Choose takes
        footer = ttk.Frame(shell)
        self.cancel_button = button(footer, "Cancel", self.cancel)
        self.choose_button = button(footer, "Choose", self._choose, style="Accent.TButton")
        # Made in the order Tab visits them; packed from the bottom up, so that the list takes the room that is left.
        footer.pack(side="bottom", fill="x", pady=(px(10), 0))
        self.choose_button.pack(side="right")
        self.cancel_button.pack(side="right", padx=(0, px(8)))
        self.target.pack(side="bottom", anchor="w", pady=(px(8), 0))
        self.message.pack(side="bottom", anchor="w", pady=(px(6), 0))
        tools.pack(side="bottom", fill="x")
        self.list.pack(fill="both", expand=True, pady=(px(10), px(8)))
        top.bind("<Escape>", lambda event: self.cancel())
        top.bind("<Control-Return>", lambda event: self._choose())
        top.protocol("WM_DELETE_WINDOW", self.cancel)
        top.bind("<FocusIn>", lambda event: self._probe(), add="+")  # the probe says where the focus is
        self._show(start)

    # ------------------------------------------------------------ moving about

    def _show(self, place: Path, select: str | None = None) -> None:
        self.place = place
        self.path.set(str(place))
        self.list.delete(*self.list.get_children())
        for name in folders_in(place):
            self.list.insert("", "end", iid=name, text=name)
        rows = self.list.get_children()
        if rows:  # the arrows start at the first row; only the folder just left or made is selected (Choose takes it)
            self.list.focus(select if select in rows else rows[0])
            if select in rows:
                self.list.selection_set(select)
            self.list.see(self.list.focus())
        self.path_entry.xview_moveto(1)  # a long path shows its end: the folder itself
        self.up_button.state(["disabled"] if place.parent == place else ["!disabled"])
        self.message.configure(text="" if rows else "No folders in here. Choose takes this one, or make one with New folder…",
                               style="Small.TLabel")
        self._selected()

    def _target(self) -> Path:
        selected = self.list.selection()
        return self.place / selected[0] if selected else self.place

    def _selected(self) -> None:
        self.target.configure(text=f"Choose takes {in_home_words(str(self._target()))}")
        self._probe()

    def up(self) -> None:
        if self.place.parent != self.place:
            self._show(self.place.parent, select=self.place.name)

    def _open_selected(self) -> str:
        selected = self.list.selection()
        if selected:
            self._show(self.place / selected[0])
        return "break"

    def _go_to_typed(self) -> str:
        place = typed_folder(self.path.get(), self.place)
        if place.is_dir():
            self._show(place)
            self.list.focus_set()
        else:
            self.message.configure(text=f"There is no folder {place}. Choose New folder… to make one.", style="Error.TLabel")
            self._probe()
        return "break"

    # ------------------------------------------------------------ a new folder

    def _start_naming(self) -> None:
        self.name.set("New folder")
        self.naming.pack(side="left")
        self.name_entry.focus_set()
        self.name_entry.select_range(0, "end")
        self._probe()

    def _stop_naming(self) -> str:
        self.naming.pack_forget()
        self.list.focus_set()
        self._probe()
        return "break"  # Escape closes the name, not the dialog

    def _create(self) -> str:
        name = self.name.get().strip()
        if not name or name in (".", "..") or "/" in name or "\0" in name:
            self.message.configure(text="Type a name for the new folder (no /).", style="Error.TLabel")
            self._probe()
            return "break"
        try:
            (self.place / name).mkdir()
        except OSError as exc:
            self.message.configure(text=f"The folder cannot be made: {exc.strerror or exc}.", style="Error.TLabel")
            self._probe()
            return "break"
        self.naming.pack_forget()
        self._show(self.place, select=name)
        self.list.focus_set()
        return "break"

    # ------------------------------------------------------------ closing

    def _choose(self) -> None:
        self.chosen = self._target()
        self._close()

    def cancel(self) -> None:
        self.chosen = None
        self._close()

    def _close(self) -> None:
        if self.probe is not None:
            self.probe(self.top, PROBE, {"open": False, "chosen": str(self.chosen) if self.chosen else None})
        self.top.grab_release()
        self.top.destroy()
        self.owner.focus_force()  # the keyboard goes back to the window that asked, with or without a window manager

    def show(self) -> Path | None:
        """Run the dialog until it is closed (the window behind it waits)."""
        self.top.wait_visibility()
        self.top.grab_set()
        self.list.focus_set()
        self._probe()
        self.top.wait_window()
        return self.chosen

    def _probe(self) -> None:
        if self.probe is None:
            return
        selected = self.list.selection()
        focus: Any = self.top.focus_get()
        self.probe(self.top, PROBE, {
            "open": True, "folder": str(self.place), "rows": list(self.list.get_children()),
            "selected": selected[0] if selected else None, "naming": bool(self.naming.winfo_manager()),
            "name": self.name.get(), "message": self.message.cget("text"), "target": self.target.cget("text"),
            "focus": "list" if focus is self.list else "name" if focus is self.name_entry else
                     str(focus.cget("text")) if isinstance(focus, ttk.Button) else None,
        })
