"""What the Activity window lists: running downloads, objects waiting for a retry, recent files and failures.

Names, folders and reasons are as a person reads them (hidden characters marked: agent/hidden_chars.py); "key" and
"path" stay exact, for Copy key and Show in folder (the window marks a key it shows).

Waiting objects come from the engine's Retrying events (kept here, in the tray process, until the object is
downloaded or given up); the rest comes from the engine's status and the ledger when a snapshot is asked for.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from agent.engine.engine import Status
from agent.engine.events import Downloaded, EngineEvent, Failed, Retrying, object_id
from agent.engine.ledger import Ledger
from agent.engine.policy import Disposal
from agent.hidden_chars import visible

RECENT_ROWS = 500
FORGET_WAITING_SECONDS = 600.0  # a waiting row whose retry time is this long past (the message went elsewhere) goes


def _name(key: str | None) -> str:
    return visible(PurePosixPath(key).name or key) if key else "(a message that is not a notification)"


@dataclass
class _Waiting:
    key: str | None
    reason: str
    next_at: float
    attempt: int
    max_attempts: int


@dataclass
class _Gone:
    """A message given up this session that the ledger does not hold (dead-lettered, or left to the queue's redrive)."""

    message_id: str
    key: str | None
    reason: str
    disposition: str
    at: float


class ActivityLog:
    """Subscribes to engine events (through the controller); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, _Waiting] = {}
        self._gone: dict[str, _Gone] = {}

    def handle(self, event: EngineEvent) -> None:
        with self._lock:
            if isinstance(event, Retrying):
                self._waiting[object_id(event.event, event.message_id)] = _Waiting(
                    event.event.key if event.event else None, event.reason, time.time() + event.delay, event.attempt + 1,
                    event.max_attempts)
            elif isinstance(event, Downloaded):
                self._waiting.pop(object_id(event.event, event.event.message_id), None)
            elif isinstance(event, Failed):
                self._waiting.pop(object_id(event.event, event.message_id), None)
                if event.disposition != Disposal.LEDGER.value:
                    self._gone[event.message_id] = _Gone(event.message_id, event.event.key if event.event else None,
                                                         event.reason, event.disposition, time.time())

    def dismiss(self, message_ids: list[str]) -> None:
        with self._lock:
            for message_id in message_ids:
                self._gone.pop(message_id, None)

    def snapshot(self, status: Status | None, ledger: Ledger, line: str, state: str, folder: str) -> dict[str, Any]:
        """Everything the window shows, as plain data (JSON)."""
        now = time.time()
        with self._lock:
            for key, waiting in list(self._waiting.items()):
                if now - waiting.next_at > FORGET_WAITING_SECONDS:
                    del self._waiting[key]
            waiting_rows = [{"id": key, "name": _name(w.key), "key": w.key or "", "reason": visible(w.reason),
                             "next_at": w.next_at, "attempt": w.attempt, "max_attempts": w.max_attempts}
                            for key, w in sorted(self._waiting.items(), key=lambda item: item[1].next_at)]
            gone = list(self._gone.values())
        downloads = [{"id": f"{d.bucket}/{d.key}", "name": _name(d.key), "key": d.key, "size": d.size, "done": d.done,
                      "speed": d.done / d.seconds if d.seconds > 0.2 else 0.0}
                     for d in (status.downloads if status else ())]
        recent = [{"path": str(r.path), "name": visible(r.path.name), "key": r.key, "folder": visible(str(r.path.parent)),
                   "size": r.size, "at": r.downloaded_at} for r in ledger.recent(RECENT_ROWS)]
        failed = [{"id": f.id, "message_id": f.message_id, "name": _name(f.key), "key": f.key or "", "reason": visible(f.reason),
                   "at": f.failed_at, "where": "Kept here", "retryable": True}
                  for f in reversed(ledger.pending_failures())]
        failed += [{"id": None, "message_id": g.message_id, "name": _name(g.key), "key": g.key or "", "reason": visible(g.reason),
                    "at": g.at, "where": g.disposition[:1].upper() + g.disposition[1:], "retryable": False}
                   for g in sorted(gone, key=lambda g: -g.at)]
        return {"status": line, "state": state, "download_folder": folder, "downloads": downloads,
                "waiting": waiting_rows, "recent": recent, "failed": failed}
