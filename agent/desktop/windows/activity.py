"""The Activity window: downloads in progress, objects waiting for a retry, recent files and failed messages."""

from __future__ import annotations

import functools
import tkinter as tk
from pathlib import Path
from tkinter import ttk
from typing import Any

from agent.api import APP_TITLE
from agent.desktop.windows import widgets
from agent.desktop.windows.child import Channel, write_probe
from agent.desktop.windows.theme import Theme
from agent.desktop.windows.widgets import Table, Toast, button, until, when
from agent.engine.objects import human_size
from agent.hidden_chars import visible

TABS = ("downloads", "waiting", "recent", "failed")
TAB_TITLES = {"downloads": "In progress", "waiting": "Waiting", "recent": "Recent", "failed": "Failed"}


def _matches(row: dict[str, Any], text: str) -> bool:
    return not text or text in f"{row.get('name', '')}\n{row.get('key', '')}\n{row.get('reason', '')}".casefold()


class _DownloadRow(ttk.Frame):
    """One running download: its name, a progress bar, and "3.2 MiB of 10 MiB · 1.1 MiB/s"."""

    def __init__(self, parent: tk.Misc, look: Theme) -> None:
        super().__init__(parent, style="Surface.TFrame", padding=(look.px(16), look.px(10)))
        self.name = ttk.Label(self, style="Surface.Bold.TLabel")
        self.percent = ttk.Label(self, style="Surface.Muted.TLabel")
        self.bar = ttk.Progressbar(self, orient="horizontal", mode="determinate", maximum=1000)
        self.detail = ttk.Label(self, style="Surface.Small.TLabel")
        self.name.grid(row=0, column=0, sticky="w")
        self.percent.grid(row=0, column=1, sticky="e")
        self.bar.grid(row=1, column=0, columnspan=2, sticky="ew", pady=(look.px(6), look.px(4)))
        self.detail.grid(row=2, column=0, columnspan=2, sticky="w")
        self.columnconfigure(0, weight=1)

    def show(self, row: dict[str, Any]) -> None:
        size, done, speed = int(row["size"]), int(row["done"]), float(row["speed"])
        fraction = done / size if size else 1.0
        self.name.configure(text=row["name"])
        self.percent.configure(text=f"{min(99, int(fraction * 100))}%")  # as the tray counts: 100% only once it is done
        self.bar.configure(value=round(fraction * 1000))
        rate = f" · {human_size(speed)}/s" if speed > 0 else ""
        folder = visible(row["key"].rpartition("/")[0])
        self.detail.configure(text=f"{human_size(done)} of {human_size(size)}{rate}" + (f" · {folder}/" if folder else ""))


class ActivityWindow:
    def __init__(self, root: tk.Tk, look: Theme, channel: Channel, config_path: Path) -> None:
        self.root, self.look, self.channel = root, look, channel
        self.snapshot: dict[str, Any] = {}
        self.filter_text = ""
        px = look.px
        root.title(f"Activity – {APP_TITLE}")
        widgets.place_window(root, px(820), px(560))

        outer = ttk.Frame(root, padding=(px(20), px(16), px(20), px(16)))
        outer.pack(fill="both", expand=True)
        header = ttk.Frame(outer)
        header.pack(fill="x")
        ttk.Label(header, text="Activity", style="Title.TLabel").grid(row=0, column=0, sticky="w")
        self.status = ttk.Label(header, text="Connecting to the agent…", style="Muted.TLabel")
        self.status.grid(row=1, column=0, sticky="w", pady=(px(2), 0))
        self.search = widgets.SearchBox(header, look, "Filter by name", self._filter, width=28)
        self.search.grid(row=0, column=1, rowspan=2, sticky="e")
        header.columnconfigure(0, weight=1)

        self.notebook = ttk.Notebook(outer, takefocus=True)
        self.notebook.pack(fill="both", expand=True, pady=(px(14), 0))
        for sequence, step in (("<Control-Tab>", 1), ("<Control-Next>", 1), ("<Control-ISO_Left_Tab>", -1),
                               ("<Control-Shift-Tab>", -1), ("<Control-Prior>", -1)):
            root.bind_all(sequence, functools.partial(self._switch_by_key, step))
        self.pages: dict[str, ttk.Frame] = {}
        for tab in TABS:
            page = ttk.Frame(self.notebook, padding=(0, px(10), 0, 0))
            self.notebook.add(page, text=TAB_TITLES[tab])
            page.columnconfigure(0, weight=1)
            page.rowconfigure(0, weight=1)  # the list takes the room; what is under it keeps its height
            self.pages[tab] = page

        # In progress: a scrolling list of rows with progress bars.
        card = ttk.Frame(self.pages["downloads"], style="Card.TFrame", padding=1)
        card.grid(row=0, column=0, sticky="nsew")
        self.download_list = widgets.ScrollFrame(card)
        self.download_list.pack(fill="both", expand=True)
        self.download_rows: dict[str, tuple[ttk.Frame, _DownloadRow]] = {}
        self.downloads_empty = ttk.Label(card, text="Nothing is downloading right now.\nNew files start as soon as they are announced.",
                                         style="Surface.Muted.TLabel", justify="center")

        self.waiting = Table(self.pages["waiting"], look, [("name", "File", 230, True), ("reason", "Why it is waiting", 300, True),
                                                           ("next", "Next attempt", 110, False), ("attempt", "Attempt", 80, False)],
                             "Nothing is waiting.\nFiles that are not readable yet are retried here, with backoff.")
        self.waiting.grid(row=0, column=0, sticky="nsew")

        self.recent = Table(self.pages["recent"], look, [("name", "Name", 250, True), ("folder", "Folder", 290, True),
                                                         ("size", "Size", 90, False), ("at", "Downloaded", 130, False)],
                            "No files downloaded yet.")
        self.recent.grid(row=0, column=0, sticky="nsew")
        # Shown when Show in folder or Open finds nothing here to do it with: why, and the path to copy instead.
        self.cannot_open = ttk.Frame(self.pages["recent"])
        self.cannot_open_text = ttk.Label(self.cannot_open, style="Error.TLabel", wraplength=px(760), justify="left")
        self.cannot_open_text.pack(anchor="w")
        self.cannot_open_path = tk.StringVar(root)
        path_entry = ttk.Entry(self.cannot_open, textvariable=self.cannot_open_path, state="readonly")
        path_entry.pack(fill="x", pady=(px(4), 0))
        recent_actions = ttk.Frame(self.pages["recent"])
        recent_actions.grid(row=2, column=0, sticky="ew", pady=(px(10), 0))
        self.show_button = button(recent_actions, "Show in folder", self._show_in_folder)
        self.open_button = button(recent_actions, "Open", self._open)
        self.copy_path_button = button(recent_actions, "Copy path", self._copy_path)
        for widget in (self.show_button, self.open_button, self.copy_path_button):
            widget.pack(side="left", padx=(0, px(8)))
        self.recent.tree.bind("<<TreeviewSelect>>", lambda event: self._update_buttons())
        self.recent.tree.bind("<Double-1>", lambda event: self._open())
        self.recent.tree.bind("<Return>", lambda event: self._open())

        self.failed = Table(self.pages["failed"], look, [("name", "File", 200, True), ("reason", "Reason", 320, True),
                                                         ("at", "Failed", 110, False), ("where", "Where it is", 130, True)],
                            "Nothing failed.\nMessages that are given up are listed here, with the reason.")
        self.failed.grid(row=0, column=0, sticky="nsew")
        self.failed_detail = ttk.Label(self.pages["failed"], style="Muted.TLabel", wraplength=px(760), justify="left")
        self.failed_detail.grid(row=1, column=0, sticky="ew", pady=(px(8), 0))
        failed_actions = ttk.Frame(self.pages["failed"])
        failed_actions.grid(row=2, column=0, sticky="ew", pady=(px(10), 0))
        self.retry_button = button(failed_actions, "Retry", self._retry, style="Accent.TButton")
        self.dismiss_button = button(failed_actions, "Dismiss", self._dismiss)
        self.copy_key_button = button(failed_actions, "Copy key", self._copy_key)
        for widget in (self.retry_button, self.dismiss_button, self.copy_key_button):
            widget.pack(side="left", padx=(0, px(8)))
        self.failed.tree.bind("<<TreeviewSelect>>", lambda event: self._update_buttons())
        self.failed.tree.bind("<Delete>", lambda event: self._dismiss())

        footer = ttk.Frame(outer)
        footer.pack(fill="x", side="bottom", pady=(px(14), 0), before=self.notebook)  # never squeezed by the list
        self.folder_button = button(footer, "Open download folder", lambda: self.channel.send("open_folder"), style="Link.TButton")
        self.folder_button.pack(side="left")
        self.toast = Toast(ttk.Label(footer, style="Muted.TLabel"))
        self.toast.label.pack(side="left", padx=px(12))
        close = button(footer, "Close", root.destroy)
        close.pack(side="right")

        for number in range(1, len(TABS) + 1):  # Alt+1 … Alt+4 open a tab directly
            root.bind_all(f"<Alt-Key-{number}>", functools.partial(self._select_by_key, number - 1))
        root.bind("<Escape>", self._escape)
        root.bind("<Control-f>", lambda event: self.search.entry.focus_set())
        root.protocol("WM_DELETE_WINDOW", root.destroy)
        channel.on("snapshot", self.show)
        channel.on("cannot_open", self._cannot_open)
        self._first_snapshot = True
        self._update_buttons()
        self._render_downloads([])
        root.after(1000, self._tick)

    # ------------------------------------------------------------ data

    def show(self, snapshot: dict[str, Any]) -> None:
        self.snapshot = snapshot
        self.status.configure(text=snapshot.get("status", ""))
        if self._first_snapshot:  # opens on what there is to see: In progress while something downloads, else Recent
            self._first_snapshot = False
            if not snapshot.get("downloads"):
                self.notebook.select(TABS.index("recent"))  # type: ignore[no-untyped-call]
        self._render()

    def _cannot_open(self, message: dict[str, Any]) -> None:
        self.cannot_open_text.configure(text=f"{message.get('title', 'Cannot open it')}: {message.get('why', '')}. Its path, to copy:")
        self.cannot_open_path.set(str(message.get("path", "")))
        self.cannot_open.grid(row=1, column=0, sticky="ew", pady=(self.look.px(8), 0))
        self._probe()

    def _tick(self) -> None:
        """Relative times ("in 12 s") move on by themselves."""
        if self.snapshot.get("waiting"):
            self._render()
        self.root.after(1000, self._tick)

    def _rows(self, tab: str) -> list[dict[str, Any]]:
        return [row for row in self.snapshot.get(tab, []) if _matches(row, self.filter_text)]

    def _render(self) -> None:
        counts = {tab: len(self._rows(tab)) for tab in TABS}
        for index, tab in enumerate(TABS):
            self.notebook.tab(index, text=f"{TAB_TITLES[tab]} ({counts[tab]})" if counts[tab] else TAB_TITLES[tab])  # type: ignore[no-untyped-call]
        self._render_downloads(self._rows("downloads"))
        self.waiting.set_rows([(row["id"], (row["name"], row["reason"], until(row["next_at"]),
                                             f"{row['attempt']} of {row['max_attempts']}")) for row in self._rows("waiting")])
        self.recent.set_rows([(row["path"], (row["name"], row["folder"], human_size(row["size"]), when(row["at"])))
                              for row in self._rows("recent")])
        self.failed.set_rows([(self._failed_iid(row), (row["name"], row["reason"], when(row["at"]), row["where"]))
                              for row in self._rows("failed")])
        self._update_buttons()
        self._probe()

    def _probe(self) -> None:
        write_probe(self.root, "activity", {
            "status": self.status.cget("text"),
            "tabs": [self.notebook.tab(index, "text") for index in range(len(TABS))],  # type: ignore[no-untyped-call]
            "tab": TABS[self._current_tab()],
            "downloads": [{"name": entry.name.cget("text"), "percent": entry.percent.cget("text"),
                           "bar": float(entry.bar.cget("value")), "detail": entry.detail.cget("text")}
                          for _, entry in self.download_rows.values()],
            "waiting": self.waiting.values(),
            "recent": self.recent.values(),
            "failed": self.failed.values(),
            "failed_selected": self.failed.selection(),
            "retry_enabled": self.retry_button.instate(["!disabled"]),
            "cannot_open": self.cannot_open_text.cget("text"),
            "cannot_open_path": self.cannot_open_path.get(),
        })

    @staticmethod
    def _failed_iid(row: dict[str, Any]) -> str:
        return f"ledger:{row['id']}" if row.get("id") is not None else f"message:{row['message_id']}"

    def _render_downloads(self, rows: list[dict[str, Any]]) -> None:
        wanted = {row["id"] for row in rows}
        for row_id in [row_id for row_id in self.download_rows if row_id not in wanted]:
            self.download_rows.pop(row_id)[0].destroy()
        for row in rows:
            if row["id"] not in self.download_rows:
                holder = ttk.Frame(self.download_list.inner, style="Surface.TFrame")
                holder.pack(fill="x")
                entry = _DownloadRow(holder, self.look)
                entry.pack(fill="x")
                widgets.line(holder).pack(fill="x")
                self.download_rows[row["id"]] = (holder, entry)
            self.download_rows[row["id"]][1].show(row)
        if rows:
            self.downloads_empty.place_forget()
        else:
            self.downloads_empty.place(relx=0.5, rely=0.45, anchor="center")

    def _filter(self, text: str) -> None:
        self.filter_text = text.strip().casefold()
        self._render()

    # ------------------------------------------------------------ actions

    def _selected(self, tab: str) -> list[dict[str, Any]]:
        if tab == "recent":
            chosen = set(self.recent.selection())
            return [row for row in self.snapshot.get("recent", []) if row["path"] in chosen]
        chosen = set(self.failed.selection())
        return [row for row in self.snapshot.get("failed", []) if self._failed_iid(row) in chosen]

    def _update_buttons(self) -> None:
        recent = self._selected("recent")
        failed = self._selected("failed")
        for widget in (self.show_button, self.open_button, self.copy_path_button):
            widget.state(["!disabled"] if recent else ["disabled"])
        self.retry_button.state(["!disabled"] if any(row["retryable"] for row in failed) else ["disabled"])
        if len(failed) == 1:
            row = failed[0]
            where = "" if row["retryable"] else f" {row['where']}; it cannot be retried from here."
            self.failed_detail.configure(text=f"{visible(row['key']) or row['message_id']}: {row['reason']}.{where}")
        else:
            self.failed_detail.configure(text="Select a failed item to see the whole reason. Retry sends it back to the queue; "
                                              "Dismiss removes it from this list." if self.snapshot.get("failed") else "")
        for widget in (self.dismiss_button, self.copy_key_button):
            widget.state(["!disabled"] if failed else ["disabled"])

    def _show_in_folder(self) -> None:
        for row in self._selected("recent")[:5]:
            self.channel.send("reveal", path=row["path"])

    def _open(self) -> None:
        for row in self._selected("recent")[:5]:
            self.channel.send("open", path=row["path"])

    def _copy_path(self) -> None:
        rows = self._selected("recent")
        if rows:
            widgets.copy_to_clipboard(self.root, "\n".join(row["path"] for row in rows))
            self.toast.show("Path copied" if len(rows) == 1 else f"{len(rows)} paths copied")

    def _copy_key(self) -> None:
        rows = self._selected("failed")
        if rows:
            widgets.copy_to_clipboard(self.root, "\n".join(row["key"] or row["message_id"] for row in rows))
            self.toast.show("Key copied" if len(rows) == 1 else f"{len(rows)} keys copied")

    def _retry(self) -> None:
        ids = [row["id"] for row in self._selected("failed") if row["retryable"]]
        if ids:
            self.channel.send("retry", ids=ids)
            self.toast.show(f"Sent {len(ids)} back to the queue" if len(ids) > 1 else "Sent back to the queue")

    def _dismiss(self) -> None:
        rows = self._selected("failed")
        if rows:
            self.channel.send("dismiss", ids=[row["id"] for row in rows if row["id"] is not None],
                              message_ids=[row["message_id"] for row in rows if row["id"] is None])

    def _switch_by_key(self, step: int, event: tk.Event[Any]) -> str:
        return self._switch(step)

    def _select_by_key(self, index: int, event: tk.Event[Any]) -> str:
        return self._select(index)

    def _switch(self, step: int) -> str:
        return self._select((self._current_tab() + step) % len(TABS))

    def _current_tab(self) -> int:
        return int(self.notebook.index("current"))  # type: ignore[no-untyped-call]

    def _select(self, index: int) -> str:
        self.notebook.select(index)  # type: ignore[no-untyped-call]
        self.root.after_idle(self._probe)
        table = {"waiting": self.waiting, "recent": self.recent, "failed": self.failed}.get(TABS[index])
        if table is not None:
            table.tree.focus_set()
            table.select_first_if_none()
        return "break"

    def _escape(self, event: tk.Event[Any]) -> None:
        if self.search.get():
            self.search.clear()
        else:
            self.root.destroy()
