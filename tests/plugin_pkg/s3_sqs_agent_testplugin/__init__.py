"""A third-party plugin used by the tests: parses `FETCH bucket key` lines, skips, renames, and raises on demand."""

from __future__ import annotations

import json
import threading
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Any

import pluggy

from agent import MalformedMessage, ObjectEvent

hookimpl = pluggy.HookimplMarker("s3_sqs_agent")  # a plugin may build its own marker instead of agent.hookimpl

HOOKS = ("agent_parse_message", "agent_filter", "agent_local_path", "agent_object_downloaded",
         "agent_object_failed", "agent_startup", "agent_shutdown")


class TestPlugin:
    """Options: skip (globs), path (a template over {name} and {stem}), fail_in (a hook name), record (a file)."""

    __test__ = False  # not a pytest test class

    def __init__(self, skip: list[str] | None = None, path: str | None = None, fail_in: str | None = None,
                 record: str | None = None) -> None:
        if fail_in is not None and fail_in not in HOOKS:
            raise ValueError(f"option 'fail_in' must be one of {', '.join(HOOKS)}, got {fail_in!r}")
        if skip is not None and not (isinstance(skip, list) and all(isinstance(s, str) for s in skip)):
            raise ValueError(f"option 'skip' must be a list of glob patterns, got {skip!r}")
        self.skip, self.path, self.fail_in = skip or [], path, fail_in
        self.record = Path(record) if record else None
        self._lock = threading.Lock()  # workers call the hooks at the same time

    def _note(self, hook: str, **details: Any) -> None:
        if self.record is not None:
            with self._lock, open(self.record, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"hook": hook, **details}) + "\n")
        if self.fail_in == hook:
            raise RuntimeError(f"test plugin failing in {hook} on purpose")

    @hookimpl
    def agent_parse_message(self, body: str) -> list[ObjectEvent] | None:
        self._note("agent_parse_message", fetch=body.startswith("FETCH"))
        if not body.startswith("FETCH"):
            return None
        events = []
        for line in body.splitlines():
            parts = line.split(" ", 2)
            if len(parts) != 3 or parts[0] != "FETCH" or not parts[2]:
                raise MalformedMessage(f"expected 'FETCH bucket key', got {line!r}")
            events.append(ObjectEvent(bucket=parts[1], key=parts[2], event_name="Fetch"))
        return events

    @hookimpl
    def agent_filter(self, event: ObjectEvent) -> bool:
        self._note("agent_filter", key=event.key)
        return not any(fnmatchcase(event.key, pattern) for pattern in self.skip)

    @hookimpl
    def agent_local_path(self, event: ObjectEvent, default_path: PurePosixPath) -> str | None:
        self._note("agent_local_path", key=event.key)
        return self.path.format(name=default_path.name, stem=PurePosixPath(default_path.name).stem) if self.path else None

    @hookimpl
    def agent_object_downloaded(self, event: ObjectEvent, path: Path) -> None:
        info = path.stat()
        self._note("agent_object_downloaded", key=event.key, path=str(path), source=event.source,
                   file=[info.st_ino, info.st_mtime_ns])

    @hookimpl
    def agent_object_failed(self, event: ObjectEvent | None, reason: str) -> None:
        self._note("agent_object_failed", key=event.key if event else None, reason=reason)

    @hookimpl
    def agent_startup(self) -> None:
        self._note("agent_startup")

    @hookimpl
    def agent_shutdown(self) -> None:
        self._note("agent_shutdown")
