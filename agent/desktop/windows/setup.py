"""The Setup window: from a first start to the first downloaded file in four short steps, without a YAML file.

1 Account (a profile, the environment's credentials, or a new access key; SSO sign-in), 2 Queue (a URL or ARN, or
one found with ListQueues; the bucket learnt from the queue's policy), 3 Download folder, 4 Check (the doctor's
checks, each with its fix and, for a missing permission, the IAM statement to copy), then Save: config.yaml through
update_file (comments kept), which the tray's watcher applies at once.
"""

from __future__ import annotations

import functools
import json
import threading
import tkinter as tk
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from tkinter import ttk
from typing import Any

import yaml

from agent import config as config_module
from agent.api import APP_NAME, APP_TITLE
from agent.desktop.windows import forms, theme, widgets
from agent.desktop.windows.background import Background
from agent.desktop.windows.child import Channel, write_probe
from agent.desktop.windows.queue_creator import QueueCreator
from agent.desktop.windows.theme import Theme
from agent.desktop.windows.widgets import button
from agent.errors import AgentError, ConfigError

STEPS = (("account", "Account"), ("queue", "Queue"), ("folder", "Folder"), ("check", "Check"))
DEFAULT_FOLDER = "~/S3 Downloads"
DEFAULT_KEY_PROFILE = APP_NAME
AMBIENT, ADD_KEY = "<ambient>", "<add-key>"
HAVE_QUEUE, CREATE_QUEUE = "have", "create"
QUEUE_HEADINGS = {
    HAVE_QUEUE: "The SQS queue your bucket sends its upload notifications to. Paste its URL or ARN from the SQS console, "
                "or find it in your account.",
    CREATE_QUEUE: "A queue of this computer's own, wired to your bucket, made by the same steps as s3-sqs-agent connect. "
                  "You see the plan first; the bucket's other notifications are kept as they are.",
}
MARKS = {True: ("✓", "Ok"), False: ("✕", "Bad"), None: ("–", "Info")}


@dataclass
class Choice:
    """One answer to "which AWS account": a profile name, AMBIENT or ADD_KEY."""

    value: str
    title: str
    detail: str
    sso: bool = False
    signed_in: bool = True
    region: str | None = None
    expires: Any = None  # SSO: when the sign-in ends


class SetupWindow:
    def __init__(self, root: tk.Tk, look: Theme, channel: Channel, config_path: Path) -> None:
        self.root, self.look, self.channel, self.path = root, look, channel, config_path
        self.background = Background(root)
        self.current = self._current()
        self.step = "account"
        self.choices: list[Choice] = []
        self.account = tk.StringVar(root)
        self.checks: list[Any] = []
        self.copy_buttons: list[ttk.Button] = []
        self.checking = False
        self.saved = False
        self._sign_in_cancel: threading.Event | None = None
        self._bucket_learnt_for = ""
        px = look.px
        root.title(f"Set up {APP_TITLE}")
        widgets.place_window(root, px(860), px(620))

        shell = ttk.Frame(root)
        shell.pack(fill="both", expand=True)
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

        self.pages: dict[str, ttk.Frame] = {}
        for step in (*(s for s, _ in STEPS), "done"):
            self.pages[step] = ttk.Frame(self.body.inner, padding=(px(32), px(26), px(32), px(12)))
        self._build_account()
        self._build_queue()
        self._build_folder()
        self._build_check()
        self._build_done()

        root.bind("<Return>", self._enter)
        root.bind("<KP_Enter>", self._enter)
        root.bind("<Escape>", lambda event: self.cancel())
        root.bind("<Alt-Left>", lambda event: self.back())
        root.bind("<Alt-Right>", lambda event: self.next())
        root.protocol("WM_DELETE_WINDOW", self.cancel)
        self._show("account")
        self._load_accounts()

    def run_in_background(self, work: Callable[[], Any], done: Callable[[Any, BaseException | None], None]) -> None:
        """`work` runs on a worker thread and must not touch Tk; `done(result, error)` runs on the Tk thread."""
        self.background.run(work, done)

    # ------------------------------------------------------------ what is there already

    def _current(self) -> dict[str, Any]:
        """The keys the file sets now: a setup run again starts from them."""
        try:
            data = yaml.safe_load(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            return {}
        return {k: v for k, v in data.items() if v not in (None, "")} if isinstance(data, dict) else {}

    def _heading(self, page: ttk.Frame, title: str, text: str) -> ttk.Label:
        ttk.Label(page, text=title, style="Title.TLabel").pack(anchor="w")
        label = ttk.Label(page, text=text, style="Muted.TLabel", wraplength=self.look.px(540), justify="left")
        label.pack(anchor="w", pady=(self.look.px(6), self.look.px(20)))
        return label

    # ------------------------------------------------------------ 1. account

    def _build_account(self) -> None:
        page, look = self.pages["account"], self.look
        self._heading(page, "Which AWS account?", f"{APP_TITLE} reads your queue and bucket with these credentials. They stay "
                      "in your AWS files (as the AWS CLI keeps them), never in the agent's own settings.")
        self.account_card = ttk.Frame(page, style="Card.TFrame", padding=(look.px(4), look.px(4)))
        self.account_card.pack(fill="x")
        ttk.Label(self.account_card, text="Looking for AWS profiles…", style="Surface.Muted.TLabel",
                  padding=(look.px(14), look.px(12))).pack(anchor="w")  # until _draw_accounts replaces it
        self.account_message = ttk.Label(page, style="Error.TLabel", wraplength=look.px(540), justify="left")
        self.account_message.pack(anchor="w", pady=(look.px(6), 0))

        self.sign_in_box = ttk.Frame(page, style="Info.Banner.TFrame", padding=(look.px(16), look.px(12)))
        self.sign_in_text = ttk.Label(self.sign_in_box, style="Info.Banner.TLabel", wraplength=look.px(420), justify="left")
        self.sign_in_text.pack(side="left", fill="x", expand=True)
        self.sign_in_button = button(self.sign_in_box, "Sign in…", self._sign_in)
        self.sign_in_button.pack(side="right")

        self.key_box = ttk.Frame(page)
        self.key_name = forms.TextField(self.key_box, look, "profile", "Profile name", "The name it gets in your AWS credentials "
                                        "file; other AWS tools can use it too.", width=30)
        self.key_id = forms.TextField(self.key_box, look, "access_key_id", "Access key ID", width=30,
                                      placeholder="AKIAIOSFODNN7EXAMPLE")
        self.key_secret = forms.TextField(self.key_box, look, "secret_access_key", "Secret access key", width=48)
        self.key_secret.entry.configure(show="•")
        self.key_region = forms.TextField(self.key_box, look, "region", "Region", "Optional: where your queue is, such as "
                                          "us-east-2.", width=20)
        for field in (self.key_name, self.key_id, self.key_secret, self.key_region):
            field.pack()
        self.key_name.set(DEFAULT_KEY_PROFILE)
        self.account.trace_add("write", lambda *_: self._account_chosen())

    def _load_accounts(self) -> None:
        def find() -> tuple[list[Choice], str | None, str]:
            from agent.aws import profiles

            problem = ""
            try:
                found = profiles.list_profiles()
            except AgentError as exc:
                found, problem = [], str(exc)
            choices = [Choice(p.name, p.name, _describe_profile(p), p.kind == "sso", p.signed_in or p.sso_refreshable, p.region,
                              p.sso_expires_at) for p in found]
            return choices, profiles.ambient_credentials(), problem

        self.run_in_background(find, self._show_accounts)

    def _show_accounts(self, result: Any, error: BaseException | None) -> None:
        choices, ambient, problem = result if result else ([], None, str(error))
        if ambient:
            choices.append(Choice(AMBIENT, f"Use the {ambient}", "No profile: the credentials this computer already has."))
        choices.append(Choice(ADD_KEY, "Add an access key", "From the AWS console (IAM → Security credentials); it becomes a "
                              "new profile in your AWS credentials file."))
        self.choices = choices
        self._draw_accounts()
        if problem:
            self.account_message.configure(text=problem)
        wanted = self.current.get("aws_profile")
        default = next((c.value for c in choices if c.value == wanted), None) or next(
            (c.value for c in choices if c.value not in (AMBIENT, ADD_KEY) and c.signed_in), None) or (
            AMBIENT if ambient else choices[0].value)
        self.account.set(default)
        index = next(i for i, c in enumerate(choices) if c.value == default)
        self.account_radios[index].focus_set()
        self._account_chosen()

    def _draw_accounts(self) -> None:
        """One row per choice in self.choices (the account list, drawn again when a new access key joins it)."""
        for child in self.account_card.winfo_children():
            child.destroy()
        self.account_radios: list[ttk.Radiobutton] = []
        self.account_details: list[ttk.Label] = []
        for index, choice in enumerate(self.choices):
            if index:
                widgets.line(self.account_card).pack(fill="x", padx=self.look.px(10))
            row = ttk.Frame(self.account_card, style="Surface.TFrame", padding=(self.look.px(12), self.look.px(9)))
            row.pack(fill="x")
            radio = ttk.Radiobutton(row, text=choice.title, value=choice.value, variable=self.account, style="Surface.TRadiobutton")
            radio.pack(anchor="w")
            radio.bind("<Down>", functools.partial(self._move_account_by_key, index + 1))
            radio.bind("<Up>", functools.partial(self._move_account_by_key, index - 1))
            self.account_radios.append(radio)
            detail = ttk.Label(row, text=choice.detail, style="Surface.Small.TLabel", wraplength=self.look.px(500), justify="left")
            detail.pack(anchor="w", padx=(self.look.px(24), 0))
            self.account_details.append(detail)

    def _move_account_by_key(self, index: int, event: tk.Event[Any]) -> str:
        return self._move_account(index)

    def _move_account(self, index: int) -> str:
        if 0 <= index < len(self.account_radios):
            self.account.set(self.choices[index].value)
            self.account_radios[index].focus_set()
        return "break"

    def _chosen(self) -> Choice | None:
        return next((c for c in self.choices if c.value == self.account.get()), None)

    def _account_chosen(self) -> None:
        choice = self._chosen()
        self.account_message.configure(text="")
        self.creator.forget_plan()  # a plan made with other credentials may not hold
        if choice is not None and choice.value == ADD_KEY:
            self.key_box.pack(fill="x", pady=(self.look.px(18), 0))
        else:
            self.key_box.pack_forget()
        if choice is not None and choice.sso:
            self.sign_in_box.pack(fill="x", pady=(self.look.px(14), 0), before=self.account_message)
            if choice.signed_in:
                until = f" until {choice.expires.astimezone():%H:%M on %d %b}" if choice.expires else ""
                self.sign_in_text.configure(text=f"Signed in to IAM Identity Center{until}.")
                self.sign_in_button.configure(text="Sign in again…")
            else:
                self.sign_in_text.configure(text="This profile signs in with IAM Identity Center (SSO). Sign in in your browser; "
                                                 "the sign-in is kept where the AWS CLI keeps it.")
                self.sign_in_button.configure(text="Sign in…")
        else:
            self.sign_in_box.pack_forget()
        self._probe()

    def _sign_in(self) -> None:
        choice = self._chosen()
        if choice is None or not choice.sso:
            return
        from agent.aws import sso

        self.sign_in_button.state(["disabled"])
        self.sign_in_text.configure(text="Opening your browser…")
        cancel = self._sign_in_cancel = threading.Event()

        def work() -> Any:
            signer = sso.DeviceSignIn(choice.value)
            authorization = signer.start()
            self.background.post(lambda: self.sign_in_text.configure(
                text=f"In the browser, check that the code is {authorization.user_code} and choose Allow. If no browser "
                     f"opened, go to {authorization.verification_uri} and type the code."))
            return signer.wait(cancel)

        def done(expiry: Any, error: BaseException | None) -> None:
            self.sign_in_button.state(["!disabled"])
            if error is not None:
                self.sign_in_text.configure(text=str(error))
                return
            choice.signed_in, choice.expires = True, expiry
            choice.detail = " · ".join(["IAM Identity Center (SSO)", *([choice.region] if choice.region else []),
                                        f"signed in until {expiry.astimezone():%H:%M on %d %b}"])
            self.account_details[self.choices.index(choice)].configure(text=choice.detail)
            self._account_chosen()
            self.next_button.focus_set()  # Enter goes on from here

        self.run_in_background(work, done)

    def _account_ready(self) -> bool:
        """Leave step 1 only with an account that can be used: a new access key is added to the credentials file here."""
        choice = self._chosen()
        if choice is None:
            self.account_message.configure(text="Choose an account, or add an access key.")
            return False
        if choice.sso and not choice.signed_in:
            self.account_message.configure(text="Sign in first (the button above), or choose another account.")
            return False
        if choice.value != ADD_KEY:
            return True
        from agent.aws import profiles

        fields = (self.key_name, self.key_id, self.key_secret, self.key_region)
        for field in fields:
            field.show_error(None)
        try:
            added = profiles.add_access_key_profile(self.key_name.get() or "", self.key_id.get() or "", self.key_secret.get() or "",
                                                    self.key_region.get())
        except ValueError as exc:
            text = str(exc)
            field = (self.key_id if "access key ID" in text else self.key_secret if "secret" in text else
                     self.key_region if "region" in text else self.key_name)
            field.show_error(text[:1].upper() + text[1:])
            field.focus()
            return False
        except AgentError as exc:
            self.account_message.configure(text=str(exc))
            return False
        new = Choice(added.name, added.name, f"An access key · added to {profiles.credentials_file()}", region=added.region)
        self.choices.insert(len(self.choices) - 1, new)
        self._draw_accounts()  # Back shows it with the others, and selects it
        self.account.set(added.name)
        return True

    # ------------------------------------------------------------ 2. queue

    def _build_queue(self) -> None:
        page, look = self.pages["queue"], self.look
        self.queue_heading = self._heading(page, "Which queue?", QUEUE_HEADINGS[HAVE_QUEUE])
        self.queue_way = tk.StringVar(page, value=HAVE_QUEUE)
        ways = ttk.Frame(page)
        ways.pack(fill="x", pady=(0, look.px(14)))
        for value, text in ((HAVE_QUEUE, "I have a queue URL"), (CREATE_QUEUE, "Create a queue for this computer")):
            ttk.Radiobutton(ways, text=text, value=value, variable=self.queue_way).pack(side="left", padx=(0, look.px(28)))
        self.creator = QueueCreator(self, page)  # made before the URL's fields, so that Tab follows the page
        self.url_box = box = ttk.Frame(page)
        box.pack(fill="x")
        self.queue = forms.TextField(box, look, "sqs_queue_url", "Queue URL or ARN", width=60,
                                     placeholder="https://sqs.us-east-2.amazonaws.com/123456789012/audio-uploads")
        self.queue.pack(pady=(0, look.px(6)))
        self.queue.set(self.current.get("sqs_queue_url", ""))
        self.queue_facts = ttk.Label(box, style="Small.TLabel")
        self.queue_facts.pack(anchor="w", pady=(0, look.px(10)))
        self.queue_actions = ttk.Frame(box)  # other ways to get a queue go here, beside "Find my queues"
        self.queue_actions.pack(fill="x", pady=(0, look.px(10)))
        self.find_button = button(self.queue_actions, "Find my queues", self._find_queues)
        self.find_button.pack(side="left")
        self.found = widgets.Table(box, look, [("name", "Queue", 220, True), ("url", "URL", 360, True)],
                                   "Queues you may read appear here.")
        self.found.tree.configure(height=4, selectmode="browse")
        self.found.tree.bind("<<TreeviewSelect>>", lambda event: self._queue_picked())
        self.found_message = ttk.Label(box, style="Muted.TLabel", wraplength=look.px(540), justify="left")
        self.found_message.pack(anchor="w")
        self.bucket = forms.TextField(box, look, "s3_bucket_name", "Bucket", "Optional: the bucket whose uploads you want. "
                                      "Filled in from the queue's policy when it names one; notifications for other buckets "
                                      "are then refused.", width=32)
        self.bucket.pack(pady=(look.px(14), look.px(16)))
        self.bucket.set(self.current.get("s3_bucket_name", ""))
        self.endpoint = forms.TextField(page, look, "endpoint_url", "Endpoint", "Only for an S3- and SQS-compatible server "
                                        "(LocalStack, moto). Leave it empty for AWS.", width=40, placeholder="AWS")
        self.endpoint.pack()
        self.endpoint.set(self.current.get("endpoint_url", ""))
        self.queue.on_change(self._queue_typed)
        self.endpoint.on_change(self._queue_typed)
        self.endpoint.on_change(self.creator.forget_plan)
        self.creator.build_plan_area(page)
        self.queue_way.trace_add("write", lambda *_: self._queue_way_chosen())

    def _queue_way_chosen(self) -> None:
        """Show the fields of the way chosen: a queue URL, or a queue made for this computer."""
        creating = self.queue_way.get() == CREATE_QUEUE
        self.queue_heading.configure(text=QUEUE_HEADINGS[self.queue_way.get()])
        if creating:
            self.url_box.pack_forget()
            self.creator.show(before=self.endpoint.frame)
        else:
            self.creator.hide()
            self.url_box.pack(fill="x", before=self.endpoint.frame)
        self._update_buttons()
        self._probe()

    def _queue_url(self) -> str | None:
        """The queue URL typed or pasted (an ARN becomes a URL); None, with the reason on the field, when it is not one."""
        from agent.aws import resources

        try:
            url = resources.queue_url_from(self.queue.get() or "", self.endpoint.get())
        except ValueError as exc:
            self.queue.show_error(str(exc))
            return None
        self.queue.show_error(None)
        return url

    def _queue_typed(self) -> None:
        self._check_queue()
        self._probe()

    def _check_queue(self) -> None:
        text = self.queue.get()
        if not text:
            self.queue.show_error(None)
            self.queue_facts.configure(text="")
            return
        url = self._queue_url()
        if url is None:
            self.queue_facts.configure(text="")
            return
        region = config_module.region_from_queue_url(url)
        self.queue_facts.configure(text=f"Region {region}, from the URL." if region else
                                   ("A queue on your own endpoint." if self.endpoint.get() else ""))
        if url != self._bucket_learnt_for and not self.bucket.get():
            self._bucket_learnt_for = url
            self._learn_bucket(url)

    def session_maker(self) -> Callable[[], Any]:
        """Read the chosen account and region now, on the Tk thread; the call returned makes the boto3 session on a worker."""
        from agent.aws import profiles

        choice = self._chosen()
        profile = choice.value if choice and choice.value not in (AMBIENT, ADD_KEY) else None
        region = self._region()
        return lambda: profiles.session(profile, region)

    def _region(self) -> str | None:
        choice = self._chosen()
        url = self.queue.get() or ""
        return (config_module.region_from_queue_url(url) or (choice.region if choice else None) or self.current.get("aws_region")
                or self.key_region.get())

    def _learn_bucket(self, url: str) -> None:
        """The queue's policy may name the bucket (aws:SourceArn): read it, never a message."""
        from agent.aws import resources

        endpoint, region, session = self.endpoint.get(), self._region(), self.session_maker()

        def done(bucket: Any, error: BaseException | None) -> None:
            if bucket and not self.bucket.get() and self.queue.get():
                self.bucket.set(bucket)
                self.bucket.hint.configure(text="Filled in from the queue's policy. Optional: notifications for other "
                                                "buckets are refused.")

        self.run_in_background(lambda: resources.bucket_from_queue_policy(session(), url, endpoint, region), done)

    def _find_queues(self) -> None:
        from agent.aws import resources

        self.find_button.state(["disabled"])
        self.found_message.configure(text="Looking for queues…", style="Muted.TLabel")
        endpoint, region, session = self.endpoint.get(), self._region(), self.session_maker()

        def done(urls: Any, error: BaseException | None) -> None:
            self.find_button.state(["!disabled"])
            if error is not None:
                self.found_message.configure(text=str(error) if isinstance(error, AgentError) else f"Could not list the queues: {error}",
                                             style="Error.TLabel")
                return
            if not self.found.winfo_manager():
                self.found.pack(fill="x", before=self.found_message, pady=(0, self.look.px(6)))
            self.found.set_rows([(url, (resources.queue_name(url), url)) for url in urls])
            where = f" in {region}" if region else ""
            self.found_message.configure(text=f"{len(urls)} queue{'' if len(urls) == 1 else 's'}{where}. Choose one to use it."
                                         if urls else f"No queues{where} that these credentials can see. Paste the URL instead.",
                                         style="Muted.TLabel")
            self._probe()

        from agent.engine.aws import LOCAL_REGION

        self.run_in_background(lambda: resources.list_queues(session(), region or (LOCAL_REGION if endpoint else None), endpoint),
                               done)

    def _queue_picked(self) -> None:
        chosen = self.found.selection()
        if chosen:
            self.queue.set(chosen[0])

    # ------------------------------------------------------------ 3. folder

    def _build_folder(self) -> None:
        page, look = self.pages["folder"], self.look
        self._heading(page, "Where should files go?", "New files are downloaded into this folder, keeping the folders of "
                      "their keys. It is created if it is missing.")
        self.folder = forms.FolderField(page, look, "download_folder", "Download folder", "~ means your home folder.")
        self.folder.pack()
        self.folder.set(self.current.get("download_folder", DEFAULT_FOLDER))

    # ------------------------------------------------------------ 4. check

    def _build_check(self) -> None:
        page, look = self.pages["check"], self.look
        self._heading(page, "Checking the setup", "The same checks as s3-sqs-agent doctor. Nothing is changed in your queue or "
                      "bucket, and no message is received while the queue holds any.")
        self.check_list = ttk.Frame(page, style="Card.TFrame", padding=(look.px(4), look.px(4)))
        self.check_list.pack(fill="x")
        self.check_summary = ttk.Label(page, style="Muted.TLabel", wraplength=look.px(540), justify="left")
        self.check_summary.pack(anchor="w", pady=(look.px(12), 0))
        self.again_button = button(page, "Check again", self._run_checks)
        self.again_button.pack(anchor="w", pady=(look.px(10), 0))

    def _changes(self) -> dict[str, Any]:
        """The answers as update_file() takes them."""
        choice = self._chosen()
        profile = choice.value if choice and choice.value not in (AMBIENT, ADD_KEY) else None
        url = self._queue_url() or (self.queue.get() or "")
        changes: dict[str, Any] = {
            "aws_profile": profile or config_module.REMOVE,
            "sqs_queue_url": url,
            "s3_bucket_name": self.bucket.get() or config_module.REMOVE,
            "download_folder": self.folder.get() or DEFAULT_FOLDER,
            "endpoint_url": self.endpoint.get() or config_module.REMOVE,
        }
        changes.update(self.creator.config_changes())
        url_region = config_module.region_from_queue_url(url)
        region = self._region()
        if url_region:
            changes["aws_region"] = config_module.REMOVE  # the queue URL names it
        elif region:
            changes["aws_region"] = region  # a local endpoint's URL names none
        return changes

    def _run_checks(self) -> None:
        from agent.aws import doctor

        for child in self.check_list.winfo_children():
            child.destroy()
        self.checks = []
        self.copy_buttons = []
        self.check_rows: list[ttk.Frame] = []
        try:
            _, config = config_module.preview_update(self.path, self._changes())
        except ConfigError as error:
            self.check_summary.configure(text=f"These answers do not make a valid config: {error.problems[0].message}. Go back "
                                              "and change them.", style="Error.TLabel")
            self._probe()
            return
        self.checking = True
        self.again_button.state(["disabled"])
        self._update_buttons()
        self.check_summary.configure(text="Checking…", style="Muted.TLabel")

        def report(check: Any) -> None:  # on the worker: the row is added on the Tk thread
            self.background.post(lambda: self._add_check(check))

        def done(checks: Any, error: BaseException | None) -> None:
            self.checking = False
            self.again_button.state(["!disabled"])
            if error is not None:
                self.check_summary.configure(text=f"The checks could not run: {error}", style="Error.TLabel")
            else:
                failed = [c for c in checks if c.passed is False]
                self.check_summary.configure(
                    text=f"{len(failed)} check{'s' if len(failed) > 1 else ''} failed. Fix {'them' if len(failed) > 1 else 'it'} and "
                         "check again, or save now and fix it later (the agent waits meanwhile, losing nothing)." if failed else
                         "Everything is ready. Save to start downloading.",
                    style="Error.TLabel" if failed else "Muted.TLabel")
                self.next_button.configure(text="Save anyway" if failed else "Save and start")
                if failed:  # show the first failure and its fix, not the list's top
                    row = self.check_rows[checks.index(failed[0])]
                    self.body.scroll_into_view(row)
            self._update_buttons()
            self._probe()

        self.run_in_background(lambda: doctor.run_checks(config, on_result=report), done)

    def _add_check(self, check: Any) -> None:
        look = self.look
        if self.checks:
            widgets.line(self.check_list).pack(fill="x", padx=look.px(10))
        self.checks.append(check)
        row = ttk.Frame(self.check_list, style="Surface.TFrame", padding=(look.px(12), look.px(8)))
        row.pack(fill="x")
        self.check_rows.append(row)
        symbol, kind = MARKS[check.passed]
        ttk.Label(row, text=symbol, style=f"{kind}.Mark.TLabel", width=2).grid(row=0, column=0, sticky="nw")
        ttk.Label(row, text=check.name, style="Surface.Bold.TLabel").grid(row=0, column=1, sticky="w")
        ttk.Label(row, text=check.detail, style="Surface.Small.TLabel", wraplength=look.px(500), justify="left").grid(
            row=1, column=1, sticky="w")
        if check.fix and check.passed is False:
            ttk.Label(row, text=check.fix, style="Surface.TLabel", wraplength=look.px(500), justify="left").grid(
                row=2, column=1, sticky="w", pady=(look.px(4), 0))
        if check.policy:
            text = json.dumps(check.policy, indent=2)
            policy = tk.Text(row, height=min(10, text.count("\n") + 1), width=60, font=look.mono, relief="flat",
                             background=theme.STRIPE, foreground=theme.TEXT, padx=look.px(8), pady=look.px(6), borderwidth=0,
                             highlightthickness=1, highlightbackground=theme.BORDER, wrap="none")
            policy.insert("1.0", text)
            policy.configure(state="disabled")
            policy.grid(row=3, column=1, sticky="ew", pady=(look.px(6), 0))
            copy = button(row, "Copy policy", lambda: self._copy_policy(text, copy), style="Small.TButton")
            self.copy_buttons.append(copy)
            copy.grid(row=4, column=1, sticky="w", pady=(look.px(6), 0))
            ttk.Label(row, text="Send it to your AWS administrator.", style="Surface.Small.TLabel").grid(
                row=5, column=1, sticky="w")
        row.columnconfigure(1, weight=1)
        self._probe()

    def _copy_policy(self, text: str, copy: ttk.Button) -> None:
        widgets.copy_to_clipboard(self.root, text)
        copy.configure(text="Copied")
        self.root.after(2000, lambda: copy.configure(text="Copy policy"))
        self._probe(copied=text)

    # ------------------------------------------------------------ done

    def _build_done(self) -> None:
        page = self.pages["done"]
        ttk.Label(page, text="✓", style="Done.TLabel").pack(anchor="w")
        ttk.Label(page, text="You're set up", style="Title.TLabel").pack(anchor="w", pady=(self.look.px(8), 0))
        self.done_text = ttk.Label(page, style="Muted.TLabel", wraplength=self.look.px(540), justify="left")
        self.done_text.pack(anchor="w", pady=(self.look.px(8), 0))

    def _save(self) -> None:
        changes = self._changes()
        try:  # the folder first: a config is never written naming a folder that cannot be made
            config_module.make_download_folder(changes["download_folder"], self.path)
        except (ValueError, OSError) as exc:
            self.check_summary.configure(text=f"Not saved: the download folder cannot be used "
                                              f"({getattr(exc, 'strerror', None) or exc}). Go back and choose another.",
                                         style="Error.TLabel")
            return
        try:
            config = config_module.update_file(self.path, changes)
        except ConfigError as error:
            self.check_summary.configure(text=f"Not saved: {error}", style="Error.TLabel")
            return
        except OSError as exc:
            self.check_summary.configure(text=f"Not saved: {exc.strerror or exc}.", style="Error.TLabel")
            return
        self.saved = True
        self.channel.send("setup_saved")
        self.done_text.configure(text=f"New files are downloaded to {config.download_folder}. The tray icon shows what is "
                                      "happening; Activity in its menu lists every file, and Settings changes any answer.")
        self._show("done")

    # ------------------------------------------------------------ moving between steps

    def _show(self, step: str) -> None:
        self.step = step
        for name, page in self.pages.items():
            if name == step:
                page.pack(fill="both", expand=True)
            else:
                page.pack_forget()
        order = [s for s, _ in STEPS]
        for name, (mark, label) in self.rail_items.items():
            done = step == "done" or order.index(name) < order.index(step)
            current = name == step
            mark.configure(text="✓" if done else str(order.index(name) + 1),
                           style="Current.Step.TLabel" if current else "Done.Step.TLabel" if done else "Step.TLabel")
            label.configure(style="Surface.Bold.TLabel" if current else "Surface.TLabel" if done else "Surface.Muted.TLabel")
        self.body.canvas.yview_moveto(0)
        self._update_buttons()
        focus = {"queue": self.creator.bucket if self.queue_way.get() == CREATE_QUEUE else self.queue, "folder": self.folder}.get(step)
        if focus is not None:
            self.root.after_idle(focus.focus)
        elif step == "account" and self.choices:
            index = next((i for i, c in enumerate(self.choices) if c.value == self.account.get()), 0)
            self.root.after_idle(self.account_radios[index].focus_set)
        elif step == "done":
            self.root.after_idle(self.next_button.focus_set)
        if step == "check":
            self.next_button.configure(text="Save and start")
            self._run_checks()
        self._probe()

    def _update_buttons(self) -> None:
        order = [s for s, _ in STEPS]
        self.back_button.state(["!disabled"] if self.step in order[1:] else ["disabled"])
        if self.step == "done":
            self.back_button.pack_forget()
            self.cancel_button.pack_forget()
            self.next_button.configure(text="Close")
        elif self.step == "queue" and self.queue_way.get() == CREATE_QUEUE:
            self.next_button.configure(text=self.creator.next_label)
        elif self.step != "check":
            self.next_button.configure(text="Next")
        self.next_button.state(["disabled"] if self.checking or self.creator.busy else ["!disabled"])

    def next(self) -> None:
        if self.step == "account" and self._account_ready():
            self._show("queue")
        elif self.step == "queue" and self.queue_way.get() == CREATE_QUEUE:
            if self.creator.next():
                self._show("folder")
        elif self.step == "queue":
            if self._queue_url() is not None:
                self._show("folder")
            else:
                self.queue.focus()
                self._probe()
        elif self.step == "folder":
            if self.folder.get():
                self._show("check")
            else:
                self.folder.show_error("Choose the folder new files go to.")
        elif self.step == "check" and not self.checking:
            self._save()
        elif self.step == "done":
            self.root.destroy()
            return
        self._probe()

    def back(self) -> None:
        order = [s for s, _ in STEPS]
        if self.step in order[1:] and not self.checking:
            self._show(order[order.index(self.step) - 1])

    def cancel(self) -> None:
        if self._sign_in_cancel is not None:
            self._sign_in_cancel.set()
        if not self.saved:
            self.channel.send("setup_cancelled")
        self.root.destroy()

    def _enter(self, event: tk.Event[Any]) -> str | None:
        if isinstance(event.widget, (tk.Text, ttk.Button)):
            return None  # a focused button presses itself
        self.next()
        return "break"

    def _probe(self, copied: str | None = None) -> None:
        choice = self._chosen()
        fields = (self.queue, self.bucket, self.endpoint, self.folder, self.key_name, self.key_id, self.key_secret, self.key_region)
        write_probe(self.root, "setup", {
            "step": self.step,
            "accounts": [c.title for c in self.choices],
            "account_rows": [str(radio.cget("text")) for radio in getattr(self, "account_radios", [])],
            "account": choice.value if choice else None,
            "errors": {f.key: f.message.cget("text") for f in fields if f.message.cget("text")},
            "account_message": self.account_message.cget("text"),
            "sign_in": self.sign_in_text.cget("text") if self.sign_in_box.winfo_manager() else "",
            "queues": [values[1] for values in self.found.values()],
            "queue": self.queue.get(),
            "bucket": self.bucket.get(),
            "checking": self.checking,
            "checks": [{"name": c.name, "passed": c.passed, "detail": c.detail, "fix": c.fix, "policy": c.policy} for c in self.checks],
            "summary": self.check_summary.cget("text"),
            "next": self.next_button.cget("text"),
            "saved": self.saved,
            "queue_way": self.queue_way.get(),
            "create": self.creator.probe(),
            "copied": copied,
            "sign_in_button": _centre(self.sign_in_button) if self.sign_in_box.winfo_manager() else None,
            "copy_buttons": [_centre(b) for b in self.copy_buttons if b.winfo_ismapped()],
        })


def _centre(widget: tk.Misc) -> list[int]:
    """Where a test clicks a widget: its centre on the screen."""
    return [widget.winfo_rootx() + widget.winfo_width() // 2, widget.winfo_rooty() + widget.winfo_height() // 2]


def _describe_profile(profile: Any) -> str:
    """A profile in words: its kind, its region and, for SSO, whether its sign-in is still valid."""
    kind = {"sso": "IAM Identity Center (SSO)", "keys": "An access key", "assume-role": "Assumes a role",
            "process": "Credentials from a program", "other": "A profile"}.get(profile.kind, "A profile")
    parts = [kind]
    if profile.region:
        parts.append(profile.region)
    if profile.kind == "sso":
        if profile.signed_in and profile.sso_expires_at:
            parts.append(f"signed in until {profile.sso_expires_at.astimezone():%H:%M on %d %b}")
        elif profile.sso_refreshable:
            parts.append("the sign-in renews by itself")
        else:
            parts.append("sign-in needed")
    return " · ".join(parts)
