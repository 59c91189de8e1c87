"""The tray's model: owns the engine for the config file, applies config changes, runs menu actions, builds the view
(what it shows is agent/desktop/tray_view.py)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from agent import config as config_module
from agent import diagnostics, dirs, logs
from agent.api import APP_NAME, APP_TITLE, __version__
from agent.config import Config
from agent.desktop import dialogs, opener
from agent.desktop.activity import ActivityLog
from agent.desktop.icons import NoticeIcon
from agent.desktop.notify import Notifier
from agent.desktop.sign_in import CHECK_SECONDS, SignInWatch
from agent.desktop.tray_view import PROGRESS_STEP, PauseChoice, RecentFile, TrayView, describe, menu_lines
from agent.desktop.windows.child import TK_FIX
from agent.desktop.windows.host import WindowHost
from agent.engine.engine import Engine, Status
from agent.engine.events import CatchUpSuggested, EngineEvent, Failed, NeedsUser, State, StateChanged
from agent.engine.ledger import Ledger
from agent.errors import AgentError, ConfigError, window_text
from agent.hidden_chars import visible
from agent.plugins.manager import PluginHost

log = logging.getLogger(__name__)

RECENT_LIMIT = 10

WINDOW_FALLBACK = {
    "setup": f"Meanwhile, `{APP_NAME} setup` in a terminal asks the same questions.",
    "settings": f"Meanwhile, Open config file in this menu edits the settings, or `{APP_NAME} setup` in a terminal.",
    "activity": f"Meanwhile, `{APP_NAME} status` in a terminal lists recent downloads and failures.",
}
"""What does a window's job when it cannot open (no tkinter): said in the notification."""


class Controller:
    """Thread-safe. Engine changes (start, reconfigure, retry, stop) are serialised by one lock; pause and resume go to
    the engine at once, which serialises its own changes."""

    def __init__(self, config_path: Path, ledger: Ledger, notifier: Notifier) -> None:
        self.config_path = config_path
        self.ledger = ledger
        self.notifier = notifier
        self.engine: Engine | None = None
        self.loaded_text: str | None = None
        self._config_error: ConfigError | None = None
        self._start_error: str | None = None
        self._start_problem = ""  # the start error's words, for the menu
        self._held_problem = ""  # the words of what holds downloads (the last NeedsUser), while the engine says so
        self.needs_setup = False
        """No queue yet (a first run): the tray offers Set up… and reports no error."""
        self._session_failures: set[str] = set()
        self._engine_lock = threading.RLock()
        self._listeners: list[Callable[[], None]] = []
        self._actions = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tray-action")
        self._unsubscribe: Callable[[], None] | None = None
        self._catch_up_running = threading.Event()
        self._catch_up_cancel = threading.Event()
        self.activity = ActivityLog()
        self.windows = WindowHost(config_path, self._window_command, on_cannot_start=self._window_cannot_start)
        self.windows.provide("activity", self.activity_snapshot)
        self.sign_in = SignInWatch(notifier, on_change=self._changed, on_signed_in=self._signed_in)
        self._stopped = threading.Event()
        self._check_sign_in = threading.Event()
        """Wakes the sign-in watch: the first engine started (Setup saved), or quitting."""

    # ------------------------------------------------------------ listeners

    def add_listener(self, callback: Callable[[], None]) -> None:
        """`callback` runs (on any thread) whenever the view may have changed."""
        self._listeners.append(callback)

    def _changed(self) -> None:
        for callback in list(self._listeners):
            callback()

    def _on_event(self, event: EngineEvent) -> None:
        if isinstance(event, Failed):
            self._session_failures.add(event.message_id)
        if isinstance(event, NeedsUser):
            self._held_problem = event.window_message or event.message
        self.activity.handle(event)
        if isinstance(event, StateChanged) and event.state in (State.IDLE, State.SYNCING):
            self.sign_in.resolved()
        # Expired credentials are announced by the sign-in watch, with a way to sign in again, instead of the plain notice.
        announced = isinstance(event, NeedsUser) and self.sign_in.engine_problem(event, self.engine.config if self.engine else None)
        if isinstance(event, CatchUpSuggested):
            days = event.retention_seconds / 86_400
            self.notifier.notify("Some notifications may have been lost",
                                 f"The agent last ran {event.last_run:%Y-%m-%d}, and the queue keeps messages for {days:g} days. "
                                 "Click to download missing files.", on_click=lambda: self.run_action(self.download_missing),
                                 icon=NoticeIcon.NEEDS_YOU)
        if not announced:
            self.notifier.handle(event)
        self._changed()
        self.windows.refresh("activity")

    # ------------------------------------------------------------ config and engine

    def start(self) -> None:
        """Load the config and start the engine; a bad config is reported and waits for a fix."""
        try:
            self.loaded_text = self.config_path.read_text(encoding="utf-8")
        except OSError:
            self.loaded_text = None
        # Watched from the start, a first run too: an SSO profile chosen in Setup gets its expiry notice without a restart.
        threading.Thread(target=self._watch_sign_in, name="sign-in-watch", daemon=True).start()
        if config_module.needs_setup(self.loaded_text):
            self._not_set_up()
            return
        try:
            config = config_module.load(self.config_path)
        except ConfigError as error:
            self.config_invalid(error)
        else:
            self.apply(config)

    def _watch_sign_in(self) -> None:
        while not self._stopped.is_set():
            engine = self.engine
            self.sign_in.check(engine.config if engine else None)
            self._check_sign_in.wait(CHECK_SECONDS)
            self._check_sign_in.clear()

    def apply(self, config: Config) -> None:
        """Use a new valid config: the first start, or a reconfigure where running downloads finish."""
        with self._engine_lock:
            try:
                if self.engine is None:
                    engine = Engine(config, self.ledger, hooks=PluginHost)
                    self._unsubscribe = engine.subscribe(self._on_event)
                    self.engine = engine
                    engine.start(paused=engine.paused_by_user)
                    self._check_sign_in.set()
                else:
                    previous = self.engine.config
                    try:
                        self.engine.reconfigure(config)
                    except ConfigError:
                        raise
                    except AgentError:
                        self.engine.reconfigure(previous)  # keep the last good config running
                        raise
                self._config_error, self._start_error = None, None
                self.needs_setup = False
            except ConfigError as error:
                self.config_invalid(error)
                return
            except AgentError as error:
                log.error("%s: %s", error.title, error)
                self._start_error, self._start_problem = error.title, window_text(error)
                self.notifier.error(error.title, self._start_problem)
            finally:
                self._changed()
        self.notifier.update_settings(config.notifications)

    def config_invalid(self, error: ConfigError) -> None:
        if self.engine is None:
            try:
                text: str | None = self.config_path.read_text(encoding="utf-8")
            except OSError:
                text = None
            if config_module.needs_setup(text):  # still the template (saved by an editor, say): not an error
                self._not_set_up()
                return
        log.error("The config file has errors:\n%s", error)
        self._config_error = error
        self.notifier.config_error(error)
        self._changed()

    def _not_set_up(self) -> None:
        log.info("Not set up yet: %s names no queue; Set up… in the tray menu asks for one", self.config_path)
        self.needs_setup, self._config_error = True, None
        self._changed()

    def stop(self, grace: float = 3.0) -> None:
        """Quit: stop receiving, let running downloads finish for `grace` seconds, release the rest."""
        self._actions.shutdown(wait=False, cancel_futures=True)
        self._catch_up_cancel.set()
        self._stopped.set()
        self._check_sign_in.set()
        self.sign_in.cancel.set()
        self.windows.close_all()
        engine = self.engine
        if engine is not None:  # before the lock: a reconfigure holding it stops waiting for its downloads
            engine.stop(grace)
        with self._engine_lock:
            if self.engine is not None:
                self.engine.stop(grace)  # one that apply() started meanwhile; the same one's second stop does nothing
                if self._unsubscribe:
                    self._unsubscribe()

    # ------------------------------------------------------------ the view

    def view(self) -> TrayView:
        engine = self.engine
        return self._view(engine, engine.status() if engine else None)

    def _view(self, engine: Engine | None, status: Status | None, progress_step: int = PROGRESS_STEP) -> TrayView:
        try:
            pending = self.ledger.pending_failures()
            recent = [RecentFile(visible(record.path.name), record.path) for record in self.ledger.recent(RECENT_LIMIT)]
        except Exception:  # noqa: BLE001  the ledger is being closed
            pending, recent = [], []
        failed = len(self._session_failures | {f.message_id for f in pending})
        state, line = describe(status, config_error=self._config_error, start_error=self._start_error, failed=failed,
                               needs_setup=self.needs_setup, progress_step=progress_step)
        paused = bool(engine and engine.paused_by_user)
        folder = str(engine.config.download_folder) if engine else ""
        problem = ""
        if self._config_error is None and self._start_error is not None:
            problem = self._start_problem
        elif self._config_error is None and status is not None and status.state in (State.ATTENTION, State.OFFLINE):
            problem = self._held_problem or status.problem or ""
        return TrayView(state, visible(line), paused, tuple(recent), len(pending), folder, self.needs_setup and engine is None,
                        self.sign_in.label, tuple(visible(part) for part in menu_lines(problem)))

    # ------------------------------------------------------------ windows

    def open_window(self, kind: str) -> None:
        """Show the Activity, Settings or Setup window (brought to the front when it is open already)."""
        try:
            self.windows.open(kind)
        except OSError as exc:
            log.error("Cannot open the %s window: %s", kind, exc)
            self.notifier.notify(f"Cannot open the {kind.capitalize()} window",
                                 f"Its process did not start ({exc}): reinstalling the agent puts it back. {WINDOW_FALLBACK[kind]}",
                                 icon=NoticeIcon.NEEDS_YOU)

    def _window_cannot_start(self, kind: str, reason: str) -> None:
        """A window's process exited because Tk cannot start: say what to install, and what works meanwhile."""
        self.notifier.notify(f"Cannot open the {kind.capitalize()} window", f"{(reason or TK_FIX).rstrip('.')}. {WINDOW_FALLBACK[kind]}",
                             icon=NoticeIcon.NEEDS_YOU)

    def activity_snapshot(self) -> dict[str, Any]:
        engine = self.engine
        status = engine.status() if engine else None
        view = self._view(engine, status, progress_step=1)  # the same percentage as its bars, not the menu's steps of 10
        return self.activity.snapshot(status, self.ledger, view.status, view.state.value, view.download_folder)

    def _window_command(self, command: str, message: dict[str, Any]) -> None:
        """A command from a window's process (it runs on that window's reader thread)."""
        path = Path(str(message.get("path", "")))
        ids = [i for i in message.get("ids", []) if isinstance(i, int)]
        message_ids = [str(m) for m in message.get("message_ids", [])]
        if command == "retry" and ids:
            self.run_action(lambda: self.retry_failed(ids))
        elif command == "dismiss":
            dismissed = {f.message_id for f in self.ledger.pending_failures() if f.id in ids}
            for failure_id in ids:
                self.ledger.dismiss_failure(failure_id)
            self.activity.dismiss(message_ids)
            self._session_failures.difference_update({*message_ids, *dismissed})
            self._changed()
        elif command in ("reveal", "open"):
            self.run_action(lambda: self._open_for_activity(opener.reveal if command == "reveal" else opener.open_file, path))
        elif command == "open_folder":
            self.run_action(self.open_download_folder)
        elif command in ("saved", "setup_saved"):
            log.info("The %s window saved %s; the watcher applies it", "Setup" if command == "setup_saved" else "Settings", self.config_path)
        elif command == "setup_cancelled":
            log.info("Setup was cancelled; %s", "Set up… in the menu starts it again" if self.needs_setup else "nothing was changed")
        else:
            log.warning("Unknown command from a window: %s", command)
        self.windows.refresh("activity")

    # ------------------------------------------------------------ menu actions (run off the UI thread)

    def run_action(self, action: Callable[[], None]) -> None:
        def guarded() -> None:
            try:
                action()
            except opener.CannotOpen as error:  # nothing here shows it: say so, with the path to copy
                self.notifier.notify(error.title, str(error), icon=NoticeIcon.NEEDS_YOU)
            except Exception as exc:
                log.exception("A menu action failed")
                self.notifier.notify(APP_TITLE, f"That did not work: {exc}", icon=NoticeIcon.FAILED)
            finally:
                self._changed()

        with contextlib.suppress(RuntimeError):  # quitting: the pool takes no more work
            self._actions.submit(guarded)

    def _open_for_activity(self, open_it: Callable[[Path], None], path: Path) -> None:
        """Show in folder or Open, from Activity: when nothing here can, Activity says so beside the file, else a notice."""
        try:
            open_it(path)
        except opener.CannotOpen as error:
            if not self.windows.send("activity", {"type": "cannot_open", "title": visible(error.title), "why": visible(error.why),
                                                  "path": str(path)}):
                raise

    def _signed_in(self) -> None:
        """A new sign-in: the engine tries the queue now instead of when its backoff ends."""
        engine = self.engine
        if engine is not None:
            engine.retry_now()
            self.sign_in.check(engine.config)

    def pause(self, choice: PauseChoice) -> None:
        """At once, even while a new config waits for running downloads (the engine serialises its own changes)."""
        engine = self.engine
        if engine is not None:
            engine.pause(choice.until())

    def resume(self) -> None:
        engine = self.engine
        if engine is not None:
            engine.resume()

    def open_download_folder(self) -> None:
        if self.engine is not None:
            opener.open_folder(self.engine.config.download_folder)

    def choose_download_folder(self) -> None:
        current = self.engine.config.download_folder if self.engine else None
        try:
            chosen = dialogs.choose_folder(current)
        except dialogs.DialogUnavailable as exc:
            self.notifier.notify("Cannot show the folder dialog", str(exc), icon=NoticeIcon.NEEDS_YOU)
            return
        if chosen is None:
            return
        try:
            config_module.update_file(self.config_path, {"download_folder": str(chosen)})
        except ConfigError as error:
            self.notifier.notify("Fix the config file first", str(error), icon=NoticeIcon.NEEDS_YOU)
            return
        log.info("Download folder set to %s in %s", chosen, self.config_path)

    def reveal(self, path: Path) -> None:
        opener.reveal(path)

    def retry_failed(self, ids: list[int] | None = None) -> None:
        """Send failed messages kept in the ledger (all, or those with these ids) back to the queue."""
        retried = {f.message_id for f in self.ledger.pending_failures() if ids is None or f.id in ids}
        with self._engine_lock:
            if self.engine is None:
                return
            count = self.engine.retry_failed(ids)
        if ids is None:
            self._session_failures.clear()
        else:
            self._session_failures.difference_update(retried)
        self.windows.refresh("activity")
        self.notifier.notify("Retrying failed items", f"Sent {count} message{'' if count == 1 else 's'} back to the queue.")

    def open_log(self) -> None:
        opener.open_file(logs.log_file())

    def open_config(self) -> None:
        opener.open_file(self.config_path)

    def open_log_folder(self) -> None:
        opener.open_folder(dirs.log_dir())

    def create_diagnostics(self, tray_backend: str) -> None:
        """"Create diagnostics bundle…": a zip beside the downloads, secrets masked, then shown in its folder."""
        engine = self.engine
        try:
            path = diagnostics.create(self.config_path, folder=diagnostics.default_folder(engine.config if engine else None),
                                      ledger=self.ledger, tray_backend=tray_backend)
        except AgentError as error:
            self.notifier.error("Could not create the diagnostics bundle", window_text(error))
            return
        with contextlib.suppress(opener.CannotOpen):  # no file manager here: the notice below still says where it is
            opener.reveal(path)
        self.notifier.notify("Diagnostics bundle created",
                             f"{path.name} is in {path.parent}. Keys, tokens and account numbers are masked; look inside "
                             "before you send it.", on_click=lambda: opener.reveal(path))

    def about(self) -> None:
        engine = self.engine
        host = engine.plugins if engine else None
        plugins = [p for p in host.describe() if not p.builtin] if isinstance(host, PluginHost) else []
        listed = ", ".join(f"{p.name} {p.version or ''}".strip() + ("" if p.status == "loaded" else f" ({p.status})") for p in plugins)
        self.notifier.notify(f"{APP_TITLE} {__version__}",
                             f"Downloads new S3 objects announced on an SQS queue.\nPlugins: {listed or 'none'}\n"
                             f"Config: {self.config_path}\nLog: {logs.log_file()}\nCommand: {APP_NAME}")

    @property
    def can_catch_up(self) -> bool:
        engine = self.engine
        return bool(engine and engine.config.s3_bucket_name and not self._catch_up_running.is_set())

    def download_missing(self) -> None:
        """"Download missing files…": list the bucket and fetch what the folder lacks, with progress notices."""
        engine = self.engine
        if engine is None or self._catch_up_running.is_set():
            return
        self._catch_up_running.set()
        self.notifier.notify("Looking for missing files",
                             f"Comparing s3://{engine.config.s3_bucket_name or '?'} with {engine.config.download_folder}…")

        def run() -> None:
            try:
                result = engine.catch_up(cancel=self._catch_up_cancel)
                self.notifier.notify("Missing files downloaded" if result.downloaded else "Nothing was missing",
                                     f"{result.downloaded} downloaded, {result.already} already here, {result.failed} failed "
                                     f"(of {result.listed} objects).", icon=NoticeIcon.DONE)
            except AgentError as error:
                self.notifier.error(error.title, window_text(error))
            except Exception as exc:
                log.exception("Catch-up failed")
                self.notifier.error("Catch-up failed", str(exc))
            finally:
                self._catch_up_running.clear()
                self._changed()

        threading.Thread(target=run, name="catch-up", daemon=True).start()
