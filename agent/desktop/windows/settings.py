"""The Settings window: every config key, grouped, validated as you type by the config's own parser, saved with
update_file() so the file keeps its comments and order (the tray's watcher then applies it without a restart)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import tkinter as tk
from pathlib import Path
from tkinter import messagebox, ttk
from typing import Any

import yaml

from agent import config as config_module
from agent.api import APP_TITLE
from agent.config import REMOVE, RESTORE_TIERS, Config, NotificationSettings, RestoreSettings
from agent.desktop.windows import forms, widgets
from agent.desktop.windows.background import Background
from agent.desktop.windows.child import Channel, write_probe
from agent.desktop.windows.theme import Theme
from agent.desktop.windows.widgets import button
from agent.errors import ConfigError, ConfigProblem

SECTIONS = ("General", "Account", "Downloads", "Failures", "Notifications", "Plugins")
START_AT_LOGIN = "start at login"  # not a config key: the platform's own login entry
RESTORE_TIER, RESTORE_DAYS = "restore_archived.tier", "restore_archived.days"  # the two halves of one config mapping
RESTORE_OFF = "Off"
FILE_CHECK_MS = 1000
VALIDATE_MS = 250
NOTIFICATION_TEXTS = {
    "enabled": ("Show notifications", "Turn off to keep the agent quiet; everything still goes to the log."),
    "downloads": ("Downloaded files, in batches", "“12 files downloaded”, a few seconds after the last one."),
    "per_file": ("Every downloaded file on its own", "Instead of batches; a burst still shows one summary."),
    "retries": ("Files that are not ready yet", "Once per file: “Waiting for take 01.wav to become available”."),
    "failures": ("Files that could not be downloaded", "When a message is given up, with the reason."),
    "errors": ("Problems you must fix", "Credentials, permissions, a full disk, a config error."),
}
REQUIRED = {"sqs_queue_url", "download_folder"}


def _digest(text: str | None) -> str:
    return hashlib.sha256((text or "").encode("utf-8")).hexdigest()


def _profile_state(name: str | None) -> str:
    """The chosen profile in words: its kind and, for SSO, whether the sign-in is still valid."""
    try:
        from agent.aws import profiles
    except ImportError:  # pragma: no cover - the package ships with the agent
        return ""
    if not name:
        ambient = profiles.ambient_credentials()
        return f"Uses {ambient}." if ambient else "Uses the standard AWS chain: AWS_PROFILE, then the default profile."
    try:
        found = {p.name: p for p in profiles.list_profiles()}.get(name)
    except Exception as exc:  # noqa: BLE001  a broken AWS config file: say so, never crash the window
        return f"Cannot read the AWS profiles: {exc}"
    if found is None:
        return f"There is no profile named {name!r} in the AWS config or credentials file."
    if found.kind != "sso":
        return {"keys": "An access key profile.", "assume-role": "Assumes a role.", "process": "Gets credentials from a program."}.get(
            found.kind, "A profile.")
    if found.signed_in and found.sso_expires_at:
        return f"IAM Identity Center (SSO): signed in until {found.sso_expires_at.astimezone():%H:%M on %d %b}."
    return "IAM Identity Center (SSO): not signed in, or the sign-in expired. Use Set up… or “Sign in again…” in the tray menu."


def _plugin_summary(entry: Any) -> str:
    """The first line of a plugin's own docstring: what it does, in its author's words."""
    try:
        doc = (entry.load().__doc__ or "").strip()
    except Exception as exc:  # noqa: BLE001  a plugin that cannot load says so here rather than hiding
        return f"Cannot be loaded: {type(exc).__name__}: {exc}"
    return doc.splitlines()[0] if doc else ""


class SettingsWindow:
    def __init__(self, root: tk.Tk, look: Theme, channel: Channel, config_path: Path) -> None:
        self.root, self.look, self.channel, self.path = root, look, channel, config_path
        self.background = Background(root)
        self.fields: dict[str, forms.Field] = {}
        self.notification_fields: dict[str, forms.CheckField] = {}
        self.plugin_rows: dict[str, tuple[forms.CheckField, forms.TextField]] = {}
        self.raw: dict[str, Any] = {}
        self.disk_text: str | None = None
        self.seen_digest = ""
        self.problems: list[ConfigProblem] = []
        self.general_problems: list[str] = []
        self.yaml_error: str | None = None
        """The file is not valid YAML (where and why): the fields then show the defaults, and the window says so."""
        self._validate_job: str | None = None
        self._saved = False
        self._loading = False
        px = look.px
        root.title(f"Settings – {APP_TITLE}")
        widgets.place_window(root, px(900), px(640))

        shell = ttk.Frame(root)
        shell.pack(fill="both", expand=True)
        sidebar = ttk.Frame(shell, style="Surface.TFrame", padding=(px(12), px(18), px(12), px(12)), width=px(200))
        sidebar.pack(side="left", fill="y")
        sidebar.pack_propagate(False)
        widgets.line(shell).pack(side="left", fill="y")  # the sidebar's edge
        ttk.Label(sidebar, text="Settings", style="Surface.Heading.TLabel").pack(anchor="w", padx=px(8), pady=(0, px(12)))
        self.nav = ttk.Treeview(sidebar, show="tree", selectmode="browse", style="Nav.Treeview", takefocus=True, height=len(SECTIONS))
        self.nav.column("#0", width=px(170))
        for section in SECTIONS:
            self.nav.insert("", "end", iid=section, text=section)
        self.nav.pack(fill="x")
        self.nav.bind("<<TreeviewSelect>>", lambda event: self._show_section(self.nav.selection()[0] if self.nav.selection() else "General"))
        shown_path = str(config_path).replace(str(Path.home()), "~", 1) if str(config_path).startswith(str(Path.home())) else str(config_path)
        ttk.Label(sidebar, text=shown_path.replace("/", "/\u200b"), style="Surface.Small.TLabel", wraplength=px(170), justify="left").pack(
            side="bottom", anchor="w", padx=px(8))
        ttk.Label(sidebar, text="The settings are kept in", style="Surface.Small.TLabel").pack(side="bottom", anchor="w", padx=px(8))

        main = ttk.Frame(shell)
        main.pack(side="left", fill="both", expand=True)
        self.banner = ttk.Frame(main, style="Warn.Banner.TFrame", padding=(px(16), px(10)))
        self.banner_text = ttk.Label(self.banner, style="Warn.Banner.TLabel", wraplength=px(520), justify="left")
        self.banner_text.pack(side="left", fill="x", expand=True)
        self.banner_button = button(self.banner, "Reload", self.reload, style="Small.TButton")
        self.banner_button.pack(side="right")
        self.problem_banner = ttk.Frame(main, style="Bad.Banner.TFrame", padding=(px(16), px(10)))
        self.problem_text = ttk.Label(self.problem_banner, style="Bad.Banner.TLabel", wraplength=px(620), justify="left")
        self.problem_text.pack(side="left", fill="x", expand=True)
        self.content = widgets.ScrollFrame(main, style="TFrame")
        self.content.pack(fill="both", expand=True)
        footer = ttk.Frame(main, padding=(px(24), px(12)))  # made after the pages: Tab reaches the fields first
        footer.pack(side="bottom", fill="x", before=self.content)
        widgets.line(main).pack(side="bottom", fill="x", before=self.content)
        self.summary = ttk.Label(footer, style="Muted.TLabel", wraplength=px(420), justify="left")
        self.summary.pack(side="left", fill="x", expand=True)
        self.close_button = button(footer, "Close", self.close)
        self.save_button = button(footer, "Save", self.save, style="Accent.TButton")
        self.save_button.pack(side="right")
        self.close_button.pack(side="right", padx=(0, px(8)))
        self.pages: dict[str, ttk.Frame] = {}
        for section in SECTIONS:
            page = ttk.Frame(self.content.inner, padding=(px(28), px(22), px(28), px(8)))
            ttk.Label(page, text=section, style="Title.TLabel").pack(anchor="w", pady=(0, px(18)))
            self.pages[section] = page
        self._build_general()
        self._build_account()
        self._build_downloads()
        self._build_failures()
        self._build_notifications()
        self._build_plugins()
        for field in self._all_fields():
            field.on_change(self._edited)

        root.bind("<Escape>", lambda event: self.close())
        root.bind("<Control-s>", lambda event: self.save())
        root.bind("<Control-r>", lambda event: self.reload())
        root.bind("<Return>", self._enter)
        root.bind("<KP_Enter>", self._enter)
        root.protocol("WM_DELETE_WINDOW", self.close)
        self.load()
        self.nav.selection_set("General")
        self.nav.focus("General")
        self._show_section("General")
        root.after(FILE_CHECK_MS, self._watch_file)
        root.after_idle(self.nav.focus_set)

    # ------------------------------------------------------------ building the pages

    def _add(self, field: forms.Field) -> forms.Field:
        self.fields[field.key] = field
        return field.pack()

    def _build_general(self) -> None:
        page, look = self.pages["General"], self.look
        self._add(forms.FolderField(page, look, "download_folder", "Download folder",
                                    "New files go here. ~ and $VARIABLES are expanded; it is created if missing."))
        self._add(forms.CheckField(page, look, "keep_prefixes", "Keep the key's folders",
                                   "“sessions/2026/take 01.wav” goes to sessions/2026/ under the download folder; "
                                   "off: every file lands in the download folder itself."))
        self._add(forms.CheckField(page, look, START_AT_LOGIN, f"Start {APP_TITLE} when I log in",
                                   "The same as “Start at login” in the tray menu."))

    def _build_account(self) -> None:
        page, look = self.pages["Account"], self.look
        profile = forms.ChoiceField(page, look, "aws_profile", "AWS profile",
                                    "From your AWS config and credentials files. Empty: the standard AWS chain.",
                                    choices=self._profile_names())
        self._add(profile)
        self.sign_in_state = ttk.Label(profile.frame, style="Muted.TLabel", wraplength=look.px(520), justify="left")
        self.sign_in_state.grid(row=4, column=0, sticky="w", pady=(look.px(4), 0))
        profile.on_change(self._show_sign_in_state)
        self._add(forms.TextField(page, look, "sqs_queue_url", "Queue URL",
                                  "The SQS queue that receives the bucket's notifications.",
                                  placeholder="https://sqs.us-east-2.amazonaws.com/123456789012/audio-uploads"))
        self._add(forms.TextField(page, look, "s3_bucket_name", "Bucket", "Optional: notifications for any other bucket are refused.",
                                  width=32))
        self._add(forms.TextField(page, look, "aws_region", "Region", "Optional: taken from the queue URL when empty.", width=20,
                                  placeholder="us-east-2"))
        self._add(forms.TextField(page, look, "endpoint_url", "Endpoint", "Optional: one S3- and SQS-compatible server "
                                  "(LocalStack, moto). Empty: AWS.", placeholder="http://127.0.0.1:4566"))
        self._add(forms.TextField(page, look, "s3_endpoint_url", "S3 endpoint", "Optional: overrides the endpoint for S3 alone "
                                  "(MinIO, say)."))
        self._add(forms.TextField(page, look, "sqs_endpoint_url", "SQS endpoint", "Optional: overrides the endpoint for SQS alone "
                                  "(ElasticMQ, say)."))

    def _build_downloads(self) -> None:
        page, look = self.pages["Downloads"], self.look
        self._add(forms.NumberField(page, look, "concurrency", "Parallel downloads", "1 to 128. More helps with many small files.",
                                    low=1, high=128))
        self._add(forms.TextField(page, look, "max_bandwidth", "Bandwidth limit",
                                  "For all downloads together, such as 20MB/s or 512KiB/s. Empty: no limit.", width=20,
                                  placeholder="no limit"))
        self._add(forms.ListField(page, look, "include", "Only download", "Glob patterns on the object key, one a line, "
                                  "such as *.wav. Empty: every file."))
        self._add(forms.ListField(page, look, "exclude", "Never download", "Patterns to skip, one a line, such as tmp/*."))

    def _build_failures(self) -> None:
        page, look = self.pages["Failures"], self.look
        self._add(forms.NumberField(page, look, "max_attempts", "Attempts before giving up",
                                    "A file that keeps failing is then dead-lettered, never dropped.", low=1, high=100))
        self._add(forms.NumberField(page, look, "retry_base_seconds", "First retry after (seconds)",
                                    "Each retry waits about twice as long as the one before.", low=0, high=3600, integer=False))
        self._add(forms.NumberField(page, look, "retry_max_seconds", "Longest wait between retries (seconds)", low=1, high=43200,
                                    integer=False))
        self._add(forms.TextField(page, look, "dead_letter_queue_url", "Dead-letter queue",
                                  "Optional: where given-up messages go, with the reason. Empty: the queue's own redrive "
                                  "policy, or Activity's Failed list."))
        tier = forms.ChoiceField(page, look, RESTORE_TIER, "Archived files (Glacier)",
                                 "Off: you are told, and the file waits in Activity's Failed list. Otherwise the agent asks S3 "
                                 "to restore it (Expedited: minutes, the dearest; Standard: hours; Bulk: the cheapest, up to "
                                 "12 hours) and downloads it once it is readable.",
                                 choices=(RESTORE_OFF, *RESTORE_TIERS), editable=False, width=14)
        days = forms.NumberField(page, look, RESTORE_DAYS, "Keep the restored copy for (days)",
                                 "How long S3 keeps the restored copy; the agent downloads it well within that.", low=1, high=365)
        self._add(tier)
        self._add(days)

        def enable_days() -> None:
            days.entry.state(["disabled"] if tier.get() in (None, RESTORE_OFF) else ["!disabled"])

        tier.on_change(enable_days)

    def _build_notifications(self) -> None:
        page, look = self.pages["Notifications"], self.look
        for key, (text, hint) in NOTIFICATION_TEXTS.items():
            field = forms.CheckField(page, look, f"notifications.{key}", text, hint)
            field.pack()
            self.notification_fields[key] = field
        self.notification_fields["enabled"].on_change(self._enable_notification_kinds)

    def _build_plugins(self) -> None:
        page, look = self.pages["Plugins"], self.look
        from agent.plugins.manager import installed_plugins

        installed = installed_plugins()
        self.installed = sorted(installed)
        if not self.installed:
            ttk.Label(page, text="No plugins are installed.", style="Muted.TLabel").pack(anchor="w")
        ttk.Label(page, text="Plugins act on each file: where it goes, whether it is kept, what runs after. Options are "
                             "written as a mapping, such as {template: '{year}/{name}'}.", style="Muted.TLabel",
                  wraplength=look.px(560), justify="left").pack(anchor="w", pady=(0, look.px(14)))
        for name in self.installed:
            enabled = forms.CheckField(page, look, f"plugins.{name}", name, _plugin_summary(installed[name]))
            enabled.pack(pady=(0, look.px(6)))
            options = forms.TextField(page, look, f"plugins.{name}.options", "", "", width=52, placeholder="options, if any: {}")
            options.frame.pack(fill="x", padx=(look.px(24), 0), pady=(0, look.px(18)))
            enabled.on_change(functools.partial(self._enable_options, enabled, options))
            self.plugin_rows[name] = (enabled, options)
        self.plugins_message = ttk.Label(page, style="Error.TLabel", wraplength=look.px(560), justify="left")
        self.plugins_message.pack(anchor="w")

    def _show_sign_in_state(self) -> None:
        """Off the Tk thread: without a profile, finding the ambient credentials can take a second or two off EC2."""
        name = self.fields["aws_profile"].get()

        def done(text: Any, error: BaseException | None) -> None:
            if self.fields["aws_profile"].get() == name:  # not a profile chosen since
                self.sign_in_state.configure(text=text if error is None else f"Cannot tell which credentials are used: {error}")

        self.background.run(lambda: _profile_state(name), done)

    @staticmethod
    def _enable_options(enabled: forms.CheckField, options: forms.TextField) -> None:
        options.entry.state(["!disabled"] if enabled.get() else ["disabled"])

    def _all_fields(self) -> list[forms.Field]:
        return [*self.fields.values(), *self.notification_fields.values(), *(f for row in self.plugin_rows.values() for f in row)]

    def _profile_names(self) -> list[str]:
        try:
            from agent.aws import profiles

            return [p.name for p in profiles.list_profiles()]
        except Exception:  # noqa: BLE001  no profiles to offer; the field still takes a typed name
            return []

    def _show_section(self, section: str) -> None:
        for name, page in self.pages.items():
            if name == section:
                page.pack(fill="both", expand=True)
            else:
                page.pack_forget()
        self.content.canvas.yview_moveto(0)
        self._probe()

    def _enable_notification_kinds(self) -> None:
        on = self.notification_fields["enabled"].get()
        for key, field in self.notification_fields.items():
            if key != "enabled" and isinstance(field.input, ttk.Checkbutton):
                field.input.state(["!disabled"] if on else ["disabled"])

    # ------------------------------------------------------------ the file

    def load(self) -> None:
        """Show what the file holds now (defaults for keys it leaves out)."""
        read = True
        try:
            text: str | None = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = None
        except OSError as exc:
            self._show_banner(f"Cannot read {self.path}: {exc.strerror or exc}. The fields show the defaults; "
                              "check the file's permissions, then reopen this window.", reload=False)
            text, read = None, False
        self.disk_text, self.seen_digest = text, _digest(text)
        self.yaml_error = None
        try:
            loaded = yaml.safe_load(text or config_module.TEMPLATE)
        except yaml.YAMLError as exc:
            loaded = None
            mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)  # where the broken part starts
            reason = str(getattr(exc, "problem", None) or exc).replace("<stream end>", "the end of the file")
            self.yaml_error = f"line {mark.line + 1}: {reason}" if mark is not None else str(reason)
        self.raw = loaded if isinstance(loaded, dict) else {}
        defaults = {f.name: f.default for f in dataclasses.fields(Config) if f.default is not dataclasses.MISSING}
        self._loading = True
        try:
            for key, field in self.fields.items():
                if key == START_AT_LOGIN:
                    field.load(self._autostart_enabled())
                elif key in (RESTORE_TIER, RESTORE_DAYS):
                    field.load(self._restore_value(key))
                elif key in ("include", "exclude"):
                    field.load(self.raw.get(key) or [])
                else:
                    value = self.raw.get(key, defaults.get(key))
                    field.load(value)
            found = self.raw.get("notifications")
            notifications: dict[str, Any] = found if isinstance(found, dict) else {}
            for key, field in self.notification_fields.items():
                field.load(notifications.get(key, getattr(NotificationSettings(), key)))
            configured = {}
            for entry in self.raw.get("plugins") or []:
                item = {"name": entry} if isinstance(entry, str) else entry
                if isinstance(item, dict) and isinstance(item.get("name"), str):
                    configured[item["name"]] = item.get("options") or {}
            for name, (enabled, options) in self.plugin_rows.items():
                enabled.load(name in configured)
                options.load(yaml.safe_dump(configured[name], default_flow_style=True, width=4096).strip() if configured.get(name) else "")
                options.entry.state(["!disabled"] if enabled.get() else ["disabled"])
            self._other_plugins = [entry for entry in (self.raw.get("plugins") or [])
                                   if (entry if isinstance(entry, str) else (entry or {}).get("name")) not in self.plugin_rows]
        finally:
            self._loading = False
        self._enable_notification_kinds()
        self._show_sign_in_state()
        if read:  # a "Cannot read" banner stays: the fields show defaults, not the file
            self.banner.pack_forget()
        self._validate()

    def reload(self) -> None:
        self.load()
        self.summary.configure(text="Reloaded from the file.")

    def _watch_file(self) -> None:
        """The file changed on disk (an editor, the tray's folder chooser): offer to reload it."""
        try:
            text: str | None = self.path.read_text(encoding="utf-8")
        except OSError:
            text = None
        digest = _digest(text)
        if digest != self.seen_digest:
            self.seen_digest = digest
            if self._changes():
                self._show_banner("The config file was changed outside this window. Reload it to see the change "
                                  "(your unsaved edits here are then lost), or save to apply your edits on top of it.")
            else:
                self._show_banner("The config file was changed outside this window.")
        self.root.after(FILE_CHECK_MS, self._watch_file)

    def _show_banner(self, text: str, reload: bool = True) -> None:
        self.banner_text.configure(text=text)
        if reload:
            self.banner_button.pack(side="right")
        else:
            self.banner_button.pack_forget()
        self.banner.pack(side="top", fill="x", before=self.content)
        self._probe()

    def _autostart_enabled(self) -> bool:
        try:
            from agent.desktop import autostart

            return autostart.for_platform().is_enabled()
        except Exception:  # noqa: BLE001  unknown: shown as off
            return False

    # ------------------------------------------------------------ changes and validation

    def _changes(self) -> dict[str, Any]:
        """What the user changed, as update_file() takes it."""
        changes: dict[str, Any] = {}
        for key, field in self.fields.items():
            if key in (START_AT_LOGIN, RESTORE_TIER, RESTORE_DAYS) or not field.dirty:
                continue
            value = field.get()
            if key in REQUIRED:
                changes[key] = value or ""
            elif value is None or value == []:
                changes[key] = REMOVE
            else:
                changes[key] = value
        tier, days = self.fields[RESTORE_TIER], self.fields[RESTORE_DAYS]
        if tier.dirty or days.dirty:
            chosen = tier.get()
            changes["restore_archived"] = REMOVE if chosen in (None, RESTORE_OFF) else \
                {"tier": chosen, "days": days.get() if days.get() is not None else RestoreSettings.days}
        notifications = {key: field.get() for key, field in self.notification_fields.items() if field.dirty}
        if notifications:
            changes["notifications"] = notifications
        if any(field.dirty for row in self.plugin_rows.values() for field in row):
            changes["plugins"] = self._plugins_value()
        return changes

    def _restore_value(self, key: str) -> Any:
        """What the file's `restore_archived` (a mapping, `true`, or nothing) means for the tier or the days field."""
        raw = self.raw.get("restore_archived")
        settings = raw if isinstance(raw, dict) else ({} if raw is True else None)
        if key == RESTORE_TIER:
            return RESTORE_OFF if settings is None else settings.get("tier", RestoreSettings.tier)
        return RestoreSettings.days if settings is None else settings.get("days", RestoreSettings.days)

    def _plugins_value(self) -> Any:
        entries: list[Any] = list(self._other_plugins)
        for name, (enabled, options) in self.plugin_rows.items():
            if not enabled.get():
                continue
            text = options.get()
            parsed = self._plugin_options(options, text)
            entries.append({"name": name, "options": parsed} if parsed else {"name": name})
        return entries or REMOVE

    @staticmethod
    def _plugin_options(field: forms.TextField, text: str | None) -> dict[str, Any]:
        if not text:
            return {}
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            return {"__invalid__": text}
        return value if isinstance(value, dict) else {"__invalid__": text}

    def _edited(self) -> None:
        if self._loading:
            return
        self._saved = False
        if self._validate_job is not None:
            self.root.after_cancel(self._validate_job)
        self._validate_job = self.root.after(VALIDATE_MS, self._validate)

    def _validate(self) -> Config | None:
        """Check the would-be file with the config's own parser; show each problem on its field."""
        self._validate_job = None
        problems: list[ConfigProblem] = []
        config: Config | None = None
        changes = self._changes()
        for name, (enabled, options) in self.plugin_rows.items():
            if enabled.get() and "__invalid__" in self._plugin_options(options, options.get()):
                problems.append(ConfigProblem(str(self.path), f"plugin {name!r}: write the options as a mapping, such as "
                                              "{template: '{year}/{name}'}", "plugins"))
        if not problems:
            try:
                text = config_module.with_changes(self.disk_text or config_module.TEMPLATE, changes, self.path)
                config = config_module.parse(text, self.path)
                if "plugins" in changes and config.plugins:
                    from agent.plugins.manager import PluginHost

                    PluginHost(config)  # the plugins check their own options
            except ConfigError as error:
                problems, config = list(error.problems), None
        self.problems = problems
        self._show_problems(problems)
        self._update_summary(changes)
        self._probe()
        return config

    def _field_for(self, problem: ConfigProblem) -> forms.Field | None:
        key = problem.key or ""
        if key in self.fields:
            return self.fields[key]
        if key.startswith("notifications."):
            return self.notification_fields.get(key.split(".", 1)[1])
        if key.startswith("plugins"):
            for name, (_, options) in self.plugin_rows.items():
                if f"{name!r}" in problem.message or f"plugin {name}" in problem.message:
                    return options
        return None

    def _show_problems(self, problems: list[ConfigProblem]) -> None:
        shown: dict[int, list[str]] = {}
        general: list[str] = []
        for problem in problems:
            field = self._field_for(problem)
            text = problem.message[:1].upper() + problem.message[1:]
            if field is None:
                general.append(f"{problem.key + ': ' if problem.key else ''}{problem.message}" +
                               (f" (line {problem.line})" if problem.line else ""))
            else:
                shown.setdefault(id(field), []).append(text)
        for field in self._all_fields():
            field.show_error("\n".join(shown.get(id(field), [])) or None)
        self.general_problems = general
        self.plugins_message.configure(text="\n".join(p for p in general if p.startswith("plugins")))
        self._show_file_problems([p for p in general if not p.startswith("plugins")])

    def _show_file_problems(self, problems: list[str]) -> None:
        """Problems no field here can show or fix (a typo in a key, credentials, a bad section, broken YAML): in a
        banner at the top, saying to fix them in the file; Save waits for them like any other problem."""
        fix = ("Fix this in the file (Open config file in the tray menu); this window then offers to reload it."
               if len(problems) <= 1 else "Fix these in the file (Open config file in the tray menu); this window then "
               "offers to reload it.")
        if self.yaml_error is not None:
            text = (f"The config file is not valid YAML ({self.yaml_error}), so the fields below show the defaults, not "
                    f"what the file holds. {fix}")
        elif problems:
            text = "\n".join(["The config file has problems that no field here can show:", *(f"•  {p}" for p in problems), fix])
        else:
            self.problem_banner.pack_forget()
            self.problem_text.configure(text="")
            return
        self.problem_text.configure(text=text)
        self.problem_banner.pack(side="top", fill="x", before=self.content)

    def _section_of(self, field: forms.Field) -> str:
        for section, page in self.pages.items():
            if str(field.frame).startswith(f"{page}."):
                return section
        return "General"

    def _update_summary(self, changes: dict[str, Any]) -> None:
        count = len(changes) + int(self.fields[START_AT_LOGIN].dirty)
        if self.problems:
            where = sorted({self._section_of(f) for p in self.problems if (f := self._field_for(p)) is not None})
            extra = f" ({', '.join(where)})" if where else (" (see the top of this window)" if self.problem_text.cget("text") else "")
            self.summary.configure(text=f"Fix {len(self.problems)} problem{'s' if len(self.problems) > 1 else ''} to save{extra}.",
                                   style="Error.TLabel")
            self.save_button.state(["disabled"])
        elif count:
            self.summary.configure(text=f"{count} unsaved change{'s' if count > 1 else ''}.", style="Muted.TLabel")
            self.save_button.state(["!disabled"])
        else:
            self.summary.configure(text="No unsaved changes.", style="Muted.TLabel")
            self.save_button.state(["disabled"])
        for section in SECTIONS:
            bad = any(self._section_of(f) == section for p in self.problems if (f := self._field_for(p)) is not None)
            self.nav.item(section, text=f"{section}  ⚠" if bad else section, tags=("bad",) if bad else ())

    # ------------------------------------------------------------ saving and closing

    def _enter(self, event: tk.Event[Any]) -> str | None:
        if isinstance(event.widget, (tk.Text, ttk.Button)):
            return None  # a new line in a pattern box; a focused button presses itself
        self.save()
        return "break"

    def save(self) -> bool:
        if self._validate_job is not None:
            self.root.after_cancel(self._validate_job)
        if self._validate() is None:
            first = next((f for p in self.problems if (f := self._field_for(p)) is not None), None)
            if first is not None:
                self._reveal(first)
            return False
        changes = self._changes()
        login = self.fields[START_AT_LOGIN]
        try:
            if changes:
                config_module.update_file(self.path, changes)
            if login.dirty:
                from agent.desktop import autostart

                autostart.for_platform().set_enabled(bool(login.get()))
        except ConfigError as error:  # the file changed meanwhile into something that does not load
            self._show_problems(list(error.problems))
            self.summary.configure(text="Not saved: the file has problems. Reload it, or fix them here.", style="Error.TLabel")
            return False
        except OSError as exc:
            self.summary.configure(text=f"Not saved: {exc.strerror or exc}.", style="Error.TLabel")
            return False
        self.load()
        self.summary.configure(text="Saved. The agent uses the new settings from the next file on.", style="Muted.TLabel")
        self.channel.send("saved")
        self._saved = True
        self._probe()
        return True

    def _reveal(self, field: forms.Field) -> None:
        section = self._section_of(field)
        self.nav.selection_set(section)
        self._show_section(section)
        self.content.scroll_into_view(field.frame)
        field.focus()

    def close(self) -> None:
        count = len(self._changes()) + int(self.fields[START_AT_LOGIN].dirty)
        if count and not messagebox.askyesno("Discard changes?", f"You have {count} unsaved change{'s' if count > 1 else ''}. "
                                             "Close without saving?", parent=self.root, icon="warning", default="no"):
            return
        self.root.destroy()

    def _probe(self) -> None:
        write_probe(self.root, "settings", {
            "section": self.nav.selection()[0] if self.nav.selection() else "",
            "values": {field.key: field.get() for field in self._all_fields()},
            "errors": {field.key: field.message.cget("text") for field in self._all_fields() if field.message.cget("text")},
            "general_errors": self.general_problems,
            "summary": self.summary.cget("text"),
            "save_enabled": self.save_button.instate(["!disabled"]),
            "banner": self.banner_text.cget("text") if self.banner.winfo_manager() else "",
            "sign_in_state": self.sign_in_state.cget("text"),
            "problem_banner": self.problem_text.cget("text") if self.problem_banner.winfo_manager() else "",
            "saved": self._saved,  # the last thing done was a save: no edit since
        })
