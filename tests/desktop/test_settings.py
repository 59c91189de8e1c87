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
from tests.desktop.harness import Desktop, TrayApp
from tests.helpers import wait_until


@pytest.fixture
def app(wide_desktop: Desktop, tray_config: Path, private_home: Path) -> Iterator[TrayApp]:
    """The tray on the wide desktop, with its home folder as HOME: the config shows as ~/config/s3-sqs-agent/config.yaml."""
    wide_desktop.notifications.clear()
    tray = TrayApp(wide_desktop, tray_config, private_home, extra_env={"HOME": str(private_home)})
    yield tray
    if tray.alive():
        tray.stop()


def open_settings(app: TrayApp) -> dict[str, Any]:
    app.start()
    app.choose("Settings…")
    return app.wait_window("settings", lambda p: p["section"] == "General", what="the Settings window")


def close_settings(app: TrayApp) -> None:
    app.keys("Escape")
    wait_until(lambda: app.window_closed("settings"), 15, "Escape to close Settings")

BASE = """\
sqs_queue_url: http://127.0.0.1:9/123456789012/uploads
download_folder: {folder}
retry_base_seconds: 0      # so that each retry bound is valid on its own
retry_max_seconds: 43200
"""


@pytest.fixture
def settings(desktop: Desktop, tmp_path: Path) -> Iterator[SettingsWindow]:
    """The Settings window in this process, for a valid config: on the session's desktop, which outlives every test
    (Tk keeps a display open after its window is gone, and a display that went away ends the process at the next
    event)."""
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


def test_the_sidebar_wraps_the_config_path_at_its_separators_and_the_status_line_never_pushes_a_button_aside(
        app: TrayApp) -> None:
    probe = open_settings(app)
    lines, width = probe["config_path"]["lines"], probe["config_path"]["width"]
    assert "".join(lines) == "~/config/s3-sqs-agent/config.yaml", lines
    assert len(lines) > 1 and all(line.endswith("/") for line in lines[:-1]), f"cut mid-word: {lines}"
    assert all(measured <= width for measured in probe["config_path"]["measured"]), probe["config_path"]
    app.keys("Down", "Down")  # the section list has the focus: on to Downloads
    app.wait_window("settings", lambda p: p["section"] == "Downloads", what="the Downloads section")
    app.keys("Tab")  # the first field, its text selected: typing replaces it
    app.type_text("5")
    app.wait_window("settings", lambda p: p["values"]["concurrency"] == 5 and p["save_enabled"], what="the change")
    app.keys("ctrl+s")
    probe = app.wait_window("settings", lambda p: p["saved"], what="Save")
    assert probe["summary"].startswith("Saved."), probe["summary"]
    app.window_screenshot("settings", "settings-saved.png")
    window_width = probe["geometry"][2]
    summary = probe["layout"]["summary"]
    for name in ("Close", "Save"):
        x, y, shown, _, wanted = probe["layout"][name]
        assert shown >= wanted and x + shown <= window_width, f"{name} is squeezed or pushed out: {probe['layout']}"
        assert summary[1] + summary[3] <= y, f"the status line shares {name}'s row: {probe['layout']}"
    assert summary[2] >= summary[4], f"the status line is cut short: {probe['layout']}"
    close_settings(app)


def test_the_endpoint_field_says_the_same_in_setup_and_settings_and_it_reads_as_no_value(wide_desktop: Desktop, app: TrayApp,
                                                                                          private_home: Path) -> None:
    newcomer = private_home / "newcomer"  # a computer where the agent never ran: Setup opens by itself
    newcomer.mkdir()
    setup = TrayApp(wide_desktop, newcomer / "config" / "s3-sqs-agent" / "config.yaml", newcomer, extra_env={"HOME": str(newcomer)})
    try:
        setup.start()
        setup.wait_window("setup", lambda p: p["accounts"], 20, "the Setup window to open by itself")
        setup.keys("Return")
        probe = setup.wait_window("setup", lambda p: p["step"] == "queue", what="the Queue step")
        setup.window_screenshot("setup", "setup-endpoint.png")
        in_setup = probe["placeholders"].get("endpoint_url")
    finally:
        setup.stop()
    probe = open_settings(app)
    app.keys("Down")  # on to Account
    app.wait_window("settings", lambda p: p["section"] == "Account", what="the Account section")
    app.keys("Tab", "Tab", "Tab", "Tab", "Tab", "BackSpace")  # profile, queue, bucket, region, endpoint: emptied
    probe = app.wait_window("settings", lambda p: p["values"]["endpoint_url"] is None, what="the emptied Endpoint field")
    app.window_screenshot("settings", "settings-endpoint.png")
    assert in_setup == probe["placeholders"]["endpoint_url"] == config.ENDPOINT_PLACEHOLDER, (in_setup, probe["placeholders"])
    with pytest.raises(ValueError):
        config.SCALARS["endpoint_url"](in_setup)  # nothing a person could take for an address
    assert in_setup.strip().upper() != "AWS", "reads as if the endpoint were set to 'AWS'"


def test_a_misspelt_profile_is_marked_on_account_with_the_one_meant_and_one_key_press_fixes_it(
        app: TrayApp, tray_config: Path, private_home: Path) -> None:
    (private_home / "aws-credentials").write_text("[Studio]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
                                                  encoding="utf-8")
    tray_config.write_text(tray_config.read_text(encoding="utf-8") + "aws_profile: studio\n", encoding="utf-8")
    probe = open_settings(app)
    probe = app.wait_window("settings", lambda p: "Account  ⚠" in p["sections"], what="the ⚠ on Account")
    warning = probe["errors"]["aws_profile"]
    assert "There is no profile named 'studio'" in warning and "Did you mean 'Studio'? Profile names are case-sensitive." in warning
    assert probe["suggested_profile"] == "Use 'Studio'" and probe["save_enabled"] is False  # nothing changed yet
    assert not [s for s in probe["sections"] if "⚠" in s and s != "Account  ⚠"], probe["sections"]
    app.keys("Down")  # on to Account
    app.wait_window("settings", lambda p: p["section"] == "Account", what="the Account section")
    app.window_screenshot("settings", "settings-profile-misspelt.png")
    app.keys("Tab", "Tab", "space")  # the profile field, then its "Use 'Studio'"
    probe = app.wait_window("settings", lambda p: p["values"]["aws_profile"] == "Studio" and "Account" in p["sections"],
                            what="the suggested profile taken")
    assert "aws_profile" not in probe["errors"] and not probe["suggested_profile"], probe
    assert probe["sign_in_state"].startswith("Access key"), probe["sign_in_state"]
    app.window_screenshot("settings", "settings-profile-fixed.png")
    app.keys("ctrl+s")
    app.wait_window("settings", lambda p: p["saved"], what="Save")
    assert config.load(tray_config).aws_profile == "Studio"
    close_settings(app)
