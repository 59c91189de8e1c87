"""Watches the config folder (watchdog) and applies a changed config, or keeps the last good one and says why.

Editors save in three ways and all are caught: writing in place (modified/closed), writing a temporary file and
renaming it over the config (a move whose `dest_path` is the config), and deleting then recreating it. Events are
debounced, and a change is acted on only when the file's content differs from what was last handled, so the
watcher's own reads (open/close-without-write events) and repeated events for one save never cause a reload loop.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import (
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from agent import config as config_module
from agent.config import Config
from agent.errors import ConfigError, ConfigProblem

log = logging.getLogger(__name__)

RELEVANT = (FileModifiedEvent, FileCreatedEvent, FileMovedEvent, FileDeletedEvent, FileClosedEvent)


def _same(a: str | bytes, b: Path) -> bool:
    text = os.fsdecode(a)
    return os.path.normcase(os.path.abspath(text)) == os.path.normcase(str(b))


class ConfigWatcher(FileSystemEventHandler):
    """Calls `on_valid(config)` for every new valid content and `on_invalid(error)` for every new invalid one."""

    def __init__(self, path: Path, on_valid: Callable[[Config], None], on_invalid: Callable[[ConfigError], None],
                 debounce_seconds: float = 0.5) -> None:
        super().__init__()
        self.path = Path(os.path.abspath(path))
        self.on_valid = on_valid
        self.on_invalid = on_invalid
        self.debounce_seconds = debounce_seconds
        self._observer: BaseObserver | None = None
        self._due: float | None = None
        self._wake = threading.Condition()
        self._stopping = False
        self._worker: threading.Thread | None = None
        self._last_digest: str | None = None

    def start(self, current_text: str | None = None) -> None:
        """Start watching. `current_text` is the content already applied, so it is not applied twice."""
        if current_text is not None:
            self._last_digest = _digest(current_text.encode("utf-8"))
        else:
            self._last_digest = self._read_digest()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._worker = threading.Thread(target=self._work, name="config-watcher", daemon=True)
        self._worker.start()
        observer = Observer()
        observer.schedule(self, str(self.path.parent), recursive=False)
        observer.daemon = True
        observer.start()
        self._observer = observer
        log.info("Watching %s for changes", self.path)

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(5)
        if self._worker is not None:
            self._worker.join(5)

    def mark_applied(self, text: str) -> None:
        """Content applied some other way; a later event for it is not a change."""
        self._last_digest = _digest(text.encode("utf-8"))

    # ------------------------------------------------------------ watchdog thread

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or not isinstance(event, RELEVANT):
            return
        paths = [event.src_path] + ([event.dest_path] if isinstance(event, FileMovedEvent) else [])
        if not any(_same(p, self.path) for p in paths):
            return
        log.debug("Config file event: %s", type(event).__name__)
        with self._wake:
            self._due = time.monotonic() + self.debounce_seconds
            self._wake.notify_all()

    # ------------------------------------------------------------ worker thread

    def _work(self) -> None:
        while True:
            with self._wake:
                while not self._stopping and (self._due is None or time.monotonic() < self._due):
                    self._wake.wait(None if self._due is None else max(0.0, self._due - time.monotonic()))
                if self._stopping:
                    return
                self._due = None
            try:
                self.check()
            except Exception:
                log.exception("Could not apply the changed config")

    def check(self) -> None:
        """Read the file once; apply it if its content is new."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            log.warning("The config file %s was removed; keeping the last good config until it is back", self.path)
            return
        except OSError as exc:
            log.warning("Cannot read the config file %s (%s); keeping the last good config", self.path, exc)
            return
        digest = _digest(data)
        if digest == self._last_digest:
            return
        self._last_digest = digest
        try:
            text = data.decode("utf-8")
            new_config = config_module.parse(text, self.path)
        except UnicodeDecodeError:
            self.on_invalid(ConfigError([ConfigProblem(str(self.path), "the file is not UTF-8 text")]))
            return
        except ConfigError as error:
            log.error("The changed config is not valid; keeping the last good one:\n%s", error)
            self.on_invalid(error)
            return
        log.info("The config file changed; applying it")
        self.on_valid(new_config)

    def _read_digest(self) -> str | None:
        try:
            return _digest(self.path.read_bytes())
        except OSError:
            return None


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
