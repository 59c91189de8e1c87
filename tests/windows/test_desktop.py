"""The tray app under Wine as a Windows user meets it: a double-click on a fresh profile opens Setup; with a config,
the icon sits in the notification area (pystray's win32 backend) with its menu, Start at login writes the Run value,
notifications fall back to the log when Windows has no toast service, Settings and Activity open and render, an
edit of the config is applied (watchdog's Windows observer) and a broken one keeps the last good, and a second
launch points at the first. Screenshots: test-artifacts/windows/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PIL import Image

from agent.api import APP_TITLE
from tests.aws import Setup
from tests.helpers import wait_until
from tests.windows.harness import Machine, WindowsApp

NO_TOASTS = "Desktop notifications are not available here (OSError: "
"""The one line the notifier writes where DesktopNotifier() raises: under Wine, whose WinRT has no toast class, as on
Windows Server and locked-down images."""


@pytest.fixture
def tray(machine: Machine) -> Iterator[WindowsApp]:
    """The app as a double-click starts it: no arguments."""
    app = WindowsApp(machine)
    yield app
    if app.alive():
        machine.prefix.kill()


def distinct_colours(image: Image.Image) -> int:
    return len(image.convert("RGB").getcolors(maxcolors=1 << 20) or [])


def quit_from_the_menu(app: WindowsApp) -> None:
    app.choose("Quit")
    assert app.wait_exit(120) == 0, app.read_output()[-3000:]


def test_a_double_click_on_a_fresh_profile_opens_setup_and_it_stays(tray: WindowsApp) -> None:
    machine = tray.machine
    assert not machine.data_folder.exists()  # a fresh profile: no config, no ledger, no log
    tray.start()
    probe = tray.wait_probe(lambda p: p["status"] == "Not set up yet", 240, "the first-run status line")
    assert probe["backend"] == "win32" and probe["state"] == "setup", probe
    setup = tray.wait_window("setup", lambda p: bool(p["accounts"]), 240, "the Setup window to open by itself")
    assert setup["step"] == "account", setup
    wait_until(lambda: tray.window_on_screen(f"Set up {APP_TITLE}"), 60, "the Setup window on the screen")
    image = tray.window_screenshot("setup", "setup.png")
    assert image.width >= 400 and image.height >= 300 and distinct_colours(image) > 30, "the Setup window is not drawn"
    tray.wait_probe(lambda p: p["status"] == "Not set up yet", 60)  # the tray keeps running beside it
    wait_until(tray.icon, 60, "the icon in the notification area")
    assert tray.window_on_screen(f"Set up {APP_TITLE}"), "the Setup window went away"
    assert "Traceback" not in tray.read_output() + machine.log(), tray.read_output()[-3000:]
    assert machine.config_file.is_file()  # the commented template, for those who open the file
    quit_from_the_menu(tray)


def test_the_tray_icon_menu_start_at_login_fallback_notices_and_a_second_launch(tray: WindowsApp, aws: Setup) -> None:
    machine = tray.machine
    downloads = machine.home / "downloads"
    machine.write_config(aws.config(machine.win(downloads)))
    tray.start()
    probe = tray.wait_probe(lambda p: p["state"] == "idle", 240, "the tray to be up to date")
    assert probe["backend"] == "win32"
    _x, _y, width, height = wait_until(tray.icon, 60, "the icon in the notification area")
    assert width > 0 and height > 0
    aws.put("take 01.wav", b"audio")
    wait_until((downloads / "take 01.wav").exists, 120, "the tray app to download")
    tray.wait_probe(lambda p: p["status"] == "Up to date: 1 file today", 60, "the download in the status line")

    tray.wait_settled()
    menu = tray.open_menu()
    image = machine.screenshot("tray-menu.png", (menu[0], menu[1], menu[0] + menu[2], menu[1] + menu[3]))
    assert distinct_colours(Image.open(image)) > 10, "the menu is not drawn"
    tray.close_menu()

    assert machine.run_value() is None
    tray.choose("Start at login")
    wait_until(machine.run_value, 60, "the Run value")
    assert machine.run_value() == f'"{machine.win(machine.exe)}"'
    tray.wait_probe(lambda p: tray_item(p, "Start at login").get("checked") is True, 60, "the tick on Start at login")
    tray.choose("Start at login")
    wait_until(lambda: machine.run_value() is None, 60, "the Run value to go")

    second = machine.agent()  # another double-click while the tray runs
    assert second.returncode == 0, second.stdout + second.stderr
    assert "is already running" in second.stderr and "system tray" in second.stderr, second.stderr
    assert tray.alive()

    log = machine.log()
    assert log.count(NO_TOASTS) == 1, log[-4000:]  # the tray's notifier said it once; the second launch said nothing more
    assert "Traceback" not in log and "ERROR" not in log, log[-4000:]
    assert "Notification: " in log  # what a toast would have said is in the log
    quit_from_the_menu(tray)


def test_the_open_menu_still_answers_when_a_download_changes_it(tray: WindowsApp, aws: Setup) -> None:
    """pystray rebuilds a win32 menu by destroying it: one rebuilt while it is open stops answering (under Wine it
    stays on the screen, deaf to Escape, keys and clicks). A download that ends while the menu is open now changes
    it once the menu has closed."""
    machine = tray.machine
    downloads = machine.home / "downloads"
    machine.write_config(aws.config(machine.win(downloads)))
    tray.start()
    tray.wait_probe(lambda p: p["state"] == "idle", 240, "the tray to be up to date")
    tray.wait_settled()
    tray.open_menu()
    aws.put("while open.wav", b"audio")
    wait_until((downloads / "while open.wav").exists, 120, "the download while the menu is open")
    tray.wait_probe(lambda p: p["status"] == "Up to date: 1 file today", 60, "the tray to take the change")
    assert tray.menu() is not None, "the menu closed by itself"
    tray.close_menu()  # Escape: before, the menu stayed on the screen and answered nothing
    menu = tray.open_menu()
    machine.screenshot("tray-menu-after-a-change.png", (menu[0], menu[1], menu[0] + menu[2], menu[1] + menu[3]))
    tray.close_menu()
    quit_from_the_menu(tray)


def tray_item(probe: dict[str, object], text: str) -> dict[str, object]:
    items = probe["menu"]
    assert isinstance(items, list)
    return next(item for item in items if str(item.get("text", "")).startswith(text))


def test_activity_and_settings_open_from_the_menu_and_render(tray: WindowsApp, aws: Setup) -> None:
    machine = tray.machine
    downloads = machine.home / "downloads"
    machine.write_config(aws.config(machine.win(downloads)))
    tray.start()
    tray.wait_probe(lambda p: p["state"] == "idle", 240, "the tray to be up to date")
    aws.put("sessions/take 01.wav", b"audio")
    wait_until((downloads / "sessions" / "take 01.wav").exists, 120, "the download")
    tray.wait_probe(lambda p: p["status"] == "Up to date: 1 file today", 60, "the download in the status line")

    tray.choose("Activity…")
    activity = tray.wait_window("activity", lambda p: bool(p["recent"]), 240, "Activity with the download in Recent")
    assert "take 01.wav" in str(activity["recent"]), activity
    wait_until(lambda: tray.window_on_screen(f"Activity – {APP_TITLE}"), 60, "the Activity window on the screen")
    image = tray.window_screenshot("activity", "activity.png")
    assert image.width >= 400 and distinct_colours(image) > 30, "the Activity window is not drawn"

    tray.choose("Settings…")
    settings = tray.wait_window("settings", lambda p: bool(p["values"]), 240, "the Settings window")
    assert settings["values"]["sqs_queue_url"] == aws.queue_url, settings["values"]
    wait_until(lambda: tray.window_on_screen(f"Settings – {APP_TITLE}"), 60, "the Settings window on the screen")
    image = tray.window_screenshot("settings", "settings.png")
    assert image.width >= 400 and distinct_colours(image) > 30, "the Settings window is not drawn"
    quit_from_the_menu(tray)


def test_an_edit_of_the_config_is_applied_and_a_broken_one_keeps_the_last_good(tray: WindowsApp, aws: Setup) -> None:
    machine = tray.machine
    first, second = machine.home / "first", machine.home / "second"
    machine.write_config(aws.config(machine.win(first)))
    tray.start()
    tray.wait_probe(lambda p: p["state"] == "idle", 240, "the tray to be up to date")

    machine.write_config(aws.config(machine.win(second)))  # saved from an editor while the tray runs
    tray.wait_probe(lambda p: machine.prefix.unix_path(p["download_folder"]) == second, 120, "the new download folder")
    aws.put("after edit.wav", b"1")
    wait_until((second / "after edit.wav").exists, 120, "a download into the new folder")

    machine.config_file.write_text("sqs_queue_url: [this is not YAML\n", encoding="utf-8")
    wait_until(lambda: "config.yaml" in machine.log() and "last good" in machine.log().lower(), 120,
               "the agent to say the file is broken and what it keeps")
    aws.put("after broken edit.wav", b"2")
    wait_until((second / "after broken edit.wav").exists, 120, "a download with the last good config")
    probe = tray.probe()
    assert probe is not None and machine.prefix.unix_path(probe["download_folder"]) == second
    assert not first.exists() or not any(first.iterdir())
    quit_from_the_menu(tray)

