"""Built-in plugin: the config's include and exclude glob patterns, matched against the decoded key."""

from __future__ import annotations

from fnmatch import fnmatchcase

from agent.api import ObjectEvent, hookimpl
from agent.config import Config


class IncludeExclude:
    def __init__(self) -> None:
        self.include: tuple[str, ...] = ()
        self.exclude: tuple[str, ...] = ()

    @hookimpl
    def agent_startup(self, config: Config) -> None:
        self.include, self.exclude = config.include, config.exclude

    @hookimpl
    def agent_filter(self, event: ObjectEvent) -> bool:
        if self.include and not any(fnmatchcase(event.key, pattern) for pattern in self.include):
            return False
        return not any(fnmatchcase(event.key, pattern) for pattern in self.exclude)
