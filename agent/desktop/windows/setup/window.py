"""The Setup window: from a first start to the first downloaded file in four short steps, without a YAML file.

1 Account (setup.account), 2 Queue (setup.queue, setup.creator), 3 Download folder, 4 Check (setup.check), then Save:
config.yaml through update_file (comments kept), which the tray's watcher applies at once. The answers and the rules
between them live in agent.setup_flow, which the terminal's setup asks too; this window only asks and shows.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from tkinter import ttk
from typing import Any

from agent.api import APP_TITLE
from agent.desktop.windows import forms, theme, widgets
from agent.desktop.windows.background import Background
from agent.desktop.windows.child import Channel, write_probe
from agent.desktop.windows.setup.account import AccountPage
from agent.desktop.windows.setup.check import CheckPage
from agent.desktop.windows.setup.page import centre, heading
from agent.desktop.windows.setup.queue import QueuePage
from agent.desktop.windows.theme import Theme
from agent.desktop.windows.widgets import button
from agent.errors import ConfigError
from agent.setup_flow import SetupFlow

STEPS = (("account", "Account"), ("queue", "Queue"), ("folder", "Folder"), ("check", "Check"))
ORDER = [step for step, _ in STEPS]


class SetupWindow:
    def __init__(self, root: tk.Tk, look: Theme, channel: Channel, config_path: Path) -> None:
        self.root, self.look, self.channel = root, look, channel
        self.flow, _ = SetupFlow.start(config_path)  # a file that cannot be read: Save says why
        style = ttk.Style(root)  # a save with failed checks says so in the window's warning colours, never with ✓
        style.configure("Warn.Step.TLabel", background=theme.WARNING_SOFT, foreground=theme.WARNING)
        style.configure("Warn.Done.TLabel", foreground=theme.WARNING)  # the rest as Done.TLabel, its parent
        self.background = Background(root)
        self.step = "account"
        self.saved = False
        px = look.px
        root.title(f"Set up {APP_TITLE}")
        widgets.place_window(root, px(860), px(620))

        shell = ttk.Frame(root)
        shell.pack(fill="both", expand=True)
        self._build_rail(shell)
        main = ttk.Frame(shell)
        main.pack(side="left", fill="both", expand=True)
        self.body = widgets.ScrollFrame(main, style="TFrame")
        self.body.pack(fill="both", expand=True)
        footer = ttk.Frame(main, padding=(px(28), px(12)))
        footer.pack(side="bottom", fill="x", before=self.body)
        widgets.line(main).pack(side="bottom", fill="x", before=self.body)
        self.cancel_button = button(footer, "Cancel", self.cancel)
        self.cancel_button.pack(side="left")
        self.next_button = button(footer, "Next", self.next, style="Accent.TButton")
        self.next_button.pack(side="right")
        self.back_button = button(footer, "Back", self.back)
        self.back_button.pack(side="right", padx=(0, px(8)))
        self.save_anyway_button = button(footer, "Save anyway", self.save_anyway)  # after a failed check: a deliberate click

        self.pages = {step: ttk.Frame(self.body.inner, padding=(px(32), px(26), px(32), px(12))) for step in (*ORDER, "done")}
        self.account = AccountPage(self, self.pages["account"])
        self.queue = QueuePage(self, self.pages["queue"])
        self.account.on_change.append(self.queue.creator.forget_plan)  # a plan made with other credentials may not hold
        self._build_folder()
        self.check = CheckPage(self, self.pages["check"])
        self._build_done()

        root.bind("<Return>", self._enter)
        root.bind("<KP_Enter>", self._enter)
        root.bind("<Escape>", lambda event: self.cancel())
        root.bind("<Alt-Left>", lambda event: self.back())
        root.bind("<Alt-Right>", lambda event: self.next())
        root.protocol("WM_DELETE_WINDOW", self.cancel)
        root.bind_all("<FocusIn>", lambda event: self._probe(), add="+")  # the probe says where the focus is
        self._show("account")
        self.account.load()

    # ------------------------------------------------------------ what the pages see of the window (page.Host)

    def run_in_background(self, work: Callable[[], Any], done: Callable[[Any, BaseException | None], None]) -> None:
        self.background.run(work, done)

    def post(self, callback: Callable[[], object]) -> None:
        self.background.post(callback)

    def refresh(self) -> None:
        self._update_buttons()
        self._probe()

    # ------------------------------------------------------------ the parts

    def _build_rail(self, shell: ttk.Frame) -> None:
        px = self.look.px
        rail = ttk.Frame(shell, style="Surface.TFrame", padding=(px(20), px(24), px(16), px(16)), width=px(210))
        rail.pack(side="left", fill="y")
        rail.pack_propagate(False)
        widgets.line(shell).pack(side="left", fill="y")
        ttk.Label(rail, text=f"Set up\n{APP_TITLE}", style="Surface.Heading.TLabel", justify="left").pack(anchor="w", pady=(0, px(22)))
        self.rail_items: dict[str, tuple[ttk.Label, ttk.Label]] = {}
        for number, (step, title) in enumerate(STEPS, 1):
            row = ttk.Frame(rail, style="Surface.TFrame")
            row.pack(fill="x", pady=(0, px(10)))
            mark = ttk.Label(row, text=str(number), style="Step.TLabel", width=2, anchor="center")
            mark.pack(side="left")
            label = ttk.Label(row, text=title, style="Surface.Muted.TLabel")
            label.pack(side="left", padx=(px(10), 0))
            self.rail_items[step] = (mark, label)
        ttk.Label(rail, text="The settings are saved at the last step (a new access key goes to your AWS credentials file at "
                             "once). Enter goes on, Escape cancels.", style="Surface.Small.TLabel",
                  wraplength=px(170), justify="left").pack(side="bottom", anchor="w")

    def _build_folder(self) -> None:
        page = self.pages["folder"]
        heading(page, self.look, "Where should files go?", "New files are downloaded into this folder, keeping the folders of "
                "their keys. It is created if it is missing.")
        self.folder = forms.FolderField(page, self.look, "download_folder", "Download folder", "~ means your home folder.")
        self.folder.pack()
        self.folder.set(self.flow.folder)
        self.folder.on_change(self._probe)

    def _build_done(self) -> None:
        page = self.pages["done"]
        self.done_mark = ttk.Label(page, text="✓", style="Done.TLabel")
        self.done_mark.pack(anchor="w")
        self.done_title = ttk.Label(page, text="You're set up", style="Title.TLabel")
        self.done_title.pack(anchor="w", pady=(self.look.px(8), 0))
        self.done_text = ttk.Label(page, style="Muted.TLabel", wraplength=self.look.px(540), justify="left")
        self.done_text.pack(anchor="w", pady=(self.look.px(8), 0))

    # ------------------------------------------------------------ saving

    def save_anyway(self) -> None:
        """The deliberate way to keep answers whose checks failed (a click, or Tab then Space: never Enter)."""
        if self.step == "check" and self.check.done:
            self._save()

    def _save(self) -> None:
        try:  # the folder first: a config is never written naming a folder that cannot be made
            self.flow.make_folder()
        except (ValueError, OSError) as exc:
            self.check.say(f"Not saved: the download folder cannot be used ({getattr(exc, 'strerror', None) or exc}). Go back and "
                           "choose another.", error=True)
            return
        kept = self.check.from_environment()  # before saving: the flow then holds the new profile as the answer
        try:
            config = self.flow.save()
        except ConfigError as error:
            self.check.say(f"Not saved: {error}", error=True)
            return
        except (ValueError, OSError) as exc:
            self.check.say(f"Not saved: {getattr(exc, 'strerror', None) or exc}.", error=True)
            return
        self.saved = True
        self.channel.send("setup_saved")
        failed = self.check.failed
        where = f"New files are downloaded to {widgets.in_home_words(str(config.download_folder))}."
        if failed:
            names = ", ".join(check.name for check in failed)
            self.done_mark.configure(text="!", style="Warn.Done.TLabel")
            self.done_title.configure(text=f"Saved, but {len(failed)} check{'s' if len(failed) > 1 else ''} failed")
            self.done_text.configure(text=f"{where} Until {names} {'is' if len(failed) == 1 else 'are'} fixed, the agent waits and "
                                          "loses nothing; the tray icon says what it waits for, and Settings changes any answer."
                                          + (f"\n\n{kept}" if kept else ""))
        else:
            self.done_text.configure(text=f"{where} The tray icon shows what is happening; Activity in its menu lists every "
                                          f"file, and Settings changes any answer." + (f"\n\n{kept}" if kept else ""))
        self._show("done")

    # ------------------------------------------------------------ moving between steps

    def _show(self, step: str) -> None:
        self.step = step
        for name, page in self.pages.items():
            if name == step:
                page.pack(fill="both", expand=True)
            else:
                page.pack_forget()
        for name, (mark, label) in self.rail_items.items():
            done = step == "done" or ORDER.index(name) < ORDER.index(step)
            current = name == step
            if step == "done" and name == "check" and self.check.failed:
                mark.configure(text="!", style="Warn.Step.TLabel")  # saved anyway: the check step is not done
            else:
                mark.configure(text="✓" if done else str(ORDER.index(name) + 1),
                               style="Current.Step.TLabel" if current else "Done.Step.TLabel" if done else "Step.TLabel")
            label.configure(style="Surface.Bold.TLabel" if current else "Surface.TLabel" if done else "Surface.Muted.TLabel")
        self.body.canvas.yview_moveto(0)
        self._update_buttons()
        if step == "account":
            self.account.focus()
        elif step == "queue":
            self.queue.focus()
        elif step == "folder":
            self.root.after_idle(self.folder.focus)
        elif step == "done":
            self.root.after_idle(self.next_button.focus_set)
        if step == "check":
            self.next_button.configure(text="Save and start")
            self.check.run()
        self._probe()

    def _update_buttons(self) -> None:
        self.back_button.state(["!disabled"] if self.step in ORDER[1:] else ["disabled"])
        if self.step == "check" and self.check.done and self.check.failed:
            if not self.save_anyway_button.winfo_manager():
                self.save_anyway_button.pack(side="right", padx=(0, self.look.px(8)))
                self.root.after(150, self._probe)  # where it is, once drawn
        else:
            self.save_anyway_button.pack_forget()
        if self.step == "done":
            self.back_button.pack_forget()
            self.cancel_button.pack_forget()
            self.next_button.configure(text="Close")
        elif self.step == "queue":
            self.next_button.configure(text=self.queue.next_label)
        elif self.step == "check":
            if self.check.done:
                self.next_button.configure(text=self.check.next_label())
        else:
            self.next_button.configure(text="Next")
        self.next_button.state(["disabled"] if self.check.checking or self.queue.creator.busy else ["!disabled"])

    def next(self) -> None:
        if self.step == "account" and self.account.ready():
            self._show("queue")
        elif self.step == "queue":
            if self.queue.ready():
                self._show("folder")
        elif self.step == "folder":
            try:
                self.flow.set_folder(self.folder.get())
            except ValueError as exc:
                self.folder.show_error(str(exc))
            else:
                self.folder.show_error(None)
                self._show("check")
        elif self.step == "check" and self.check.done and self.check.failed:
            self._fix(self.check.fix_step)
        elif self.step == "check" and self.check.done:
            self._save()
        elif self.step == "done":
            self.root.destroy()
            return
        self._probe()

    def _fix(self, question: str | None) -> None:
        """After a failed check, Enter leads to the answer at fault (or runs the checks again when none applies)."""
        if question is None:
            self.check.run()
            return
        self._show("queue" if question == "bucket" else question)
        if question == "bucket":
            self.root.after_idle(self.queue.bucket.focus)

    def back(self) -> None:
        if self.step in ORDER[1:] and not self.check.checking:
            self._show(ORDER[ORDER.index(self.step) - 1])

    def cancel(self) -> None:
        self.account.cancel()
        if not self.saved:
            self.channel.send("setup_cancelled")
        self.root.destroy()

    def _enter(self, event: tk.Event[Any]) -> str | None:
        if isinstance(event.widget, (tk.Text, ttk.Button)):
            return None  # a focused button presses itself
        self.next()
        return "break"

    def _focused(self) -> str | None:
        """What has the keyboard focus, by the name a test knows it by: a field's key, or a button's text."""
        try:
            widget = self.root.focus_get()
        except (KeyError, tk.TclError):  # a dialog of Tk's own has it
            return None
        fields = (*self.account.key_fields, self.queue.queue, self.queue.bucket, self.queue.endpoint, self.folder)
        key = next((f.key for f in fields if f.input is widget), None)
        if key is None and isinstance(widget, ttk.Button):
            return str(widget.cget("text"))
        return key

    def _probe(self) -> None:
        account, queue, check = self.account.probe(), self.queue.probe(), self.check.probe()
        key_errors = {f.key: f.message.cget("text") for f in (*self.account.key_fields, self.folder) if f.message.cget("text")}
        write_probe(self.root, "setup", {
            **account, **queue, **check,
            "step": self.step,
            "errors": {**queue["errors"], **key_errors},
            "next": self.next_button.cget("text"),
            "saved": self.saved,
            "done": [self.done_mark.cget("text"), self.done_title.cget("text"), self.done_text.cget("text")],
            "rail": [str(mark.cget("text")) for mark, _ in self.rail_items.values()],
            "focus": self._focused(),
            "folder": self.folder.get(),
            "save_anyway": centre(self.save_anyway_button) if self.save_anyway_button.winfo_ismapped() else None,
        })
