"""The hooks a plugin can implement. Arguments are passed by name: implement a hook with only those you need."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import pluggy

from agent import PROJECT_NAME
from agent.engine.events import ObjectEvent

hookspec = pluggy.HookspecMarker(PROJECT_NAME)


@hookspec(firstresult=True)
def agent_parse_message(body: str, attributes: dict[str, Any]) -> list[ObjectEvent] | None:
    """Return the object events in a queue message, `[]` if it holds nothing to download, or None if this
    plugin does not recognise the format. The first plugin that returns a list wins.

    Runs in the worker thread that handles the message. Raise `agent.MalformedMessage` for a body in your
    format that can never be used: it goes straight to the dead-letter path.
    """


@hookspec
def agent_filter(event: ObjectEvent) -> bool | None:
    """Return False to skip an object (its message is deleted without a download). None or True let it through.

    Runs in the worker thread, before anything is downloaded.
    """


@hookspec(firstresult=True)
def agent_local_path(event: ObjectEvent, default_path: PurePosixPath) -> str | PurePosixPath | None:
    """Return where the object goes, relative to `download_folder`, or None to keep `default_path`.

    Runs in the worker thread. The engine makes the result safe and keeps it inside the folder, whatever it holds.
    """


@hookspec
def agent_object_downloaded(event: ObjectEvent, path: Path) -> None:
    """Called once the file is complete under its final name, before the message is deleted.

    Runs in the worker thread. Raising counts as a failed attempt: the message is retried like any other,
    and this hook runs again (the file is not downloaded twice).
    """


@hookspec
def agent_object_failed(event: ObjectEvent | None, reason: str) -> None:
    """Called when a message is given up (dead-lettered, left to the queue's redrive policy, or kept in the
    ledger). `event` is None when the message could not be parsed. Runs in the worker thread."""


@hookspec
def agent_startup(config: Any) -> None:
    """Called when the engine starts, and again with the new config after a reload. Runs on the thread that
    starts or reconfigures the engine."""


@hookspec
def agent_shutdown() -> None:
    """Called once when the engine stops, after the last download. Runs on the thread that stops the engine."""
