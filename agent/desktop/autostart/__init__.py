"""Start at login: `for_platform()` is the one place that picks the Windows, macOS or Linux implementation."""

from __future__ import annotations

import sys

from agent.desktop.autostart.base import Autostart, AutostartStatus, launch_command


def for_platform(platform: str | None = None, command: list[str] | None = None) -> Autostart:
    """The current user's start-at-login entry on this platform (or on `platform`, for tests)."""
    platform = platform or sys.platform
    if platform == "win32":
        from agent.desktop.autostart.windows import WindowsAutostart

        return WindowsAutostart(command)
    if platform == "darwin":
        from agent.desktop.autostart.macos import MacAutostart

        return MacAutostart(command)
    from agent.desktop.autostart.linux import LinuxAutostart

    return LinuxAutostart(command)


__all__ = ["Autostart", "AutostartStatus", "for_platform", "launch_command"]
