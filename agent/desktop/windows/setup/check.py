"""The Setup window's last step, "Checking the setup": the doctor's checks on the config the answers make, each with its
fix and, for a missing permission, the IAM statement to copy."""

from __future__ import annotations

import json
import tkinter as tk
from tkinter import ttk
from typing import Any

from agent.desktop.windows import theme, widgets
from agent.desktop.windows.setup.page import Host, centre, heading
from agent.desktop.windows.widgets import button
from agent.errors import ConfigError
from agent.setup_flow import LABELS, failed_step

MARKS = {True: ("✓", "Ok"), False: ("✕", "Bad"), None: ("–", "Info")}
FIX_BUTTONS = {"account": "Change the account", "queue": "Change the queue", "bucket": "Change the bucket",
               "folder": "Change the folder"}
"""The default button after a failed check: it leads back to the answer at fault (Enter never saves a failure)."""
PLACES = {"aws_profile": "the Account step", "sqs_queue_url": "the Queue step's Queue URL", "s3_bucket_name":
          "the Queue step's Bucket field", "endpoint_url": "the Queue step's Endpoint field", "download_folder": "the Folder step"}
"""Where this window asks for a setting, for the checks' fixes: nothing is saved yet, so Settings is not where to go."""


class CheckPage:
    """The checks as they come in, and a summary that says what to do next."""

    def __init__(self, host: Host, page: ttk.Frame) -> None:
        self.host, self.look = host, host.look
        look = self.look
        self.checks: list[Any] = []
        self.rows: list[ttk.Frame] = []
        self.copy_buttons: list[ttk.Button] = []
        self.checking = False
        self.copied: str | None = None
        heading(page, look, "Checking the setup", "The same checks as s3-sqs-agent doctor. Nothing is changed in your queue or "
                "bucket, and no message is received while the queue holds any.")
        self.list = ttk.Frame(page, style="Card.TFrame", padding=(look.px(4), look.px(4)))
        self.list.pack(fill="x")
        self.summary = ttk.Label(page, style="Muted.TLabel", wraplength=look.px(540), justify="left")
        self.summary.pack(anchor="w", pady=(look.px(12), 0))
        self.again_button = button(page, "Check again", self.run)
        self.again_button.pack(anchor="w", pady=(look.px(10), 0))

    @property
    def failed(self) -> list[Any]:
        return [c for c in self.checks if c.passed is False]

    @property
    def done(self) -> bool:
        return bool(self.checks) and not self.checking

    @property
    def fix_step(self) -> str | None:
        """The question a failed check points back to (None: none failed, or none applies, as for the clock)."""
        return failed_step(self.checks) if self.done else None

    def next_label(self) -> str:
        if not self.failed:
            return "Save and start"
        step = self.fix_step
        return FIX_BUTTONS[step] if step else "Check again"

    def from_environment(self) -> str:
        """What the config takes from the environment setup was started from, for the agent at login: in words."""
        flow = self.host.flow
        kept = [f"{LABELS[s.key]} {s.value} (from {s.variable})" for s in flow.from_environment()]
        if flow.key_profile:
            kept.append(f"its access key, as profile {flow.key_profile} in your AWS credentials file")
        if not kept:
            return ""
        return ("Saved from the environment setup was started from, so that the agent started at login has it too: "
                + "; ".join(kept) + ".")

    def say(self, text: str, error: bool = False) -> None:
        self.summary.configure(text=text, style="Error.TLabel" if error else "Muted.TLabel")

    def run(self) -> None:
        from agent.aws import doctor

        for child in self.list.winfo_children():
            child.destroy()
        self.checks, self.rows, self.copy_buttons = [], [], []
        try:
            config = self.host.flow.check_config()
        except ConfigError as error:
            self.say(f"These answers do not make a valid config: {error.problems[0].message}. Go back and change them.", error=True)
            self.host.refresh()
            return
        self.checking = True
        self.again_button.state(["disabled"])
        self.say("Checking…")
        self.host.refresh()

        def report(check: Any) -> None:  # on the worker: the row is added on the Tk thread
            self.host.post(lambda: self._add(check))

        def done(checks: Any, error: BaseException | None) -> None:
            self.checking = False
            self.again_button.state(["!disabled"])
            if error is not None:
                self.say(f"The checks could not run: {error}", error=True)
            else:
                failed = self.failed
                kept = self.from_environment()
                if failed:
                    step = self.fix_step
                    self.say(f"{len(failed)} check{'s' if len(failed) > 1 else ''} failed. "
                             + (f"Enter ({FIX_BUTTONS[step]}) goes back to the answer at fault; the checks run again after it. "
                                if step else "Enter checks again. ")
                             + "Or choose Save anyway to keep these answers: the agent then waits, losing nothing, until it is "
                             "fixed." + (f" {kept}" if kept else ""), error=True)
                    self.host.body.scroll_into_view(self.rows[self.checks.index(failed[0])])  # the first failure and its fix
                else:
                    self.say("Everything is ready. Save to start downloading." + (f" {kept}" if kept else ""))
            self.host.refresh()

        self.host.run_in_background(lambda: doctor.run_checks(config, on_result=report), done)

    def _add(self, check: Any) -> None:
        look = self.look
        if self.checks:
            widgets.line(self.list).pack(fill="x", padx=look.px(10))
        self.checks.append(check)
        row = ttk.Frame(self.list, style="Surface.TFrame", padding=(look.px(12), look.px(8)))
        row.pack(fill="x")
        self.rows.append(row)
        symbol, kind = MARKS[check.passed]
        ttk.Label(row, text=symbol, style=f"{kind}.Mark.TLabel", width=2).grid(row=0, column=0, sticky="nw")
        ttk.Label(row, text=check.name, style="Surface.Bold.TLabel").grid(row=0, column=1, sticky="w")
        detail, fix = check.in_window(PLACES)
        ttk.Label(row, text=widgets.in_home_words(detail), style="Surface.Small.TLabel", wraplength=look.px(500), justify="left").grid(
            row=1, column=1, sticky="w")
        if check.fix and check.passed is False:
            ttk.Label(row, text=widgets.in_home_words(fix), style="Surface.TLabel", wraplength=look.px(500), justify="left").grid(
                row=2, column=1, sticky="w", pady=(look.px(4), 0))
        if check.policy:
            self._add_policy(row, json.dumps(check.policy, indent=2))
        row.columnconfigure(1, weight=1)
        self.host.refresh()

    def _add_policy(self, row: ttk.Frame, text: str) -> None:
        look = self.look
        policy = tk.Text(row, height=min(10, text.count("\n") + 1), width=60, font=look.mono, relief="flat",
                         background=theme.STRIPE, foreground=theme.TEXT, padx=look.px(8), pady=look.px(6), borderwidth=0,
                         highlightthickness=1, highlightbackground=theme.BORDER, wrap="none")
        policy.insert("1.0", text)
        policy.configure(state="disabled")
        policy.grid(row=3, column=1, sticky="ew", pady=(look.px(6), 0))
        copy = button(row, "Copy policy", lambda: self._copy_policy(text, copy), style="Small.TButton")
        self.copy_buttons.append(copy)
        copy.grid(row=4, column=1, sticky="w", pady=(look.px(6), 0))
        ttk.Label(row, text="Send it to your AWS administrator.", style="Surface.Small.TLabel").grid(row=5, column=1, sticky="w")

    def _copy_policy(self, text: str, copy: ttk.Button) -> None:
        widgets.copy_to_clipboard(self.host.root, text)
        copy.configure(text="Copied")
        self.host.root.after(2000, lambda: copy.configure(text="Copy policy"))
        self.copied = text
        self.host.refresh()

    def probe(self) -> dict[str, Any]:
        return {
            "checking": self.checking,
            "checks": [{"name": c.name, "passed": c.passed, **dict(zip(("detail", "fix"), c.in_window(PLACES), strict=True)),
                        "policy": c.policy} for c in self.checks],
            "summary": self.summary.cget("text"),
            "copied": self.copied,
            "copy_buttons": [centre(b) for b in self.copy_buttons if b.winfo_ismapped()],
        }
