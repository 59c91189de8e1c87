"""The start-at-login interface that each platform implements, and the command an entry runs."""

from __future__ import annotations

import shutil
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass

from agent.api import APP_NAME


def launch_command() -> list[str]:
    """What a login entry runs: the frozen executable when frozen, else the installed console script (or
    `python -m agent` when the script is not on PATH). With no command the agent starts the tray app."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    script = shutil.which(APP_NAME)
    if script:
        return [script]
    return [sys.executable, "-m", "agent"]


@dataclass(frozen=True)
class AutostartStatus:
    """What is on disk (or in the registry): whether the entry is there and active, where, and what it runs."""

    enabled: bool
    location: str
    command: str | None = None

    def describe(self) -> str:
        if self.enabled:
            return f"enabled: {self.location} runs {self.command}"
        return f"disabled (no active entry at {self.location})"


class Autostart(ABC):
    """One platform's start-at-login entry for the current user."""

    def __init__(self, command: list[str] | None = None) -> None:
        self.command = list(command) if command is not None else launch_command()

    @abstractmethod
    def enable(self) -> None:
        """Write the entry (replacing an older one, such as one that ran another path)."""

    @abstractmethod
    def disable(self) -> None:
        """Remove the entry; nothing happens when there is none."""

    @abstractmethod
    def status(self) -> AutostartStatus:
        """Read back what is really there."""

    def is_enabled(self) -> bool:
        return self.status().enabled

    def set_enabled(self, enabled: bool) -> None:
        if enabled:
            self.enable()
        else:
            self.disable()
