"""What the engine needs from its plugins: a small interface, so the engine never depends on the plugin manager."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from agent.api import ObjectEvent, RejectedRecord
from agent.config import Config


class PluginError(Exception):
    """A plugin raised (or returned something unusable). Names the plugin, so the user knows whom to blame."""

    def __init__(self, plugin: str, hook: str, error: BaseException) -> None:
        self.plugin, self.hook, self.error = plugin, hook, error
        super().__init__(f"plugin {plugin!r} failed in {hook}: {type(error).__name__}: {error}")


class Hooks(Protocol):
    """The plugin calls the engine makes. Each raises PluginError when a plugin fails (see agent.plugins.hookspecs)."""

    def parse_message(self, body: str, attributes: dict[str, Any]) -> list[ObjectEvent | RejectedRecord] | None: ...

    def accepts(self, event: ObjectEvent) -> bool: ...

    def local_path(self, event: ObjectEvent, default_path: PurePosixPath) -> str | PurePosixPath: ...

    def object_downloaded(self, event: ObjectEvent, path: Path) -> Path:
        """Where the file is once every plugin has run: `path`, or where a plugin moved it."""
        ...

    def object_failed(self, event: ObjectEvent | None, reason: str) -> None: ...

    def startup(self, config: Config) -> None: ...

    def shutdown(self) -> None: ...


HooksFactory = Callable[[Config], Hooks]
"""Builds the hooks for a config (the plugin manager's class is one). Raises ConfigError for bad plugin settings."""
