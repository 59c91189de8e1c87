"""Start at login on Windows: a value under HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run holding the quoted exe."""

from __future__ import annotations

import sys
from typing import Protocol

from agent.api import APP_TITLE
from agent.desktop.autostart.base import Autostart, AutostartStatus

RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
VALUE_NAME = APP_TITLE


class Registry(Protocol):
    """The few registry operations needed, on HKEY_CURRENT_USER; injected so the logic runs on any platform."""

    def get(self, key: str, name: str) -> str | None: ...

    def set(self, key: str, name: str, value: str) -> None: ...

    def delete(self, key: str, name: str) -> None: ...


class WinregRegistry:
    """The real HKEY_CURRENT_USER through winreg (Windows only)."""

    def get(self, key: str, name: str) -> str | None:
        if sys.platform != "win32":
            raise OSError("the registry exists only on Windows")
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key) as handle:
                value, _kind = winreg.QueryValueEx(handle, name)
        except FileNotFoundError:
            return None
        return str(value)

    def set(self, key: str, name: str, value: str) -> None:
        if sys.platform != "win32":
            raise OSError("the registry exists only on Windows")
        import winreg

        with winreg.CreateKey(winreg.HKEY_CURRENT_USER, key) as handle:
            winreg.SetValueEx(handle, name, 0, winreg.REG_SZ, value)

    def delete(self, key: str, name: str) -> None:
        if sys.platform != "win32":
            raise OSError("the registry exists only on Windows")
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE) as handle:
                winreg.DeleteValue(handle, name)
        except FileNotFoundError:
            pass


def quoted(command: list[str]) -> str:
    """Each part in double quotes, so a path with spaces (C:\\Program Files\\...) stays one argument."""
    return " ".join(f'"{part}"' for part in command)


class WindowsAutostart(Autostart):
    """The Run value named "S3 SQS Agent" (the Inno Setup installer writes and removes the same value)."""

    def __init__(self, command: list[str] | None = None, registry: Registry | None = None) -> None:
        super().__init__(command)
        self.registry: Registry = registry if registry is not None else WinregRegistry()

    @property
    def location(self) -> str:
        return f"HKCU\\{RUN_KEY}\\{VALUE_NAME}"

    def enable(self) -> None:
        self.registry.set(RUN_KEY, VALUE_NAME, quoted(self.command))

    def disable(self) -> None:
        self.registry.delete(RUN_KEY, VALUE_NAME)

    def status(self) -> AutostartStatus:
        value = self.registry.get(RUN_KEY, VALUE_NAME)
        return AutostartStatus(bool(value and value.strip()), self.location, value)
