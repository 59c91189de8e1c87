"""The Setup window's second step, "Which queue?": a queue URL or ARN (typed, pasted or found with ListQueues), the
bucket read from the queue's policy, and the endpoint; or a queue made for this computer (setup.creator)."""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk
from typing import Any

from agent import config as config_module
from agent.desktop.windows import forms, widgets
from agent.desktop.windows.setup.creator import QueueCreator
from agent.desktop.windows.setup.page import Host, heading
from agent.desktop.windows.widgets import button
from agent.errors import AgentError

HAVE_QUEUE, CREATE_QUEUE = "have", "create"
QUEUE_HEADINGS = {
    HAVE_QUEUE: "The SQS queue your bucket sends its upload notifications to. Paste its URL or ARN from the SQS console, "
                "or find it in your account.",
    CREATE_QUEUE: "A queue of this computer's own, wired to your bucket, made by the same steps as s3-sqs-agent connect. "
                  "You see the plan first; the bucket's other notifications are kept as they are.",
}
BUCKET_HINT = ("Optional: the bucket whose uploads you want. Filled in from the queue's policy when it names one; "
               "notifications for other buckets are then refused.")
ENDPOINT_HINT = "Only for an S3- and SQS-compatible server, such as LocalStack or moto."
SETTLE_MS = 400  # the queue and endpoint are looked up once typing pauses, not at every key


class QueuePage:
    """The two ways to a queue, the queue's fields, and the endpoint both ways share."""

    def __init__(self, host: Host, page: ttk.Frame) -> None:
        self.host, self.look = host, host.look
        look, flow = self.look, host.flow
        self.heading = heading(page, look, "Which queue?", QUEUE_HEADINGS[HAVE_QUEUE])
        self.way = tk.StringVar(page, value=HAVE_QUEUE)
        ways = ttk.Frame(page)
        ways.pack(fill="x", pady=(0, look.px(14)))
        for value, text in ((HAVE_QUEUE, "I have a queue URL"), (CREATE_QUEUE, "Create a queue for this computer")):
            ttk.Radiobutton(ways, text=text, value=value, variable=self.way).pack(side="left", padx=(0, look.px(28)))
        self.creator = QueueCreator(host, page, self._created)  # made before the URL's fields, so that Tab follows the page
        self.url_box = box = ttk.Frame(page)
        box.pack(fill="x")
        self.queue = forms.TextField(box, look, "sqs_queue_url", "Queue URL or ARN", width=60,
                                     placeholder="https://sqs.us-east-2.amazonaws.com/123456789012/audio-uploads")
        self.queue.pack(pady=(0, look.px(6)))
        self.queue.set(flow.queue_url or "")
        self.facts = ttk.Label(box, style="Small.TLabel")
        self.facts.pack(anchor="w", pady=(0, look.px(10)))
        self.actions = ttk.Frame(box)  # other ways to get a queue go here, beside "Find my queues"
        self.actions.pack(fill="x", pady=(0, look.px(10)))
        self.find_button = button(self.actions, "Find my queues", self._find_queues)
        self.find_button.pack(side="left")
        self.nearest_button = button(self.actions, "", self._use_nearest)  # "Use uploads", for a queue that does not exist
        self.nearest: str | None = None
        self.missing: str | None = None  # the queue URL that SQS says does not exist
        self.warned: str | None = None  # ... and that Next was refused for once
        self._settle_job: str | None = None
        self._filled: str | None = None  # the endpoint this page filled in from the queue URL
        self.found = widgets.Table(box, look, [("name", "Queue", 220, True), ("url", "URL", 360, True)],
                                   "Queues you may read appear here.")
        self.found.tree.configure(height=4, selectmode="browse")
        self.found.tree.bind("<<TreeviewSelect>>", lambda event: self._picked())
        self.found_message = ttk.Label(box, style="Muted.TLabel", wraplength=look.px(540), justify="left")
        self.found_message.pack(anchor="w")
        self.bucket = forms.TextField(box, look, "s3_bucket_name", "Bucket", BUCKET_HINT, width=32)
        self.bucket.pack(pady=(look.px(14), look.px(16)))
        self.bucket.set(flow.bucket or "")
        self.endpoint = forms.TextField(page, look, "endpoint_url", "Endpoint", ENDPOINT_HINT, width=40,
                                        placeholder=config_module.ENDPOINT_PLACEHOLDER)
        self.endpoint.pack()
        self.endpoint.set(flow.endpoint_url or "")
        self._endpoint_hint()
        self.queue.on_change(self._typed)
        self.bucket.on_change(self._bucket_typed)
        self.endpoint.on_change(self._endpoint_typed)
        self.creator.build_plan_area(page)
        self.way.trace_add("write", lambda *_: self._way_chosen())

    @property
    def creating(self) -> bool:
        return self.way.get() == CREATE_QUEUE

    def _way_chosen(self) -> None:
        """Show the fields of the way chosen: a queue URL, or a queue made for this computer."""
        self.heading.configure(text=QUEUE_HEADINGS[self.way.get()])
        if self.creating:
            self.url_box.pack_forget()
            self.creator.show(before=self.endpoint.frame)
        else:
            self.creator.hide()
            self.url_box.pack(fill="x", before=self.endpoint.frame)
        self.host.refresh()

    def focus(self) -> None:
        self.host.root.after_idle(self.creator.bucket.focus if self.creating else self.queue.focus)

    # ------------------------------------------------------------ the answers, as they are typed

    def _typed(self) -> None:
        self._take_queue(quiet_when_empty=True)
        if self._settle_job is not None:
            self.host.root.after_cancel(self._settle_job)
        self._settle_job = self.host.root.after(SETTLE_MS, self._settled)
        self.host.refresh()

    def _settled(self) -> None:
        """Typing paused: read the bucket from the queue's policy, and ask SQS whether the queue exists."""
        self._settle_job = None
        self._read_bucket()
        self._look_up_queue()

    def _take_queue(self, quiet_when_empty: bool = False) -> str | None:
        """Hand the queue field to the flow: its URL, or None with the reason shown on the field."""
        text = self.queue.get() or ""
        if not text and quiet_when_empty:
            self.queue.show_error(None)
            self.facts.configure(text="")
            return None
        try:
            url = self.host.flow.set_queue(text)
        except ValueError as exc:
            self.queue.show_error(str(exc))
            self.facts.configure(text="")
            self.nearest_button.pack_forget()
            return None
        self.queue.show_error(self._missing_message())
        if url != self.missing:
            self.nearest_button.pack_forget()
        region = config_module.region_from_queue_url(url)
        self.facts.configure(text=f"Region {region}, from the URL." if region else
                             ("A queue on your own endpoint." if self.host.flow.sqs_endpoint else ""))
        flow = self.host.flow
        if flow.endpoint_from_queue and self.endpoint.get() != flow.endpoint_url:  # the queue URL named the server
            self.endpoint.set(flow.endpoint_url or "")
            self._filled = flow.endpoint_url
        elif self._filled and not flow.endpoint_url and self.endpoint.get() == self._filled:
            self.endpoint.set("")  # that server went with the queue URL that named it
            self._filled = None
        self._endpoint_hint()
        return url

    def _bucket_typed(self) -> None:
        try:
            self.host.flow.set_bucket(self.bucket.get())
        except ValueError as exc:
            self.bucket.show_error(str(exc))
        else:
            self.bucket.show_error(None)
        self.host.refresh()

    def _endpoint_typed(self) -> None:
        self.host.flow.set_endpoint(self.endpoint.get())
        self.creator.forget_plan()
        self._typed()  # an ARN becomes a URL on the endpoint; the bucket is read again there

    def _endpoint_hint(self) -> None:
        flow = self.host.flow
        inherited = flow.inherited.get("endpoint_url")
        if flow.endpoint_from_queue:
            text = ("From the queue URL: SQS is on this server, and S3 is tried there too (the checks show whether it "
                    "answers). Change it if S3 is elsewhere.")
        elif inherited is not None and flow.endpoint_url == inherited.value:
            text = (f"From {inherited.variable}, in the environment setup was started from. It is saved with the settings, "
                    "so that the agent started at login uses it too.")
        else:
            text = ENDPOINT_HINT
        self.endpoint.hint.configure(text=text)

    def _look_up_queue(self) -> None:
        """A queue URL that SQS does not know: say so on the field, and offer the nearest name of the account's queues."""
        flow = self.host.flow
        lookup, url = flow.queue_lookup(), flow.queue_url
        if lookup is None or self.creating or url == self.missing:
            return

        def done(found: Any, error: BaseException | None) -> None:
            if url != flow.queue_url or error is not None or found is None:
                return
            self.missing = url if found.exists is False else None
            self.nearest = found.nearest if found.exists is False else None
            self.queue.show_error(self._missing_message())
            if self.nearest:
                from agent.aws import resources

                self.nearest_button.configure(text=f"Use {resources.queue_name(self.nearest)}")
                self.nearest_button.pack(side="left", padx=(self.look.px(8), 0))
            else:
                self.nearest_button.pack_forget()
            self.host.refresh()

        self.host.run_in_background(lookup, done)

    def _missing_message(self) -> str | None:
        from agent.aws import resources

        flow = self.host.flow
        if not self.missing or flow.queue_url != self.missing:
            return None
        where = f" in {flow.call_region}" if flow.call_region else ""
        return (f"There is no queue {resources.queue_name(self.missing)}{where} for these credentials."
                + (f" Did you mean {resources.queue_name(self.nearest)}?" if self.nearest else " Check the URL, or find your queues."))

    def _use_nearest(self) -> None:
        if self.nearest:
            self.queue.set(self.nearest)
            self.queue.focus()

    def _read_bucket(self) -> None:
        """The queue's policy may name the bucket (aws:SourceArn): read it, never a message."""
        lookup = self.host.flow.bucket_lookup()
        if lookup is None:
            return

        def done(bucket: Any, error: BaseException | None) -> None:
            if error is None and self.host.flow.bucket_read(lookup, bucket):
                self.bucket.set(self.host.flow.bucket or "")
                self.bucket.hint.configure(text="Filled in from the queue's policy. Optional: notifications for other "
                                                "buckets are refused." if bucket else BUCKET_HINT)
                self.host.refresh()

        self.host.run_in_background(lookup.run, done)

    # ------------------------------------------------------------ Find my queues

    def _find_queues(self) -> None:
        from agent.aws import resources

        flow = self.host.flow
        self.find_button.state(["disabled"])
        self.found_message.configure(text="Looking for queues…", style="Muted.TLabel")
        region = flow.call_region

        def done(urls: Any, error: BaseException | None) -> None:
            self.find_button.state(["!disabled"])
            if error is not None:
                self.found_message.configure(text=str(error) if isinstance(error, AgentError) else f"Could not list the queues: {error}",
                                             style="Error.TLabel")
                return
            flow.queues_found(urls)
            if not self.found.winfo_manager():
                self.found.pack(fill="x", before=self.found_message, pady=(0, self.look.px(6)))
            self.found.set_rows([(url, (resources.queue_name(url), url)) for url in urls])
            where = f" in {region}" if region else ""
            self.found_message.configure(text=f"{len(urls)} queue{'' if len(urls) == 1 else 's'}{where}. Choose one to use it."
                                         if urls else f"No queues{where} that these credentials can see. Paste the URL instead.",
                                         style="Muted.TLabel")
            self.host.refresh()

        self.host.run_in_background(flow.list_queues(), done)

    def _picked(self) -> None:
        chosen = self.found.selection()
        if chosen:
            self.queue.set(chosen[0])

    def _created(self, queue_url: str, bucket: str) -> None:
        """The creator made this computer's queue: it is the answer now, with its bucket."""
        self.queue.set(queue_url)
        self.bucket.set(bucket)

    # ------------------------------------------------------------ leaving the step

    def ready(self) -> bool:
        """Next on this step: True when the answers let the window go on to the folder (the creator may still be working)."""
        if self.creating:
            return self.creator.next()
        if self._take_queue() is None:
            self.queue.focus()
            return False
        if self.missing and self.host.flow.queue_url == self.missing and self.warned != self.missing:
            self.warned = self.missing  # said once: Next again goes on, and the checks show the queue as it is
            if self.nearest:
                self.nearest_button.focus_set()
            else:
                self.queue.focus()
            return False
        if self.bucket.message.cget("text"):
            self.bucket.focus()
            return False
        return True

    @property
    def next_label(self) -> str:
        return self.creator.next_label if self.creating else "Next"

    @property
    def busy(self) -> bool:
        return self.creating and self.creator.busy

    def probe(self) -> dict[str, Any]:
        fields = (self.queue, self.bucket, self.endpoint)
        return {
            "errors": {f.key: f.message.cget("text") for f in fields if f.message.cget("text")},
            "queues": [values[1] for values in self.found.values()],
            "queue": self.queue.get(),
            "bucket": self.bucket.get(),
            "queue_way": self.way.get(),
            "create": self.creator.probe(),
            "endpoint": self.endpoint.get(),
            "endpoint_hint": self.endpoint.hint.cget("text"),
            "bucket_hint": self.bucket.hint.cget("text"),
            "nearest": self.nearest_button.cget("text") if self.nearest_button.winfo_manager() else None,
        }
