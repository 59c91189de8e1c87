"""The tray's "Create diagnostics bundle…": a zip beside the downloads, shown in its folder, and a notice saying where."""

from __future__ import annotations

import zipfile
from pathlib import Path

from tests.aws import Setup
from tests.desktop.harness import TrayApp
from tests.desktop.notification_server import NotificationServer
from tests.helpers import wait_until


def test_the_bundle_is_written_beside_the_downloads_and_shown(tray_app: TrayApp, aws: Setup, private_home: Path,
                                                              notifications: NotificationServer) -> None:
    downloads = private_home / "downloads"
    tray_app.start()
    aws.put("take.wav", b"take")
    wait_until((downloads / "take.wav").exists, 30, "take.wav to download")
    tray_app.choose("Create diagnostics bundle…")
    wait_until(tray_app.opened, 30, "the bundle to be shown in its folder")
    [opened] = tray_app.opened()
    path = Path(opened["path"])
    assert opened["action"] == "reveal" and path.parent == downloads.parent and path.suffix == ".zip"
    notice = notifications.wait_for(lambda n: n.summary == "Diagnostics bundle created", what="the notice")
    assert path.name in notice.body and str(downloads.parent) in notice.body and "masked" in notice.body
    with zipfile.ZipFile(path) as bundle:
        summary = bundle.read(f"{path.stem}/summary.txt").decode()
        log = bundle.read(f"{path.stem}/logs/agent.log").decode()
    backend = tray_app.probe()["backend"]  # type: ignore[index]
    assert f"Tray backend: {backend}\n" in summary and "files_downloaded: 1" in summary
    assert "Downloaded take.wav" in log and f"Tray backend: {backend}" in log
