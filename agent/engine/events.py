"""The engine's events, and the bus that delivers them to subscribers on one thread."""

from __future__ import annotations

import enum
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from agent.api import ObjectEvent
from agent.errors import NeedsUserError, window_text

log = logging.getLogger(__name__)


def object_id(event: ObjectEvent | None, message_id: str) -> str:
    """Which object an event is about (one object's retries and outcome share it), or its message's when it names none."""
    return f"{event.bucket}/{event.key}" if event else f"message:{message_id}"


class State(str, enum.Enum):
    """What the engine is doing, as the tray shows it."""

    STARTING = "starting"
    IDLE = "idle"
    SYNCING = "syncing"
    PAUSED = "paused"
    OFFLINE = "offline"
    ATTENTION = "attention"
    STOPPED = "stopped"


# ---------------------------------------------------------------- engine events


@dataclass(frozen=True)
class StateChanged:
    state: State
    detail: str = ""


@dataclass(frozen=True)
class Downloaded:
    event: ObjectEvent
    path: Path
    size: int
    seconds: float


@dataclass(frozen=True)
class Skipped:
    event: ObjectEvent
    reason: str


@dataclass(frozen=True)
class Retrying:
    """An object is not readable yet; its message comes back after `delay` seconds."""

    event: ObjectEvent | None
    message_id: str
    attempt: int
    max_attempts: int
    delay: float
    reason: str


@dataclass(frozen=True)
class Failed:
    """A message was given up: dead-lettered, left to the queue's redrive policy, or kept in the ledger."""

    event: ObjectEvent | None
    message_id: str
    reason: str
    disposition: str


@dataclass(frozen=True)
class NeedsUser:
    """A problem the user must fix (credentials, access, disk, folder). Messages are kept; the engine backs off.

    `message` names config keys (for the log and the terminal); `window_message` names the window, section and field
    instead (for notices and the tray menu); empty: the same as `message`."""

    title: str
    message: str
    window_message: str = ""

    @classmethod
    def of(cls, problem: NeedsUserError) -> NeedsUser:
        return cls(problem.title, str(problem), window_text(problem))


@dataclass(frozen=True)
class Conflict:
    """A local file changed since the agent wrote it; the new version was written beside it."""

    event: ObjectEvent
    kept: Path
    written: Path


@dataclass(frozen=True)
class CatchUpSuggested:
    """The agent last ran longer ago than the queue keeps messages: notifications may have been lost.

    Offer the user a catch-up (`Engine.catch_up()`); the engine never starts a large listing unasked."""

    last_run: datetime
    retention_seconds: int


EngineEvent = StateChanged | Downloaded | Skipped | Retrying | Failed | NeedsUser | Conflict | CatchUpSuggested
Subscriber = Callable[[EngineEvent], None]


class EventBus:
    """Delivers engine events to subscribers on one dispatcher thread, so a slow subscriber never stalls a download."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._queue: queue.SimpleQueue[EngineEvent | _Marker] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Register a callback; returns a function that unsubscribes it."""
        with self._lock:
            self._subscribers.append(callback)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="event-bus", daemon=True)
                self._thread.start()

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def publish(self, event: EngineEvent) -> None:
        if self._subscribers:
            self._queue.put(event)

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until every event published so far was delivered."""
        if self._thread is None:
            return
        done = threading.Event()
        self._queue.put(_Marker(done))
        done.wait(timeout)

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            if isinstance(event, _Marker):
                event.done.set()
                continue
            with self._lock:
                subscribers = list(self._subscribers)
            for callback in subscribers:
                try:
                    callback(event)
                except Exception:
                    log.exception("An event subscriber failed on %s", type(event).__name__)


@dataclass
class _Marker:
    done: threading.Event
