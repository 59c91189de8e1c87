"""The tray's "Start at login" checkbox writes and removes the real XDG autostart file, and shows what is on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.desktop.harness import TrayApp
from tests.helpers import wait_until


def login_item(probe: dict[str, Any]) -> dict[str, Any]:
    return next(item for item in probe["menu"] if item.get("text") == "Start at login")


def test_start_at_login_checkbox(tray_app: TrayApp, private_home: Path) -> None:
    entry = private_home / "config" / "autostart" / "s3-sqs-agent.desktop"
    tray_app.start()
    assert login_item(tray_app.wait_probe(lambda p: True))["checked"] is False
    tray_app.choose("Start at login")
    wait_until(entry.exists, 20, "the autostart file")
    assert "Exec=" in entry.read_text(encoding="utf-8")
    tray_app.wait_probe(lambda p: login_item(p)["checked"] is True, what="the checkbox to be ticked")
    tray_app.choose("Start at login")
    wait_until(lambda: not entry.exists(), 20, "the autostart file to be removed")
    tray_app.wait_probe(lambda p: login_item(p)["checked"] is False, what="the checkbox to be cleared")
    assert tray_app.stop() == 0
