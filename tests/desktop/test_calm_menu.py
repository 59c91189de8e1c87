"""The tray's menu and tooltip hold still while what they show does not change, read over D-Bus as a StatusNotifier
panel (KDE, GNOME's AppIndicator extension) reads them: a menu rebuilt while it is open can stop answering (Wine's)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.aws import Setup
from tests.desktop.harness import Desktop, TrayApp, start_desktop
from tests.desktop.status_notifier import StatusNotifierHost, shown
from tests.helpers import write_config

OBSERVED_SECONDS = 8.0
"""How long the menu is watched while offline: a countdown would have redrawn it this many times."""


@pytest.fixture(scope="module")
def panel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desktop]:
    yield from start_desktop(tmp_path_factory.mktemp("panel-desktop"), status_notifier=True)


def entry(menu: list[dict[str, Any]], label: str) -> dict[str, Any]:
    return next(item for item in menu if item["visible"] and str(item["label"]).startswith(label))


def test_offline_with_a_long_back_off_the_menu_holds_still_and_a_pause_shows_at_once(
        panel: Desktop, aws: Setup, private_home: Path) -> None:
    host = panel.status_notifier
    assert isinstance(host, StatusNotifierHost)
    config = private_home / "config" / "s3-sqs-agent" / "config.yaml"
    settings = aws.config(str(private_home / "downloads"), retry_base_seconds=60, retry_max_seconds=60)
    write_config(config, settings)
    app = TrayApp(panel, config, private_home).start(wait_docked=False)
    try:
        assert app.wait_state("idle")["backend"] == "appindicator"
        host.wait_for(lambda: shown(host.menu())[0].startswith("Up to date"), what="the panel to show the menu")

        write_config(config, {**settings, "endpoint_url": "http://127.0.0.1:9"})  # nothing answers there
        app.wait_state("offline", 60)
        menu = host.wait_for(lambda: shown(host.menu()), what="the offline menu")
        host.wait_for(lambda: shown(host.menu())[0] == "Offline: retrying within a minute" and len(shown(host.menu())) > 2,
                      what=f"the offline status line and what is wrong under it; the menu shows {menu[:3]}")
        title = host.property("Title")
        assert title == "S3 SQS Agent: Offline: retrying within a minute"

        started = time.monotonic()
        while time.monotonic() < started + OBSERVED_SECONDS:  # a countdown would redraw each second meanwhile
            assert app.alive()
            time.sleep(0.2)
        rebuilds, titles = host.signals_since(started, "LayoutUpdated"), host.signals_since(started, "NewTitle")
        per_minute = len(rebuilds) * 60 / OBSERVED_SECONDS
        assert not rebuilds, f"the menu was rebuilt {len(rebuilds)} times in {OBSERVED_SECONDS:g} s ({per_minute:g} a minute)"
        assert not titles, f"the tooltip changed {len(titles)} times in {OBSERVED_SECONDS:g} s"
        assert shown(host.menu())[0] == "Offline: retrying within a minute"

        # A real change: Pause, Until I resume, clicked as the panel sends it. The menu says so without a wait.
        pause = entry(host.menu(), "Pause")
        clicked = time.monotonic()
        host.click(entry(pause["children"], "Until I resume")["id"])
        host.wait_for(lambda: shown(host.menu())[0] == "Paused" and "Resume" in shown(host.menu()), 10,
                      "the menu to show Paused and Resume")
        assert host.signals_since(clicked, "LayoutUpdated"), "the panel was told the menu changed"
        assert host.wait_for(lambda: host.property("Title") == "S3 SQS Agent: Paused", 10, "the tooltip to say Paused")
    finally:
        assert app.stop() == 0


def test_a_change_the_menu_does_not_show_does_not_rebuild_it(panel: Desktop, aws: Setup, private_home: Path) -> None:
    """A new download folder changes what the tray knows, not a menu item: the panel's menu keeps its items (a rebuilt
    one has new item ids) and hears of no new layout."""
    host = panel.status_notifier
    assert isinstance(host, StatusNotifierHost)
    config = private_home / "config" / "s3-sqs-agent" / "config.yaml"
    settings = aws.config(str(private_home / "downloads"))
    write_config(config, settings)
    app = TrayApp(panel, config, private_home).start(wait_docked=False)
    try:
        app.wait_state("idle")
        before = host.wait_for(lambda: shown(host.menu())[0].startswith("Up to date") and host.menu(), what="the menu")
        changed = time.monotonic()
        write_config(config, {**settings, "download_folder": str(private_home / "elsewhere")})
        app.wait_probe(lambda probe: probe["download_folder"] == str(private_home / "elsewhere"), what="the new folder")
        assert host.menu() == before
        assert not host.signals_since(changed, "LayoutUpdated")
    finally:
        assert app.stop() == 0
