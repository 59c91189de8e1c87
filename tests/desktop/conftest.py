"""Fixtures for the desktop tests: one headless desktop per session, and a tray app per test (Linux only)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.aws import Setup
from tests.helpers import write_config

if sys.platform != "linux":
    pytest.skip("the desktop tests need Linux (Xvfb, trayer, D-Bus)", allow_module_level=True)

from tests.desktop.harness import Desktop, TrayApp, start_desktop


@pytest.fixture(scope="session")
def desktop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desktop]:
    yield from start_desktop(tmp_path_factory.mktemp("desktop"))


@pytest.fixture(scope="module")
def wide_desktop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desktop]:
    """A desktop with room for the windows at their own size (the tray tests' screen is 640x480), one per module."""
    yield from start_desktop(tmp_path_factory.mktemp("wide-desktop"), screen="1280x800")


@pytest.fixture
def app(wide_desktop: Desktop, tray_config: Path, private_home: Path) -> Iterator[TrayApp]:
    """The tray on the wide desktop, for `tray_config`."""
    wide_desktop.notifications.clear()
    tray = TrayApp(wide_desktop, tray_config, private_home)
    yield tray
    if tray.alive():
        tray.stop()


@pytest.fixture
def notifications(desktop: Desktop) -> Any:
    desktop.notifications.clear()
    return desktop.notifications


@pytest.fixture
def tray_config(aws: Setup, private_home: Path) -> Path:
    """A config for the `aws` bucket and queue, downloading into HOME/downloads."""
    return write_config(private_home / "config" / "s3-sqs-agent" / "config.yaml",
                        aws.config(str(private_home / "downloads"), max_attempts=3))


@pytest.fixture
def tray_app(desktop: Desktop, notifications: Any, tray_config: Path, private_home: Path) -> Iterator[TrayApp]:
    app = TrayApp(desktop, tray_config, private_home)
    yield app
    if app.alive():
        app.stop()
