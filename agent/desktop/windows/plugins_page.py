"""Settings' Plugins page: a row for each installed plugin (on or off, and its options), read from and written to the
config's `plugins` list; entries for plugins not installed here are kept as they are."""

from __future__ import annotations

import functools
import tkinter as tk
from pathlib import Path
from tkinter import ttk
from typing import Any

from agent import config as config_module
from agent.config import REMOVE, PluginEntry
from agent.desktop.windows import forms
from agent.desktop.windows.theme import Theme
from agent.errors import ConfigProblem


def summary(entry: Any) -> str:
    """The first line of a plugin's own docstring: what it does, in its author's words."""
    try:
        doc = (entry.load().__doc__ or "").strip()
    except Exception as exc:  # noqa: BLE001  a plugin that cannot load says so here rather than hiding
        return f"Cannot be loaded: {type(exc).__name__}: {exc}"
    return doc.splitlines()[0] if doc else ""


class PluginsPage:
    """The rows, their values as the config's `plugins` list, and the problems with them."""

    def __init__(self, page: tk.Misc, look: Theme) -> None:
        from agent.plugins.manager import installed_plugins

        installed = installed_plugins()
        self.rows: dict[str, tuple[forms.CheckField, forms.TextField]] = {}
        self.other: list[Any] = []
        """The file's entries this window has no row for (not installed here): written back as they are."""
        if not installed:
            ttk.Label(page, text="No plugins are installed.", style="Muted.TLabel").pack(anchor="w")
        ttk.Label(page, text="Plugins act on each file: where it goes, whether it is kept, what runs after. Options are "
                             "written as a mapping, such as {template: '{year}/{name}'}.", style="Muted.TLabel",
                  wraplength=look.px(560), justify="left").pack(anchor="w", pady=(0, look.px(14)))
        for name in sorted(installed):
            enabled = forms.CheckField(page, look, f"plugins.{name}", name, summary(installed[name]))
            enabled.pack(pady=(0, look.px(6)))
            options = forms.TextField(page, look, f"plugins.{name}.options", "", "", width=52, placeholder="options, if any: {}")
            options.frame.pack(fill="x", padx=(look.px(24), 0), pady=(0, look.px(18)))
            enabled.on_change(functools.partial(self._enable_options, enabled, options))
            self.rows[name] = (enabled, options)
        self.message = ttk.Label(page, style="Error.TLabel", wraplength=look.px(560), justify="left")
        self.message.pack(anchor="w")

    @property
    def fields(self) -> list[forms.Field]:
        return [field for row in self.rows.values() for field in row]

    @property
    def dirty(self) -> bool:
        return any(field.dirty for field in self.fields)

    def load(self, entries: tuple[PluginEntry, ...]) -> None:
        configured = {entry.name: entry.options for entry in entries if entry.name}
        for name, (enabled, options) in self.rows.items():
            enabled.load(name in configured)
            options.load(config_module.options_text(configured.get(name) or {}))
            self._enable_options(enabled, options)
        self.other = [entry.raw for entry in entries if entry.name not in self.rows]

    def value(self) -> Any:
        """The config's `plugins` list as the rows say (REMOVE when it would be empty)."""
        entries: list[Any] = list(self.other)
        for name, (enabled, options) in self.rows.items():
            if enabled.get():
                parsed = config_module.read_options(options.get())
                entries.append({"name": name, "options": parsed} if parsed else {"name": name})
        return entries or REMOVE

    def problems(self, path: Path) -> list[ConfigProblem]:
        """Options typed that are not a mapping (the parser would never see them)."""
        return [ConfigProblem(str(path), f"plugin {name!r}: write the options as a mapping, such as {{template: '{{year}}/{{name}}'}}",
                              "plugins")
                for name, (enabled, options) in self.rows.items() if enabled.get() and config_module.read_options(options.get()) is None]

    def field_for(self, problem: ConfigProblem) -> forms.Field | None:
        """The options field of the plugin a problem names."""
        for name, (_, options) in self.rows.items():
            if f"{name!r}" in problem.message or f"plugin {name}" in problem.message:
                return options
        return None

    @staticmethod
    def _enable_options(enabled: forms.CheckField, options: forms.TextField) -> None:
        options.entry.state(["!disabled"] if enabled.get() else ["disabled"])
