"""The tray app: one instance per user, the engine in the background, the icon on the main thread, live config."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path

from agent import config as config_module
from agent import dirs, logs
from agent.api import APP_NAME, APP_TITLE
from agent.desktop import dialogs, icons
from agent.desktop.controller import Controller
from agent.desktop.notify import Notifier, default_backend, notify_once
from agent.desktop.tray import Tray, TrayUnavailable, load_pystray
from agent.desktop.watcher import ConfigWatcher
from agent.engine.ledger import Ledger
from agent.instance import InstanceLock

log = logging.getLogger(__name__)

TRAY_WAIT_ENV = "S3_SQS_AGENT_TRAY_WAIT"
"""Seconds to wait for a system tray to appear before saying there is none (default 20; a panel can start late)."""
EXIT_OK, EXIT_ERROR = 0, 1


def _say(text: str) -> None:
    if sys.stderr is not None:
        print(text, file=sys.stderr)


def main(config_path: Path | None = None) -> int:
    """Run the tray app until Quit. Returns the process exit code."""
    logs.setup()
    lock = InstanceLock()
    if not lock.acquire():
        pid = lock.owner_pid()
        message = f"{APP_TITLE} is already running{f' (process {pid})' if pid else ''}; look for its icon in the system tray."
        log.info("%s Exiting.", message)
        _say(message)
        notify_once(f"{APP_TITLE} is already running", "Look for its icon in the system tray.")
        return EXIT_OK
    try:
        return _run(config_path)
    finally:
        lock.release()


def _app_icon_file() -> Path | None:
    """A PNG of the app icon for notifications."""
    try:
        path = dirs.ensure_private_dir(dirs.data_dir()) / "icon.png"
        icons.app_icon(128).save(path)
        return path
    except OSError:
        return None


def _notice_icon_files() -> dict[icons.NoticeIcon, Path]:
    """A PNG per kind of notification (done, waiting, failed, needs you...), drawn at each start: they match this
    version's drawings."""
    return icons.write_notice_icons(dirs.ensure_private_dir(dirs.data_dir()) / "notice-icons")


def _run(config_path: Path | None) -> int:
    path = config_path or dirs.default_config_file()
    if config_path is None and not path.exists():
        config_module.write_template(path)  # the commented keys, for those who open the file; Setup fills it in
    ledger = Ledger(dirs.ledger_file())
    icon_file = _app_icon_file()
    controller: Controller | None = None

    def open_folder() -> None:
        if controller is not None:
            controller.open_download_folder()

    def open_activity() -> None:
        if controller is not None:
            controller.run_action(lambda: controller.open_window("activity") if controller else None)

    from agent.desktop import opener

    notifier = Notifier(backend_factory=lambda: default_backend(icon_file), open_folder=open_folder,
                        open_activity=open_activity, reveal=opener.reveal, icon_files=_notice_icon_files)
    controller = Controller(path, ledger, notifier)
    watcher = ConfigWatcher(path, controller.apply, controller.config_invalid)
    notifier.start()
    try:
        controller.start()
        watcher.start(controller.loaded_text)
        if controller.needs_setup:  # a first run: the Setup window, never a YAML file to fill in
            controller.run_action(lambda: controller.open_window("setup") if controller else None)
        return _show(controller, notifier)
    finally:
        dialogs.close_all()
        watcher.stop()
        controller.stop()
        notifier.stop()
        ledger.close()
        log.info("%s stopped", APP_TITLE)


def _show(controller: Controller, notifier: Notifier) -> int:
    """Show the tray icon; without a usable tray, say why and offer to keep running without an icon."""
    try:
        pystray, backend = load_pystray()
    except TrayUnavailable as problem:
        log.error("%s", problem)
        return _without_tray(problem, notifier)
    tray_wait = float(os.environ.get(TRAY_WAIT_ENV, "20"))
    tray = Tray(controller, pystray, backend, tray_wait_seconds=tray_wait,
                on_no_tray=lambda problem: _offer_to_keep_running(problem, notifier))
    try:
        return tray.run()
    except TrayUnavailable as problem:
        log.error("%s", problem)
        return _without_tray(problem, notifier)


def _offer_to_keep_running(problem: TrayUnavailable, notifier: Notifier) -> bool:
    """Tell the user, with the fix, and ask whether to keep downloading without an icon. True: keep running."""
    _say(str(problem))
    notifier.notify(f"{APP_TITLE}: no system tray", f"{problem.reason}\n{problem.fix}", icon=icons.NoticeIcon.NEEDS_YOU)
    question = (f"{problem.reason}\n\n{problem.fix}\n\nKeep {APP_TITLE} running without an icon? It keeps downloading "
                f"and shows notifications, and stops when you log out. (Without a desktop: {APP_NAME} run --headless)")
    try:
        keep = dialogs.ask_yes_no(f"{APP_TITLE}: no system tray", question)
    except dialogs.DialogUnavailable as exc:
        log.info("Cannot ask about running without an icon (%s)", exc)
        return False
    log.info("Running without a tray icon: %s", "yes" if keep else "no")
    return keep


def _without_tray(problem: TrayUnavailable, notifier: Notifier) -> int:
    """No icon possible: keep running only if the user says so; otherwise exit with the fix on the terminal."""
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        log.info("Quitting (signal %d)", signum)
        stop.set()
        dialogs.close_all()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    keep = _offer_to_keep_running(problem, notifier)
    if stop.is_set():
        return EXIT_OK
    if not keep:
        return EXIT_ERROR
    while not stop.wait(0.5):
        pass
    return EXIT_OK
