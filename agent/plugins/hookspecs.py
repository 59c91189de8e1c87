"""The hooks a plugin can implement. Arguments are passed by name: implement a hook with only those you need.

Threads: every per-object hook runs in the worker thread that handles the message, and up to `concurrency`
workers run at once, so one plugin instance is called from several threads at the same time. Keep per-object
state in local variables, and guard anything shared (counters, files you append to, caches) with a lock.
`agent_startup` and `agent_shutdown` run on the thread that starts or stops the engine, never while a
per-object hook of the same instance is running.

Order: the config's plugins are called in the order the config lists them, then the built-ins.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import pluggy

from agent.api import PROJECT_NAME, ObjectEvent, RejectedRecord
from agent.config import Config

hookspec = pluggy.HookspecMarker(PROJECT_NAME)


@hookspec(firstresult=True)
def agent_parse_message(body: str, attributes: dict[str, Any]) -> list[ObjectEvent | RejectedRecord] | None:
    """Return the object events in a queue message, `[]` if it holds nothing to download, or None if this
    plugin does not recognise the format. The first plugin that returns a list wins; the built-in S3, SNS and
    EventBridge parsers come last.

    `attributes` holds the message's SQS attributes and its `MessageId`. Events a plugin returns get
    `source` set to the plugin's name, and `message_id` filled in when left empty.
    Raise `agent.MalformedMessage` for a body in your format that can never be used: it is given up at once
    (dead-lettered) instead of retried. When only one record of several is unusable, put an
    `agent.RejectedRecord` in the list in its place: that record alone is given up, and the others download.
    Runs in the worker thread that handles the message.
    """


@hookspec
def agent_filter(event: ObjectEvent) -> bool | None:
    """Return False to skip an object: its message is deleted and nothing is downloaded. True or None let it
    through; every plugin is asked, and one False is enough. Runs in the worker thread, before any download.
    """


@hookspec(firstresult=True)
def agent_local_path(event: ObjectEvent, default_path: PurePosixPath) -> str | PurePosixPath | None:
    """Return where the object goes, relative to `download_folder`, or None to leave the choice to the next
    plugin. `default_path` is the key's path made safe; when every plugin returns None, the built-in layout
    uses it, or only its name when `keep_prefixes` is off (read `config.keep_prefixes` in `agent_startup` to
    honour that yourself). The first plugin that returns a path wins.

    The engine makes the result safe and keeps it inside `download_folder` whatever it holds (`..`, absolute
    paths and links out of the folder are neutralised; an absolute path inside the folder is used as meant).
    Runs in the worker thread, before the download.
    """


@hookspec
def agent_object_downloaded(event: ObjectEvent, path: Path) -> Path | None:
    """Called once the file is complete under its final name `path`, before the message is deleted.

    A plugin that moves or renames the file returns where it is now (absolute, or relative to `download_folder`);
    the engine then logs, reports and records that path (the Downloaded event, recent files, the ledger), so the
    user is never pointed at a place where no file is. Return None when the file stays where it is.

    Raising counts as a failed attempt: the message is retried with backoff and dead-lettered after
    `max_attempts`, and on each retry this hook runs again for every plugin (the file is not downloaded again),
    so make it idempotent (a plugin that moved the file returns its new path again). Raise
    `agent.PermanentFailure` to give up at once. Plugins are called in config order, and one that raises stops
    the rest for this attempt. Every plugin gets the same `path`: after one moved the file, later plugins find
    it gone. Runs in the worker thread.
    """


@hookspec
def agent_object_failed(event: ObjectEvent | None, reason: str) -> None:
    """Called when a message is given up (dead-lettered, left to the queue's redrive policy, or kept in the
    ledger). `event` is None when the message could not be parsed. Errors here are logged and every plugin is
    still called. Runs in the worker thread.
    """


@hookspec
def agent_startup(config: Config) -> None:
    """Called when the engine starts, with the validated config (read-only). Runs on the thread that starts
    the engine. A plugin that raises here is disabled (logged), and the agent runs on without it.

    On a config reload the running plugins get `agent_shutdown`, then a fresh instance of each plugin class is
    built from the new options and gets `agent_startup`; a plugin that is a module gets both calls again.
    """


@hookspec
def agent_shutdown() -> None:
    """Called once when the engine stops or reloads, after the last per-object hook has returned (or the
    shutdown grace period ran out). Release what `agent_startup` acquired. Runs on the thread that stops the
    engine; errors are logged.
    """
