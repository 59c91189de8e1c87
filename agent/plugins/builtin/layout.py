"""Built-in plugin: `keep_prefixes`, whether the key's folders are kept under the download folder."""

from __future__ import annotations

from pathlib import PurePosixPath

from agent.api import ObjectEvent, hookimpl
from agent.config import Config


class KeepPrefixes:
    def __init__(self) -> None:
        self.keep_prefixes = True

    @hookimpl
    def agent_startup(self, config: Config) -> None:
        self.keep_prefixes = config.keep_prefixes

    @hookimpl(trylast=True)
    def agent_local_path(self, event: ObjectEvent, default_path: PurePosixPath) -> PurePosixPath | None:
        return None if self.keep_prefixes else PurePosixPath(default_path.name)
