"""The Settings window against the config's table: every field the table asks for, accepting what the parser accepts."""

from __future__ import annotations

import tkinter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent import config
from agent.desktop.windows import theme
from agent.desktop.windows.child import Channel
from agent.desktop.windows.forms import NumberField
from agent.desktop.windows.settings import SettingsWindow
from agent.errors import ConfigError
from tests.desktop.harness import Desktop

BASE = """\
sqs_queue_url: http://127.0.0.1:9/123456789012/uploads
download_folder: {folder}
retry_base_seconds: 0      # so that each retry bound is valid on its own
retry_max_seconds: 43200
"""


@pytest.fixture
def settings(desktop: Desktop, tmp_path: Path) -> Iterator[SettingsWindow]:
    """The Settings window in this process, on the test desktop, for a valid config."""
    path = tmp_path / "config.yaml"
    path.write_text(BASE.format(folder=tmp_path / "in"), encoding="utf-8")
    root = tkinter.Tk(screenName=desktop.display)
    try:
        window = SettingsWindow(root, theme.apply(root), Channel(root, None, None), path)
        root.update()
        yield window
    finally:
        root.destroy()


def parser_accepts(path: Path, key: str, value: Any) -> bool:
    section, _, inner = key.rpartition(".")
    changes = {section: {"tier": "Standard", inner: value}} if section else {key: value}
    try:
        config.parse(config.with_changes(path.read_text(encoding="utf-8"), changes, path), path)
    except ConfigError:
        return False
    return True


def settings_accepts(window: SettingsWindow, field: NumberField, text: str) -> bool:
    field.variable.set(text)
    window._validate()
    return not field.message.cget("text")


def spin(window: SettingsWindow, field: NumberField, start: float, step: int) -> Any:
    """Type `start`, then press the field's up (+1) or down (-1) arrow once: the value it then shows."""
    field.variable.set(f"{start:g}")
    field.entry.event_generate("<<Increment>>" if step > 0 else "<<Decrement>>")
    window.root.update()
    return field.get()


def test_every_number_field_accepts_exactly_what_the_config_accepts_at_its_bounds(desktop: Desktop,
                                                                                   settings: SettingsWindow) -> None:
    bounded = [row for row in config.BY_NAME.values() if row.check.low is not None and row.check.high is not None]
    assert {row.name for row in bounded} >= {"concurrency", "max_attempts", "retry_base_seconds", "retry_max_seconds",
                                              "restore_archived.days"}
    settings.fields["restore_archived.tier"].set("Standard")  # the days are asked only once restoring is on
    settings.root.update()
    for row in bounded:
        field = settings.fields[row.name]
        original = field.variable.get()
        assert isinstance(field, NumberField), f"{row.name} is shown as {type(field).__name__}, not as a number"
        low, high = row.check.low, row.check.high
        assert low is not None and high is not None
        step = 1 if row.check.integer else 0.5
        for value in (low - step, low, low + step, (low + high) / 2, high - step, high, high + step, "lots"):
            text = value if isinstance(value, str) else f"{value:g}"
            accepted = settings_accepts(settings, field, text)
            assert accepted == parser_accepts(settings.path, row.name, field.get()), f"{row.name}: {text}"
        # The arrows stop at the config's own bounds: neither short of them nor past them.
        assert spin(settings, field, high - 1, +1) == high and spin(settings, field, high, +1) == high, row.name
        assert spin(settings, field, low + 1, -1) == low and spin(settings, field, low, -1) == low, row.name
        assert settings_accepts(settings, field, f"{high:g}") and settings_accepts(settings, field, f"{low:g}"), row.name
        field.variable.set(original)
    for row in bounded:
        settings.fields[row.name].set(row.check.high)
    settings._validate()
    settings.nav.selection_set("Failures")
    screenshot(desktop, settings, "settings-bounds.png")
    assert not settings.problems and settings.save_button.instate(["!disabled"])  # every field at its upper bound: valid


def screenshot(desktop: Desktop, window: SettingsWindow, name: str) -> Path:
    root = window.root
    root.update()
    x, y = root.winfo_rootx(), root.winfo_rooty()
    return desktop.screenshot(name, (x, y, x + root.winfo_width(), y + root.winfo_height()))
