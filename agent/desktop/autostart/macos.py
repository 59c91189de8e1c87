"""Start at login on macOS: a LaunchAgent plist in ~/Library/LaunchAgents with RunAtLoad and no KeepAlive."""

from __future__ import annotations

import plistlib
from pathlib import Path
from typing import Any

from agent.atomic import write_bytes_atomically
from agent.desktop.autostart.base import Autostart, AutostartStatus

BUNDLE_ID = "io.github.s3-sqs-agent"
"""The app bundle's identifier, also the LaunchAgent's label."""


class MacAutostart(Autostart):
    """Writes and reads ~/Library/LaunchAgents/<label>.plist. No KeepAlive: Quit in the tray must stay quit."""

    def __init__(self, command: list[str] | None = None, folder: Path | None = None) -> None:
        super().__init__(command)
        self.folder = folder

    @property
    def path(self) -> Path:
        return (self.folder or Path.home() / "Library" / "LaunchAgents") / f"{BUNDLE_ID}.plist"

    def plist(self) -> dict[str, Any]:
        return {"Label": BUNDLE_ID, "ProgramArguments": list(self.command), "RunAtLoad": True,
                "ProcessType": "Interactive", "LimitLoadToSessionType": "Aqua"}

    def enable(self) -> None:
        write_bytes_atomically(self.path, plistlib.dumps(self.plist()), mode=0o644)

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)

    def status(self) -> AutostartStatus:
        try:
            with open(self.path, "rb") as file:
                data = plistlib.load(file)
        except (OSError, plistlib.InvalidFileException, ValueError):
            return AutostartStatus(False, str(self.path))
        arguments = data.get("ProgramArguments") if isinstance(data, dict) else None
        enabled = bool(arguments) and data.get("RunAtLoad") is True and not data.get("Disabled", False)
        return AutostartStatus(enabled, str(self.path), " ".join(map(str, arguments)) if arguments else None)
