"""The Pause submenu under Xvfb: a timed pause shows when it ends, resumes by itself, and survives a restart."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from agent.desktop.tray_view import PAUSE_SCALE_ENV
from tests.aws import Setup
from tests.desktop.harness import Desktop, TrayApp
from tests.helpers import run_agent, wait_until

# The menu's lengths, shortened for the test through the same code path: "For 30 minutes" lasts 7.2 s,
# "For 2 hours" 29 s.
SCALE = 0.004
PAUSE_LABELS = ["For 30 minutes", "For 1 hour", "For 2 hours", "For 8 hours", "Until tomorrow, 09:00", "Until I resume"]


@pytest.fixture
def timed_app(desktop: Desktop, notifications: object, tray_config: Path, private_home: Path) -> Iterator[TrayApp]:
    app = TrayApp(desktop, tray_config, private_home, extra_env={PAUSE_SCALE_ENV: str(SCALE)})
    yield app
    if app.alive():
        app.stop()


def paused_until(probe: dict[str, object]) -> str | None:
    match = re.fullmatch(r"Paused until ((?:tomorrow )?\d\d:\d\d)", str(probe["status"]))
    return match.group(1) if match and probe["paused"] and probe["state"] == "paused" else None


def test_a_timed_pause_says_until_when_and_resumes_by_itself(timed_app: TrayApp, desktop: Desktop, aws: Setup,
                                                             private_home: Path) -> None:
    downloads = private_home / "downloads"
    timed_app.start()
    [pause_item] = [item for item in timed_app.wait_state("idle")["menu"] if item.get("text") == "Pause"]
    assert [entry["text"] for entry in pause_item["submenu"]] == PAUSE_LABELS

    menu = timed_app.open_menu()  # the submenu, open as a person sees it
    desktop.run("xdotool", "key", "--delay", "80", "Down", "Right")
    wait_until(lambda: len(desktop.popup_menus()) == 2, 10, "the Pause submenu to open")
    desktop.screenshot("pause-menu.png", (max(0, menu[0] - 200), 0, 640, min(480, menu[1] + menu[3] + 10)))
    desktop.run("xdotool", "key", "Escape", "Escape")
    wait_until(lambda: not desktop.popup_menus(), 10, "the menu to close")

    chosen_at = datetime.now().astimezone()
    timed_app.choose("Pause", "For 30 minutes")
    probe = timed_app.wait_probe(paused_until, what="Paused until HH:MM")
    ends = chosen_at.timestamp() + 30 * 60 * SCALE
    assert paused_until(probe) in {f"{datetime.fromtimestamp(ends + d):%H:%M}" for d in (-1, 0, 5)}
    texts = [item.get("text") for item in probe["menu"] if not item.get("separator")]
    assert "Resume" in texts and "Pause" not in texts
    aws.put("during.wav", b"during the pause")

    timed_app.wait_probe(lambda p: not p["paused"] and p["state"] == "idle", 60, "the pause to end by itself")
    wait_until((downloads / "during.wav").exists, 30, "during.wav to download once the pause ended")
    log = timed_app.log()
    assert log.index("The pause until") < log.index("Downloaded during.wav"), "downloaded while paused"
    assert datetime.now().timestamp() >= ends


def test_a_timed_pause_survives_a_restart_and_status_shows_it(timed_app: TrayApp, aws: Setup, private_home: Path) -> None:
    timed_app.start()
    timed_app.choose("Pause", "For 2 hours")
    before = paused_until(timed_app.wait_probe(paused_until, what="Paused until HH:MM"))
    assert timed_app.stop() == 0

    status = run_agent("status")
    assert status.returncode == 0 and f"Paused: until {before}" in status.stdout, status.stdout

    aws.put("after.wav", b"after the restart")
    timed_app.start()
    probe = timed_app.wait_probe(lambda p: p["paused"], what="the pause to survive the restart")
    assert paused_until(probe) == before
    timed_app.wait_probe(lambda p: not p["paused"] and p["state"] == "idle", 180, "the pause to end by itself after the restart")
    wait_until((private_home / "downloads" / "after.wav").exists, 30, "after.wav to download once the pause ended")
