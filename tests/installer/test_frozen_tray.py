"""The frozen app's tray docks in a real tray host under Xvfb (the bundled GTK, AppIndicator and pystray backends work),
and its first double-click on a fresh profile opens the Setup window (the windows are in the build)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.aws import Setup
from tests.desktop.harness import TrayApp
from tests.helpers import wait_until, write_config
from tests.installer.conftest import Build, first_run_opens_setup

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def test_frozen_tray_docks(build: Build, desktop: Any, aws: Setup, private_home: Path) -> None:
    config = write_config(private_home / "config" / "s3-sqs-agent" / "config.yaml", aws.config(str(private_home / "downloads")))
    app = TrayApp(desktop, config, private_home, command=[str(build.exe)]).start(wait_docked=False)
    try:
        probe = app.wait_probe(lambda p: p["status"] != "Starting…", timeout=60, what="the frozen tray to draw")
        assert probe["backend"] in ("appindicator", "gtk")
        assert probe["pid"] == app.process.pid if app.process else False
        _x, _y, width, height = wait_until(app.icon, 60, "the frozen app's icon to dock in trayer")
        assert width > 0 and height > 0
        labels = [item.get("text") for item in probe["menu"] if not item.get("separator")]
        assert "Quit" in labels
        aws.put("docked.txt", b"hello")
        app.wait_state("idle", timeout=60)
        wait_until((private_home / "downloads" / "docked.txt").exists, 60, "the frozen tray app to download")
    finally:
        code = app.stop()
    assert code == 0, app.read_output()


def test_a_first_double_click_opens_setup(build: Build, desktop: Any, private_home: Path) -> None:
    first_run_opens_setup(build.exe, desktop, private_home, "frozen-first-run-setup.png")
