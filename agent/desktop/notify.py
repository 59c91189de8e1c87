"""Desktop notifications on one notifier thread with its own asyncio loop: batched, debounced, replacing the last notice.

Engine events come in from any thread through `handle()`. Per kind (downloads, retries, failures, errors) they are
collected until things calm down (`debounce_seconds`, at most `max_batch_seconds`), then shown as one notice that
replaces the previous notice of that kind. Nothing is shown during the first `quiet_seconds` after start; what came
in meanwhile is summarised once that time is over. A retry is announced once per object, not on every attempt.
"""

from __future__ import annotations

import asyncio
import html
import logging
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from agent.api import APP_TITLE, ObjectEvent
from agent.config import NotificationSettings
from agent.desktop.icons import NoticeIcon
from agent.engine.events import Downloaded, EngineEvent, Failed, NeedsUser, Retrying, object_id
from agent.errors import PLACES, ConfigError, OfflineError
from agent.hidden_chars import visible

log = logging.getLogger(__name__)

DOWNLOADS, PER_FILE, RETRIES, FAILURES, ERRORS, INFO = "downloads", "per_file", "retries", "failures", "errors", "info"
MAX_BODY = 240
DEFAULT_SETTINGS = NotificationSettings()


class Backend(Protocol):
    """What the notifier needs from desktop-notifier's DesktopNotifier (tests may pass a recorder)."""

    async def send(self, title: str, message: str, **kwargs: Any) -> str: ...

    async def clear(self, identifier: str) -> None: ...


@dataclass
class Notice:
    """One notification to show."""

    title: str
    body: str
    kind: str = INFO
    on_click: Callable[[], None] | None = None
    icon: NoticeIcon | None = None
    """Its picture; None: the kind's own (KIND_ICONS)."""


KIND_ICONS = {DOWNLOADS: NoticeIcon.DONE, PER_FILE: NoticeIcon.DONE, RETRIES: NoticeIcon.WAITING, FAILURES: NoticeIcon.FAILED,
              ERRORS: NoticeIcon.NEEDS_YOU}
"""A notice's icon by its kind (the per-file ones are PER_FILE:N); INFO and anything else: the app's icon."""


@dataclass
class _Batch:
    items: list[Any] = field(default_factory=list)
    first_at: float = 0.0
    timer: asyncio.TimerHandle | None = None


def default_backend(icon: Path | None = None) -> Backend:
    from desktop_notifier import DesktopNotifier, Icon

    notifier: Backend = DesktopNotifier(app_name=APP_TITLE, app_icon=Icon(path=icon) if icon else None)  # type: ignore[assignment]
    # its send() takes named options only, which is all the notifier passes
    return notifier if sys.platform in ("win32", "darwin") else PlainBody(notifier)


class PlainBody:
    """A freedesktop notification server that takes markup in the body (GNOME, KDE, dunst, mako: "body-markup")
    reads `<b>`, `&lt;` and `&#x202e;` in it as markup: a key holding them would show bold, as `<`, or with a bidi
    override that no longer looks hidden. Each body is escaped for such a server, so it shows as written."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._markup: bool | None = None  # None: not asked yet

    async def send(self, title: str, message: str, **kwargs: Any) -> str:
        if self._markup is None:
            self._markup = await _server_takes_markup()
        return await self._backend.send(title=title, message=html.escape(message, quote=False) if self._markup else message, **kwargs)

    async def clear(self, identifier: str) -> None:
        await self._backend.clear(identifier)


async def _server_takes_markup() -> bool | None:
    """Whether the session's notification server advertises "body-markup"; None when it cannot be asked now."""
    from dbus_fast import Message, MessageType
    from dbus_fast.aio import MessageBus

    try:
        bus = await MessageBus().connect()
        try:
            reply = await bus.call(Message(destination="org.freedesktop.Notifications", path="/org/freedesktop/Notifications",
                                           interface="org.freedesktop.Notifications", member="GetCapabilities"))
        finally:
            bus.disconnect()
    except Exception:  # no session bus: desktop-notifier's send says so
        log.debug("Could not ask the notification server for its capabilities", exc_info=True)
        return None
    if reply is None or reply.message_type is not MessageType.METHOD_RETURN:
        return None
    return "body-markup" in reply.body[0]


def object_name(event: ObjectEvent | None, fallback: str = "a file") -> str:
    """The object's name as a person reads it (hidden characters marked: a key cannot pass for another name)."""
    return visible(PurePosixPath(event.key).name or event.key) if event else fallback


def _short(text: str, limit: int = MAX_BODY) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


class Notifier:
    """Owns the notifier thread. Every public method is safe to call from any thread."""

    def __init__(self, settings: NotificationSettings = DEFAULT_SETTINGS, *,
                 backend_factory: Callable[[], Backend] = default_backend,
                 open_folder: Callable[[], None] | None = None,
                 open_activity: Callable[[], None] | None = None,
                 reveal: Callable[[Path], None] | None = None,
                 icon_files: Callable[[], dict[NoticeIcon, Path]] | None = None,
                 quiet_seconds: float = 5.0, debounce_seconds: float = 2.0, max_batch_seconds: float = 10.0,
                 replace_window_seconds: float = 60.0) -> None:
        self.settings = settings
        self._backend_factory = backend_factory
        self._backend: Backend | None = None
        self._open_folder = open_folder
        self._open_activity = open_activity  # a click on "N files downloaded" (the folder when None)
        self._reveal = reveal
        self._make_icon_files = icon_files  # drawn on the notifier's thread: the tray need not wait for them
        self._icon_files: dict[NoticeIcon, Path] = {}
        self.quiet_seconds = quiet_seconds
        self.debounce_seconds = debounce_seconds
        self.max_batch_seconds = max_batch_seconds
        self.replace_window_seconds = replace_window_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._quiet_until = 0.0
        self._batches: dict[str, _Batch] = {}
        self._last_id: dict[str, str] = {}
        self._announced_retries: set[str] = set()
        self._downloads_shown = 0
        self._downloads_shown_at = 0.0
        self._last_error = ("", 0.0)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="notifier", daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._quiet_until = loop.time() + self.quiet_seconds
        try:
            self._backend = self._backend_factory()
        except Exception as exc:  # noqa: BLE001  no notification service (Windows without WinRT toasts, no D-Bus)
            log.warning("Desktop notifications are not available here (%s: %s); notices are written to this log only",
                        type(exc).__name__, exc)
        if self._backend is not None and self._make_icon_files is not None:
            loop.call_soon(self._draw_icons)  # first in line, before any notice; start() need not wait for it
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    def _draw_icons(self) -> None:
        assert self._make_icon_files is not None
        try:
            self._icon_files = self._make_icon_files()
        except Exception:  # a full disk, say: the notices go without their icons
            log.warning("Cannot write the notifications' icons", exc_info=True)

    def stop(self, timeout: float = 3.0) -> None:
        """Show what is still batched, then end the thread."""
        loop = self._loop
        if loop is None or not loop.is_running():
            return
        try:
            asyncio.run_coroutine_threadsafe(self._flush_all(), loop).result(timeout)
        except Exception:
            log.debug("Could not flush notifications before quitting", exc_info=True)

        async def finish() -> None:
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(finish(), loop).result(timeout)
        except Exception:
            log.debug("Could not cancel pending notifications", exc_info=True)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread:
            self._thread.join(timeout)

    def update_settings(self, settings: NotificationSettings) -> None:
        self._call(lambda: setattr(self, "settings", settings))

    def _call(self, function: Callable[[], None]) -> None:
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(function)

    # ------------------------------------------------------------ input

    def handle(self, event: EngineEvent) -> None:
        """An engine subscriber: turns events into (batched) notices."""
        self._call(lambda: self._on_event(event))

    def notify(self, title: str, body: str, on_click: Callable[[], None] | None = None,
               icon: NoticeIcon = NoticeIcon.INFO) -> Future[str | None] | None:
        """Show a notice now, for something the user just asked for (no batching, no quiet period)."""
        if self._loop is None or not self._loop.is_running():
            return None
        return asyncio.run_coroutine_threadsafe(self._show(Notice(title, body, INFO, on_click, icon)), self._loop)

    def config_error(self, error: ConfigError) -> None:
        """The config file cannot be used: say where (file, line, key) and what is wrong."""
        lines = [f"{problem} ({PLACES[problem.key]})" if problem.key in PLACES else str(problem) for problem in error.problems[:3]]
        more = len(error.problems) - len(lines)
        body = "\n".join(lines) + (f"\n(and {more} more)" if more > 0 else "") + "\nThe last good config keeps running."
        self._call(lambda: self._error(Notice(error.title, body, ERRORS)))

    def error(self, title: str, body: str) -> None:
        self._call(lambda: self._error(Notice(title, body, ERRORS)))

    # ------------------------------------------------------------ on the notifier thread

    def _on_event(self, event: EngineEvent) -> None:
        settings = self.settings
        if isinstance(event, Downloaded):
            self._announced_retries.discard(object_id(event.event, event.event.message_id))
            if settings.enabled and settings.per_file:
                self._add(PER_FILE, event)
            elif settings.enabled and settings.downloads:
                self._add(DOWNLOADS, event)
        elif isinstance(event, Retrying):
            key = object_id(event.event, event.message_id)
            if key in self._announced_retries:
                return
            self._announced_retries.add(key)
            if settings.enabled and settings.retries:
                self._add(RETRIES, event)
        elif isinstance(event, Failed):
            self._announced_retries.discard(object_id(event.event, event.message_id))
            if settings.enabled and settings.failures:
                self._add(FAILURES, event)
        elif isinstance(event, NeedsUser):
            offline = event.title == OfflineError.title
            self._error(Notice(event.title, event.window_message or event.message, ERRORS,
                               icon=NoticeIcon.OFFLINE if offline else None))

    def _error(self, notice: Notice) -> None:
        if not (self.settings.enabled and self.settings.errors):
            return
        assert self._loop is not None
        now = self._loop.time()
        text, shown_at = self._last_error
        if text == notice.title + notice.body and now - shown_at < self.replace_window_seconds:
            return  # the same error again: the notice already on screen says it
        self._last_error = (notice.title + notice.body, now)
        self._add(ERRORS, notice)

    def _add(self, kind: str, item: Any) -> None:
        assert self._loop is not None
        now = self._loop.time()
        batch = self._batches.setdefault(kind, _Batch())
        if not batch.items:
            batch.first_at = now
        batch.items.append(item)
        if batch.timer:
            batch.timer.cancel()
        due = min(now + self.debounce_seconds, batch.first_at + self.max_batch_seconds)
        if kind == ERRORS:
            due = now  # errors are not batched; they only wait for the quiet period
        due = max(due, self._quiet_until)
        batch.timer = self._loop.call_at(due, lambda: self._loop.create_task(self._flush(kind)))  # type: ignore[union-attr]

    async def _flush_all(self) -> None:
        for kind in list(self._batches):
            await self._flush(kind)

    async def _flush(self, kind: str) -> None:
        batch = self._batches.get(kind)
        if not batch or not batch.items:
            return
        items, batch.items = batch.items, []
        if batch.timer:
            batch.timer.cancel()
            batch.timer = None
        for notice in self._compose(kind, items):
            await self._show(notice)

    def _compose(self, kind: str, items: list[Any]) -> list[Notice]:
        if kind == DOWNLOADS:
            assert self._loop is not None
            now = self._loop.time()
            if now - self._downloads_shown_at > self.replace_window_seconds:
                self._downloads_shown = 0
            self._downloads_shown += len(items)
            self._downloads_shown_at = now
            count = self._downloads_shown
            names = ", ".join(object_name(item.event) for item in items[-3:])
            click = self._open_activity or self._open_folder
            hint = "Click to see them in Activity." if self._open_activity else "Click to open the folder."
            body = names if count == 1 else f"Latest: {names}. {hint}"
            return [Notice(f"{_plural(count, 'file')} downloaded", _short(body), DOWNLOADS, click)]
        if kind == PER_FILE:
            if len(items) > 3:  # a burst: one summary instead of a stack of notices
                return [Notice(f"{_plural(len(items), 'file')} downloaded", _short(", ".join(object_name(i.event) for i in items)),
                               PER_FILE, self._open_folder)]
            return [Notice("Downloaded", f"{object_name(item.event)}\n{item.path}", f"{PER_FILE}:{index}",
                           self._reveal_callback(item.path)) for index, item in enumerate(items)]
        if kind == RETRIES:
            if len(items) == 1:
                item = items[0]
                body = (f"Waiting for {object_name(item.event)} to become available, "
                        f"attempt {min(item.attempt + 1, item.max_attempts)} of {item.max_attempts}")
                return [Notice("Waiting for a file", body, RETRIES)]
            names = ", ".join(object_name(item.event) for item in items[:3]) + (", …" if len(items) > 3 else "")
            return [Notice(f"Waiting for {len(items)} files", _short(f"Waiting for {names} to become available; retrying"), RETRIES)]
        if kind == FAILURES:
            if len(items) == 1:
                item = items[0]
                return [Notice(f"Could not download {object_name(item.event, 'a message')}", _short(item.reason), FAILURES)]
            names = ", ".join(object_name(item.event, "a message") for item in items[:3]) + (", …" if len(items) > 3 else "")
            return [Notice(f"{len(items)} downloads failed", _short(f"{names}. See Failed items in the menu."), FAILURES)]
        last: Notice = items[-1]
        return [Notice(last.title, _short(last.body, 400), ERRORS, icon=last.icon)]

    def _reveal_callback(self, path: Path) -> Callable[[], None] | None:
        reveal = self._reveal
        return (lambda: reveal(path)) if reveal else None

    async def _show(self, notice: Notice) -> str | None:
        notice = replace(notice, title=visible(notice.title),  # a reason or an error may quote a key
                         body="\n".join(visible(line) for line in notice.body.split("\n")))
        log.info("Notification: %s: %s", notice.title, notice.body.replace("\n", " / "))
        if self._backend is None:
            return None
        replaces = notice.kind in (DOWNLOADS, RETRIES, FAILURES, ERRORS)
        previous = self._last_id.pop(notice.kind, None) if replaces else None
        if previous:
            try:
                await self._backend.clear(previous)
            except Exception:
                log.debug("Could not close notification %s", previous, exc_info=True)
        icon = self._icon_files.get(notice.icon or KIND_ICONS.get(notice.kind.split(":")[0], NoticeIcon.INFO))
        try:
            identifier = await self._backend.send(title=notice.title, message=notice.body,
                                                  on_clicked=_guarded(notice.on_click) if notice.on_click else None,
                                                  **({"icon": _icon(icon)} if icon else {}))
        except Exception:
            log.warning("Could not show a notification (%s)", notice.title, exc_info=True)
            return None
        if replaces:
            self._last_id[notice.kind] = identifier
        return identifier


def _icon(path: Path) -> Any:
    from desktop_notifier import Icon

    return Icon(path=path)


def _guarded(callback: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        try:
            callback()
        except Exception:
            log.exception("A notification's click action failed")

    return run


def notify_once(title: str, body: str, timeout: float = 5.0, backend_factory: Callable[[], Backend] = default_backend) -> bool:
    """Show one notice from a short-lived process (such as a second launch) and wait until it was handed over."""

    async def send() -> None:
        backend = backend_factory()
        await backend.send(title=title, message=body)

    started = time.monotonic()
    try:
        asyncio.run(asyncio.wait_for(send(), timeout))
    except Exception as exc:  # noqa: BLE001  one line says it: the second launch only wanted to point at the tray
        log.warning("Could not show a notification (%s) after %.1f s: %s: %s", title, time.monotonic() - started,
                    type(exc).__name__, exc)
        return False
    return True
