"""The Settings window: every config key, grouped, validated as you type by the config's own parser, saved with
update_file() so the file keeps its comments and order (the tray's watcher then applies it without a restart)."""

from __future__ import annotations

import functools
import hashlib
import tkinter as tk
from pathlib import Path
from tkinter import messagebox, ttk
from typing import Any

from agent import config as config_module
from agent.api import APP_TITLE
from agent.config import BY_NAME, KEYS, REMOVE, Config, Key, Widget
from agent.desktop.windows import forms, widgets
from agent.desktop.windows.background import Background
from agent.desktop.windows.child import Channel, write_probe
from agent.desktop.windows.plugins_page import PluginsPage
from agent.desktop.windows.profile_state import ProfileState, profile_state
from agent.desktop.windows.theme import Theme
from agent.desktop.windows.widgets import button
from agent.errors import ConfigError, ConfigProblem

START_AT_LOGIN = "start at login"  # not a config key: the platform's own login entry
SWITCHED_OFF = "Off"
"""The choice that turns a switched section (`restore_archived`) off."""
FILE_CHECK_MS = 1000
VALIDATE_MS = 250


def _digest(text: str | None) -> str:
    return hashlib.sha256((text or "").encode("utf-8")).hexdigest()


class SettingsWindow:
    def __init__(self, root: tk.Tk, look: Theme, channel: Channel, config_path: Path) -> None:
        self.root, self.look, self.channel, self.path = root, look, channel, config_path
        self.background = Background(root)
        self.fields: dict[str, forms.Field] = {}
        """By the key's dotted name (`notifications.per_file`), and START_AT_LOGIN."""
        self.disk_text: str | None = None
        self.seen_digest = ""
        self.problems: list[ConfigProblem] = []
        self.general_problems: list[str] = []
        self.yaml_error: str | None = None
        """The file is not valid YAML (where and why): the fields then show the defaults, and the window says so."""
        self._validate_job: str | None = None
        self.profile = ProfileState("")
        """What the chosen AWS profile is, found off the Tk thread: missing, it is a warning on Account (Save still works:
        the profile may be added later)."""
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
        self.nav = ttk.Treeview(sidebar, show="tree", selectmode="browse", style="Nav.Treeview", takefocus=True, height=len(config_module.PAGES))
        self.nav.column("#0", width=px(170))
        for section in config_module.PAGES:
            self.nav.insert("", "end", iid=section, text=section)
        self.nav.pack(fill="x")
        self.nav.bind("<<TreeviewSelect>>", lambda event: self._show_section(self.nav.selection()[0] if self.nav.selection() else "General"))
        shown_path = widgets.in_home_words(str(config_path))
        self.path_label = ttk.Label(sidebar, text=widgets.wrap_path(shown_path, px(170), look.small.measure), style="Surface.Small.TLabel",
                                    justify="left")
        self.path_label.pack(side="bottom", anchor="w", padx=px(8))
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
        footer = ttk.Frame(main, padding=(px(24), px(10), px(24), px(12)))  # after the pages in Tab's order: the fields first
        footer.pack(side="bottom", fill="x", before=self.content)
        widgets.line(main).pack(side="bottom", fill="x", before=self.content)
        self.summary = ttk.Label(footer, style="Muted.TLabel", justify="left")  # a row of its own: it never pushes a button
        self.summary.pack(side="top", fill="x", pady=(0, px(8)))
        footer.bind("<Configure>", lambda event: self.summary.configure(wraplength=max(px(240), event.width - px(48))))
        buttons = ttk.Frame(footer)
        buttons.pack(side="top", fill="x")
        self.close_button = button(buttons, "Close", self.close)
        self.save_button = button(buttons, "Save", self.save, style="Accent.TButton")
        self.save_button.pack(side="right")
        self.close_button.pack(side="right", padx=(0, px(8)))
        self.pages: dict[str, ttk.Frame] = {}
        for section in config_module.PAGES:
            page = ttk.Frame(self.content.inner, padding=(px(28), px(22), px(28), px(8)))
            ttk.Label(page, text=section, style="Title.TLabel").pack(anchor="w", pady=(0, px(18)))
            self.pages[section] = page
        self._build_fields()
        self.plugins = PluginsPage(self.pages["Plugins"], look)
        for field in self._all_fields():
            field.on_change(self._edited)
            if field.input is not None:  # Tab onto a field below the fold brings it into view
                field.input.bind("<FocusIn>", functools.partial(self._scroll_to, field), add="+")

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

    def _build_fields(self) -> None:
        """A field for each key of the config's table, on its page, in the table's order."""
        look = self.look
        for row in KEYS:
            for item in row.in_settings_order:
                if item.shown is None or item.shown.widget is Widget.OWN_PAGE:
                    continue
                page = self.pages[item.shown.page]
                choices = self._profile_names() if item.shown.widget is Widget.PROFILE else \
                    ((SWITCHED_OFF,) if self._switched_by(item) else ())
                self.fields[item.name] = forms.for_key(page, look, item, choices=choices).pack()
        self.fields[START_AT_LOGIN] = forms.CheckField(self.pages["General"], look, START_AT_LOGIN, f"Start {APP_TITLE} when I log in",
                                                       "The same as “Start at login” in the tray menu.").pack()
        profile = self.fields["aws_profile"]
        self.sign_in_state = ttk.Label(profile.frame, style="Muted.TLabel", wraplength=look.px(520), justify="left")
        self.sign_in_state.grid(row=4, column=0, sticky="w", pady=(look.px(4), 0))
        self.use_suggested = button(profile.frame, "", self._use_suggested_profile, style="Link.TButton")
        profile.on_change(self._show_sign_in_state)
        for row in KEYS:
            if row.keys:
                self.fields[row.lead.name].on_change(functools.partial(self._enable_section, row))

    @staticmethod
    def _switched_by(item: Key) -> Key | None:
        """The section (`restore_archived`) that `item` switches on and off, if it is one's switch."""
        section = BY_NAME.get(item.name.rpartition(".")[0])
        return section if section is not None and section.switch is item else None

    def _section_on(self, section: Key) -> bool:
        """The section's lead says it is on: a switch not at Off, or a check box that is ticked."""
        value = self.fields[section.lead.name].get()
        return value not in (None, SWITCHED_OFF) if section.switch else bool(value)

    def _enable_section(self, section: Key) -> None:
        """A section's lead turns its other fields on and off: `notifications.enabled`, or the choice of a restore tier."""
        on = self._section_on(section)
        for inner in section.keys:
            widget = self.fields[inner.name].input
            if inner is not section.lead and isinstance(widget, (ttk.Checkbutton, ttk.Entry)):
                widget.state(["!disabled"] if on else ["disabled"])

    def _show_sign_in_state(self) -> None:
        """Off the Tk thread: without a profile, finding the ambient credentials can take a second or two off EC2."""
        name = self.fields["aws_profile"].get()

        def done(state: Any, error: BaseException | None) -> None:
            if self.fields["aws_profile"].get() != name:  # another profile was chosen since
                return
            if error is not None:
                state = ProfileState(f"Cannot tell which credentials are used: {error}")
            self.profile = state
            self.sign_in_state.configure(text="" if state.missing else state.text)
            if state.missing:  # the warning says it all, on the field
                self.sign_in_state.grid_remove()
            else:
                self.sign_in_state.grid()
            if state.suggestion:
                self.use_suggested.configure(text=f"Use {state.suggestion!r}")
                self.use_suggested.grid(row=5, column=0, sticky="w", pady=(self.look.px(4), 0))
            else:
                self.use_suggested.grid_remove()
            self._show_problems(self.problems)
            self._mark_sections()
            self._probe()

        self.background.run(lambda: profile_state(name), done)

    def _use_suggested_profile(self) -> None:
        if self.profile.suggestion:
            self.fields["aws_profile"].set(self.profile.suggestion)
            self.fields["aws_profile"].focus()

    def _all_fields(self) -> list[forms.Field]:
        return [*self.fields.values(), *self.plugins.fields]

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
        held = config_module.file_values(text)
        self.yaml_error = held.yaml_error
        self._loading = True
        try:
            for key, field in self.fields.items():
                if key == START_AT_LOGIN:
                    field.load(self._autostart_enabled())
                elif (section := self._switched_by(BY_NAME[key])) is not None and not held.values[section.name]:
                    field.load(SWITCHED_OFF)
                else:
                    field.load(held.values[key])
            self.plugins.load(held.plugins)
        finally:
            self._loading = False
        for row in KEYS:
            if row.keys:
                self._enable_section(row)
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
        for row in KEYS:
            if row.keys:
                fields = {inner.name.rpartition(".")[2]: (inner, self.fields[inner.name]) for inner in row.keys}
                if not any(field.dirty for _, field in fields.values()):
                    continue
                if row.switch is None:
                    changes[row.name] = {name: field.get() for name, (_, field) in fields.items() if field.dirty}
                elif self._section_on(row):  # written whole: the file may have said just `true`
                    changes[row.name] = {name: inner.default if field.get() is None else field.get()
                                         for name, (inner, field) in fields.items()}
                else:
                    changes[row.name] = REMOVE
            elif (field := self.fields.get(row.name)) is not None and field.dirty:
                value = field.get()
                changes[row.name] = (value or "") if row.required else (REMOVE if value is None or value == [] else value)
        if self.plugins.dirty:
            changes["plugins"] = self.plugins.value()
        return changes

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
        config: Config | None = None
        changes = self._changes()
        problems = self.plugins.problems(self.path)
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
        return self.plugins.field_for(problem) if key.startswith("plugins") else None

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
        if self.profile.missing:  # a warning, not a problem: the file is valid, and the profile may be added later
            shown.setdefault(id(self.fields["aws_profile"]), []).append(f"⚠ {self.profile.text}")
        for field in self._all_fields():
            field.show_error("\n".join(shown.get(id(field), [])) or None)
        self.general_problems = general
        self.plugins.message.configure(text="\n".join(p for p in general if p.startswith("plugins")))
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
        self._mark_sections()

    def _mark_sections(self) -> None:
        """⚠ beside each section with a problem, or with the warning of a missing AWS profile."""
        marked = {self._section_of(f) for p in self.problems if (f := self._field_for(p)) is not None}
        if self.profile.missing:
            marked.add(self._section_of(self.fields["aws_profile"]))
        for section in config_module.PAGES:
            self.nav.item(section, text=f"{section}  ⚠" if section in marked else section, tags=("bad",) if section in marked else ())

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

    def _scroll_to(self, field: forms.Field, event: object = None) -> None:
        self.content.scroll_into_view(field.frame)

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
            "sections": [self.nav.item(section, "text") for section in config_module.PAGES],
            "suggested_profile": self.use_suggested.cget("text") if self.use_suggested.winfo_manager() else "",
            "problem_banner": self.problem_text.cget("text") if self.problem_banner.winfo_manager() else "",
            "saved": self._saved,  # the last thing done was a save: no edit since
            "config_path": {"lines": (lines := str(self.path_label.cget("text")).split("\n")),
                            "measured": [self.look.small.measure(line) for line in lines], "width": self.look.px(170)},
            "layout": {name: [widget.winfo_rootx() - self.root.winfo_rootx(), widget.winfo_rooty() - self.root.winfo_rooty(),
                              widget.winfo_width(), widget.winfo_height(), widget.winfo_reqwidth()]
                       for name, widget in (("summary", self.summary), ("Close", self.close_button), ("Save", self.save_button))},
        })
