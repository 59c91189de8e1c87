"""Start at login on Linux: an XDG autostart .desktop file in $XDG_CONFIG_HOME/autostart (default ~/.config/autostart)."""

from __future__ import annotations

import configparser
import os
from pathlib import Path

from agent import APP_NAME
from agent.api import APP_TITLE
from agent.atomic import write_text_atomically
from agent.desktop.autostart.base import Autostart, AutostartStatus

START_DELAY_SECONDS = 5
"""X-GNOME-Autostart-Delay: the panel and its tray usually come up in the first seconds of a session."""
LOGIN_TRAY_WAIT_SECONDS = 180
"""At login the tray waits this long for a tray host (S3_SQS_AGENT_TRAY_WAIT) instead of the interactive 20 s."""
TRAY_WAIT_ENV = "S3_SQS_AGENT_TRAY_WAIT"
ENV = "/usr/bin/env"


def autostart_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or ""
    return (Path(base) if os.path.isabs(base) else Path.home() / ".config") / "autostart"


def quote_exec_arg(arg: str) -> str:
    """Quote one argument for a desktop entry's Exec key (Desktop Entry Specification, 'The Exec key')."""
    reserved = set(' \t\n"\'\\><~|&;$*?#()`=%')
    if arg and not reserved & set(arg):
        return arg
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$")
    return f'"{escaped}"'.replace("%", "%%")


def exec_line(command: list[str]) -> str:
    """The Exec value: escaped once for the quoting rules and once more for the string type (backslashes)."""
    quoted = " ".join(quote_exec_arg(arg) for arg in command)
    return quoted.replace("\\", "\\\\")


class LinuxAutostart(Autostart):
    """Writes and reads ~/.config/autostart/s3-sqs-agent.desktop."""

    def __init__(self, command: list[str] | None = None, folder: Path | None = None) -> None:
        super().__init__(command)
        self.folder = folder

    @property
    def path(self) -> Path:
        return (self.folder or autostart_dir()) / f"{APP_NAME}.desktop"

    def entry_command(self) -> list[str]:
        """The login command: the agent, told to wait longer for the tray host than when started by hand."""
        return [ENV, f"{TRAY_WAIT_ENV}={LOGIN_TRAY_WAIT_SECONDS}", *self.command]

    def contents(self) -> str:
        return "\n".join([
            "[Desktop Entry]",
            "Type=Application",
            f"Name={APP_TITLE}",
            "Comment=Downloads new S3 objects announced on an SQS queue",
            f"Exec={exec_line(self.entry_command())}",
            f"Icon={APP_NAME}",
            "Terminal=false",
            "X-GNOME-Autostart-enabled=true",
            f"X-GNOME-Autostart-Delay={START_DELAY_SECONDS}",
            "",
        ])

    def enable(self) -> None:
        write_text_atomically(self.path, self.contents(), mode=0o644)

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)

    def status(self) -> AutostartStatus:
        path = self.path
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
        try:
            parser.read_string(path.read_text(encoding="utf-8"))
            entry = parser["Desktop Entry"]
        except (OSError, UnicodeDecodeError, configparser.Error, KeyError):
            return AutostartStatus(False, str(path))
        active = (entry.get("Hidden", "false").lower() != "true"
                  and entry.get("X-GNOME-Autostart-enabled", "true").lower() != "false")
        command = entry.get("Exec")
        return AutostartStatus(active and bool(command), str(path), command)
