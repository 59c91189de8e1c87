"""The Setup window's "Create a queue for this computer": the same plan as `s3-sqs-agent connect`, shown, then applied.

The plan is made and carried out off the Tk thread by agent.aws.connect; the config keys it would write join the
setup's answers (SetupFlow.extra), saved with the others at the last step. It sees the window only as a page.Host.
"""

from __future__ import annotations

import re
import tkinter as tk
from collections.abc import Callable
from tkinter import ttk
from typing import TYPE_CHECKING, Any

from agent.desktop.windows import forms, theme
from agent.desktop.windows.setup.page import Host

if TYPE_CHECKING:
    from agent.aws.connect import Applied, Plan

MODES = (("own-copy", "A copy of every file", "This computer gets its own queue; other computers can have theirs."),
         ("share", "A share of the work", "One queue for every computer that chooses this; each file lands on one of them."))
PLAN_WIDTH = 76  # characters, until the text box knows its width: the plan's lines wrap to it


class QueueCreator:
    """Bucket, mode and filters; then the plan (Enter: "Show the plan"), then Create, then the Setup window goes on."""

    def __init__(self, host: Host, page: ttk.Frame, on_created: Callable[[str, str], None]) -> None:
        """`on_created(queue_url, bucket)`: the queue exists now, and is the setup's answer."""
        self.host, self.look, self.on_created = host, host.look, on_created
        look = self.look
        self.plan: Plan | None = None
        self.created: Applied | None = None
        self.busy = False
        self.box = ttk.Frame(page)
        self.bucket = forms.TextField(self.box, look, "bucket", "Bucket", "The bucket your files are uploaded to.", width=32,
                                      placeholder="studio-takes")
        self.bucket.pack()
        self.bucket.set(host.flow.bucket or "")
        ttk.Label(self.box, text="This computer gets", style="Bold.TLabel").pack(anchor="w", pady=(0, look.px(4)))
        self.mode = tk.StringVar(self.box, value="own-copy")
        for value, title, detail in MODES:
            ttk.Radiobutton(self.box, text=title, value=value, variable=self.mode).pack(anchor="w")
            ttk.Label(self.box, text=detail, style="Small.TLabel").pack(anchor="w", padx=(look.px(24), 0), pady=(0, look.px(6)))
        self.prefix = forms.TextField(self.box, look, "prefix", "Only keys starting with", "Optional, such as takes/.", width=32)
        self.prefix.pack(pady=(look.px(10), look.px(16)))
        self.suffixes = forms.TextField(self.box, look, "suffixes", "Only names ending with",
                                        "Optional: one or more, such as .wav .flac.", width=32)
        self.suffixes.pack()
        self.eventbridge = forms.CheckField(self.box, look, "via", "Through EventBridge instead of an SNS topic",
                                            "For a bucket whose events already go straight to another queue or a function.")
        self.eventbridge.pack()
        for field in (self.bucket, self.prefix, self.suffixes, self.eventbridge):
            field.on_change(self.forget_plan)
        self.mode.trace_add("write", lambda *_: self.forget_plan())

    def build_plan_area(self, page: ttk.Frame) -> None:
        """The plan and what became of it, below the endpoint (made after it, for the Tab order)."""
        look = self.look
        self.plan_box = ttk.Frame(page)
        self.plan_text = tk.Text(self.plan_box, height=12, width=48, font=look.mono, relief="flat", wrap="none",
                                 background=theme.STRIPE, foreground=theme.TEXT, padx=look.px(10), pady=look.px(8), borderwidth=0,
                                 highlightthickness=1, highlightbackground=theme.BORDER, takefocus=0)
        self.plan_text.pack(fill="x")
        self.status = ttk.Label(page, style="Muted.TLabel", wraplength=look.px(540), justify="left")

    # ------------------------------------------------------------ showing

    def show(self, before: tk.Misc) -> None:
        self.box.pack(fill="x", before=before)
        self.status.pack(anchor="w", pady=(self.look.px(8), 0))
        if self.plan is not None:
            self.plan_box.pack(fill="x", before=self.status, pady=(self.look.px(4), 0))
        self.host.root.after_idle(self.bucket.focus)

    def hide(self) -> None:
        for widget in (self.box, self.plan_box, self.status):
            widget.pack_forget()

    def forget_plan(self) -> None:
        """An answer changed: the plan shown no longer holds (what was created stays created, and is found again)."""
        if self.busy:
            return
        self.plan, self.created = None, None
        self.plan_box.pack_forget()
        self.status.configure(text="", style="Muted.TLabel")
        self.host.flow.extra = {}
        self.host.refresh()

    @property
    def next_label(self) -> str:
        if self.created is not None:
            return "Next"
        return "Create" if self.plan is not None and self.plan.ready else "Show the plan"

    # ------------------------------------------------------------ the plan, then Create

    def next(self) -> bool:
        """Enter or Next on this path: True when the Setup window may go on to the folder."""
        if self.busy:
            return False
        if self.created is not None:
            return True
        if self.plan is None or not self.plan.ready:
            self._make_plan()
        else:
            self._apply()
        return False

    def _request(self) -> Any:
        from agent.aws.connect import ConnectRequest

        return ConnectRequest(bucket=self.bucket.get() or "", prefix=self.prefix.get() or "",
                              suffixes=tuple(s for s in re.split(r"[\s,]+", self.suffixes.get() or "") if s),
                              mode=self.mode.get(), via="eventbridge" if self.eventbridge.get() else "sns",
                              endpoint_url=self.host.flow.endpoint_url, config_path=self.host.flow.path)

    def _make_plan(self) -> None:
        from agent.aws import connect

        if not self.bucket.get():
            self.bucket.show_error("Name the bucket your files are uploaded to.")
            self.bucket.focus()
            self.host.refresh()
            return
        self.bucket.show_error(None)
        request, session = self._request(), self.host.flow.session_maker()
        self._working("Reading what exists in AWS…")
        self.host.run_in_background(lambda: connect.plan_connect(request, session()), self._planned)

    def _planned(self, plan: Any, error: BaseException | None) -> None:
        self.busy = False
        if error is not None:
            self._say(str(error), error=True)
            return
        self.plan = plan
        self.plan_box.pack(fill="x", before=self.status, pady=(self.look.px(4), 0))
        self.plan_text.update_idletasks()
        room = self.plan_text.winfo_width() - 2 * self.look.px(12)
        text = plan.text(max(48, room // max(1, self.look.mono.measure("0"))) if room > 0 else PLAN_WIDTH)
        self.plan_text.configure(state="normal")
        self.plan_text.delete("1.0", "end")
        self.plan_text.insert("1.0", text)
        self.plan_text.configure(state="disabled", height=min(18, text.count("\n") + 1))
        if plan.problems:
            self._say("This cannot be done as it stands: the plan above says why and what to do. Nothing was changed.", error=True)
        elif plan.changes:
            self._say("Nothing is changed until you choose Create.")
        else:
            self._say("This computer is connected already: choose Create to use its queue.")

    def _apply(self) -> None:
        from agent.aws import connect

        plan, session = self.plan, self.host.flow.session_maker()
        assert plan is not None

        def progress(step: Any) -> None:
            self.host.post(lambda: self._say(f"Done: {step.what} {step.name}"))  # from the worker

        self._working("Creating…")
        self.host.run_in_background(lambda: connect.apply(plan, session(), on_step=progress, write_config=False), self._applied)

    def _applied(self, applied: Any, error: BaseException | None) -> None:
        if error is not None:
            self.busy, self.plan = False, None  # a second try plans again, and carries on from what is done
            self._say(f"{error} What is done stays done: once this is fixed, choose Show the plan again to carry on.", error=True)
            return
        self.created = applied
        self.on_created(applied.queue_url, self.bucket.get() or "")  # still busy until said, so no Next meanwhile
        self.host.flow.extra = self.config_changes()
        self.busy = False
        self._say(f"Created. This computer downloads from {applied.queue_url}. Next, choose the download folder.")

    def config_changes(self) -> dict[str, Any]:
        """What connect would have written beside the Setup window's own answers: the dead-letter queue and filters."""
        if self.created is None:
            return {}
        return {k: v for k, v in self.created.config_changes.items() if k in ("dead_letter_queue_url", "include") and v}

    # ------------------------------------------------------------ telling

    def _working(self, text: str) -> None:
        self.busy = True
        self._say(text)

    def _say(self, text: str, error: bool = False) -> None:
        self.status.configure(text=text, style="Error.TLabel" if error else "Muted.TLabel")
        if self.status.winfo_manager():
            self.host.body.scroll_into_view(self.status)  # the plan's end and what became of it, in view
        self.host.refresh()

    def probe(self) -> dict[str, Any]:
        return {"plan": self.plan.text() if self.plan else "", "ready": bool(self.plan and self.plan.ready), "busy": self.busy,
                "status": self.status.cget("text"), "created": self.created.queue_url if self.created else None,
                "bucket_error": self.bucket.message.cget("text")}

