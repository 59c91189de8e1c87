"""The pystray icon and menu on the main thread; engine changes reach it only through the UI thread's queue.

On Linux the menu needs PyGObject: the `appindicator` backend is tried first (it falls back to an XEmbed icon by
itself when there is no StatusNotifier host), then `gtk`; when the session has only an XEmbed tray, `gtk` comes first,
as its status icon is told the size to draw at. pystray's `xorg` backend has no menu and is never used.
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from agent.api import APP_NAME, __version__
from agent.desktop import autostart, icons, pygobject, tray_icon
from agent.desktop.controller import Controller
from agent.desktop.tray_view import PAUSE_CHOICES, PROBLEM_LINES, TrayView

log = logging.getLogger(__name__)

LINUX_BACKENDS = ("appindicator", "gtk")
PROBE_ENV = "S3_SQS_AGENT_TRAY_PROBE"
"""When set to a file path, the tray writes what it shows (icon state, tooltip, menu) there as JSON after each redraw."""
REFRESH_SECONDS = 1.0

TRAY_FIX = ("Enable a system tray: on GNOME install and turn on the 'AppIndicator and KStatusNotifierItem Support' "
            "extension (Debian/Ubuntu: sudo apt install gnome-shell-extension-appindicator); other desktops have a "
            "tray or panel applet to add.")
HEADLESS_HINT = f"Or run without a tray: {APP_NAME} run --headless"


class TrayUnavailable(Exception):
    """No tray can be shown here; `fix` says what to do about it."""

    def __init__(self, reason: str, fix: str) -> None:
        super().__init__(reason)
        self.reason, self.fix = reason, fix

    def __str__(self) -> str:
        return f"{self.reason}\n{self.fix}\n{HEADLESS_HINT}"


def load_pystray() -> tuple[ModuleType, str]:
    """Import pystray with a backend that has a menu. Returns (module, backend name); raises TrayUnavailable."""
    if sys.platform in ("win32", "darwin"):
        import pystray

        return pystray, sys.platform
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise TrayUnavailable("There is no graphical session here (neither DISPLAY nor WAYLAND_DISPLAY is set).",
                              "Start S3 SQS Agent from your desktop session.")
    try:
        import gi  # noqa: F401
    except ImportError:
        raise TrayUnavailable("PyGObject (the 'gi' module) is not installed; the tray menu needs it on Linux.",
                              pygobject.install_advice()) from None
    wanted = os.environ.get("PYSTRAY_BACKEND")
    candidates = [wanted] if wanted in LINUX_BACKENDS else list(LINUX_BACKENDS)
    if wanted not in LINUX_BACKENDS and not _status_notifier_watcher() and _xembed_tray():
        candidates.reverse()  # only an XEmbed tray: GTK's own status icon knows the size the tray gives it
    from gi.repository import GLib

    GLib.set_prgname(APP_NAME)  # before GTK starts: the icon's window class (WM_CLASS) names the app, not python
    if wanted and wanted not in LINUX_BACKENDS:
        log.warning("Ignoring PYSTRAY_BACKEND=%s: only %s have a menu", wanted, " and ".join(LINUX_BACKENDS))
    problems = []
    for name in candidates:
        os.environ["PYSTRAY_BACKEND"] = name
        for module in [m for m in sys.modules if m == "pystray" or m.startswith("pystray.")]:
            del sys.modules[module]
        try:
            return importlib.import_module("pystray"), name
        except (ImportError, ValueError) as exc:
            problems.append(f"{name}: {exc}")
    raise TrayUnavailable(f"No tray backend with a menu could be loaded ({'; '.join(problems)}).", pygobject.install_advice())


def tray_host_present() -> bool:
    """Whether a tray can show the icon: a StatusNotifier host on D-Bus or an XEmbed tray on the X screen."""
    if sys.platform in ("win32", "darwin"):
        return True
    return _status_notifier_watcher() or _xembed_tray()


def _status_notifier_watcher() -> bool:
    try:
        from gi.repository import Gio, GLib

        bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
        reply = bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner",
                              GLib.Variant("(s)", ("org.kde.StatusNotifierWatcher",)), None, Gio.DBusCallFlags.NONE, 2000, None)
        return bool(reply.unpack()[0])
    except Exception:  # noqa: BLE001  no session bus: no StatusNotifier host either
        return False


def _xembed_tray() -> bool:
    if not os.environ.get("DISPLAY"):
        return False
    try:
        from Xlib import display as xdisplay

        connection = xdisplay.Display()
        try:
            atom = connection.intern_atom(f"_NET_SYSTEM_TRAY_S{connection.get_default_screen()}")
            owner = connection.get_selection_owner(atom)
            return bool(getattr(owner, "id", owner))
        finally:
            connection.close()
    except Exception:  # noqa: BLE001
        return False


class Tray:
    """Runs the icon on the calling (main) thread until Quit. `run()` returns the exit code."""

    def __init__(self, controller: Controller, pystray: ModuleType, backend: str, *,
                 tray_wait_seconds: float = 20.0, on_no_tray: Callable[[TrayUnavailable], bool] | None = None) -> None:
        self.controller = controller
        self.pystray = pystray
        self.backend = backend
        self.tray_wait_seconds = tray_wait_seconds
        self.on_no_tray = on_no_tray
        self.view: TrayView | None = None
        self.exit_code = 0
        self._icon: Any = None
        self._refresh = threading.Event()
        self._stopping = threading.Event()
        self._probe = os.environ.get(PROBE_ENV)
        self._menu_shown: list[dict[str, Any]] | None = None
        self.menu_rebuilds = 0

    # ------------------------------------------------------------ running

    def run(self) -> int:
        pystray = self.pystray
        self.view = self.controller.view()
        icon_class = tray_icon.icon_class(pystray, self.backend)
        self._icon = icon_class(APP_NAME, icons.draw(self.view.state, tray_icon.FALLBACK_SIZE), self._title(self.view), menu=self._menu())
        self._icon.show_state(self.view.state)
        log.info("Tray backend: %s", self.backend)
        self.controller.add_listener(self._refresh.set)
        if not self._is_gtk():
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, lambda *_: self.quit())
        try:
            self._icon.run(setup=self._setup)
        except Exception as exc:
            if not self._stopping.is_set():
                raise TrayUnavailable(f"The tray icon could not run ({exc}).",
                                      "Make sure a desktop session with D-Bus is running.") from exc
            log.debug("Error while closing the tray icon", exc_info=True)
        finally:
            self._stopping.set()
            self._refresh.set()
            self._icon.close()
        return self.exit_code

    def _setup(self, icon: Any) -> None:
        """Runs on a pystray helper thread once the icon exists."""
        if self._is_gtk():
            from gi.repository import GLib

            for signum in (signal.SIGINT, signal.SIGTERM):
                GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, self._on_signal)
        icon.visible = True
        threading.Thread(target=self._update_loop, name="tray-updater", daemon=True).start()
        self._ui(lambda: self._apply(self.view, force=True) if self.view else None)
        self._wait_for_tray_host()

    def _on_signal(self) -> bool:
        log.info("Quitting (signal)")
        self.quit()
        return False

    def _wait_for_tray_host(self) -> None:
        deadline = time.monotonic() + self.tray_wait_seconds
        while not self._stopping.is_set():
            if tray_host_present():
                log.info("A system tray is present; the icon is shown there")
                return
            if time.monotonic() >= deadline:
                break
            self._stopping.wait(0.25)
        if self._stopping.is_set():
            return
        problem = TrayUnavailable(f"No system tray was found after {self.tray_wait_seconds:g} s, so the icon cannot be shown.", TRAY_FIX)
        log.error("%s", problem)
        if self.on_no_tray is None or not self.on_no_tray(problem):
            self.exit_code = 1
            self.quit()

    def quit(self) -> None:
        """Leave the main loop; the app then stops the engine gracefully."""
        self._stopping.set()
        icon = self._icon
        if icon is not None:
            self._ui(icon.stop)

    # ------------------------------------------------------------ handing work to the UI thread

    def _is_gtk(self) -> bool:
        return self.backend in LINUX_BACKENDS

    def _ui(self, function: Callable[[], Any]) -> None:
        """Run `function` on the UI thread (GTK: the GLib main loop; macOS: the AppKit main thread)."""
        if self._is_gtk():
            from gi.repository import GLib

            def once() -> bool:
                try:
                    function()
                except Exception:
                    log.exception("Tray update failed")
                return False

            GLib.idle_add(once)
        elif sys.platform == "darwin":
            from PyObjCTools import AppHelper  # pystray's macOS backend depends on PyObjC

            AppHelper.callAfter(function)
        else:  # Windows: pystray's win32 calls post messages to the icon's own thread
            function()

    def _update_loop(self) -> None:
        """Computes the view off the UI thread (it reads the ledger) and hands changes to the UI thread."""
        while not self._stopping.is_set():
            self._refresh.wait(REFRESH_SECONDS)
            self._refresh.clear()
            if self._stopping.is_set():
                return
            try:
                view = self.controller.view()
            except Exception:
                log.exception("Could not compute the tray's state")
                continue
            if view != self.view:
                self._ui(functools.partial(self._apply, view))

    def _apply(self, view: TrayView, force: bool = False) -> None:
        """On the UI thread: redraw what changed. The menu is rebuilt only when an item as shown differs: a platform
        menu rebuilt while it is open can stop answering (Wine's win32 menu does, as pystray destroys it)."""
        previous, self.view = self.view, view
        icon = self._icon
        if force or previous is None or previous.state != view.state:
            icon.show_state(view.state)
        icon.title = self._title(view)  # pystray's setter redraws a changed title only
        menu = rendered(icon.menu, self.pystray.Menu.SEPARATOR)
        if force or menu != self._menu_shown:
            self._menu_shown = menu
            self.menu_rebuilds += 1
            log.debug("Tray menu rebuilt (%d so far)", self.menu_rebuilds)
            icon.update_menu()
        self._write_probe(view, menu)

    @staticmethod
    def _title(view: TrayView) -> str:
        return f"S3 SQS Agent: {view.status}"

    # ------------------------------------------------------------ the menu

    def _menu(self) -> Any:
        Menu, Item = self.pystray.Menu, self.pystray.MenuItem
        controller = self.controller
        login = autostart.for_platform()

        def toggle_login() -> None:
            login.set_enabled(not login.is_enabled())
            self._ui(lambda: self._apply(self.view) if self.view else None)  # show the new tick now

        def action(function: Callable[[], None]) -> Callable[[Any, Any], None]:
            return lambda icon, item: controller.run_action(function)

        return Menu(
            Item(lambda item: self.view.status if self.view else "Starting…", None, enabled=False),
            *self._problem_items(),
            # The default item is what a left click on the icon does (Windows, XEmbed trays); GTK shows it in bold.
            # AppIndicator (StatusNotifier) and macOS have no left-click action of their own: a click opens this menu.
            Item("Set up…", action(lambda: controller.open_window("setup")), visible=lambda item: self._needs_setup(),
                 default=lambda item: self._needs_setup()),
            Item(lambda item: (self.view.sign_in if self.view else None) or "", action(controller.sign_in.start),
                 visible=lambda item: bool(self.view and self.view.sign_in), enabled=lambda item: not controller.sign_in.busy),
            Menu.SEPARATOR,
            Item("Pause", Menu(*[Item(choice.label, action(functools.partial(controller.pause, choice))) for choice in PAUSE_CHOICES]),
                 visible=lambda item: not (self.view and self.view.paused)),
            Item("Resume", action(controller.resume), visible=lambda item: bool(self.view and self.view.paused)),
            Menu.SEPARATOR,
            Item("Activity…", action(lambda: controller.open_window("activity")), default=lambda item: not self._needs_setup()),
            Item("Open download folder", action(controller.open_download_folder)),
            Item("Choose download folder…", action(controller.choose_download_folder)),
            Item("Recent files", Menu(self._recent_items)),
            Item("Failed items", Menu(
                Item(lambda item: f"Retry all ({self.view.retryable if self.view else 0})", action(controller.retry_failed),
                     enabled=lambda item: bool(self.view and self.view.retryable)),
                Item("Open log", action(controller.open_log)),
            )),
            Item("Download missing files…", action(controller.download_missing), enabled=lambda item: controller.can_catch_up),
            Menu.SEPARATOR,
            Item("Settings…", action(lambda: controller.open_window("settings"))),
            Item("Open config file", action(controller.open_config)),
            Item("Open log folder", action(controller.open_log_folder)),
            Item("Start at login", action(toggle_login), checked=lambda item: login.is_enabled()),  # read from disk each time: the CLI may change it
            Item("Create diagnostics bundle…", action(lambda: controller.create_diagnostics(self.backend))),
            Menu.SEPARATOR,
            Item(f"About S3 SQS Agent {__version__}", action(controller.about)),
            Item("Quit", lambda icon, item: self.quit()),
        )

    def _problem_items(self) -> list[Any]:
        """Under the status line: what is wrong and where to fix it, a line each (PROBLEM_LINES at most)."""
        def line(index: int) -> str:
            problem = self.view.problem if self.view else ()
            return problem[index] if index < len(problem) else ""

        return [self.pystray.MenuItem(functools.partial(lambda index, item: line(index), index), None, enabled=False,
                                      visible=functools.partial(lambda index, item: bool(line(index)), index))
                for index in range(PROBLEM_LINES)]

    def _needs_setup(self) -> bool:
        return bool(self.view and self.view.needs_setup)

    def _recent_items(self) -> list[Any]:
        Item = self.pystray.MenuItem
        recent = self.view.recent if self.view else ()
        if not recent:
            return [Item("No files yet", None, enabled=False)]
        return [Item(entry.label, self._reveal_action(entry.path)) for entry in recent]

    def _reveal_action(self, path: Path) -> Callable[[Any, Any], None]:
        return lambda icon, item: self.controller.run_action(lambda: self.controller.reveal(path))

    # ------------------------------------------------------------ test probe

    def _write_probe(self, view: TrayView, menu: list[dict[str, Any]]) -> None:
        if not self._probe:
            return
        data = {"state": view.state.value, "status": view.status, "paused": view.paused, "title": self._icon.title,
                "download_folder": view.download_folder, "backend": self.backend, "menu": menu,
                "menu_rebuilds": self.menu_rebuilds, "pid": os.getpid()}
        target = Path(self._probe)
        temporary = target.with_name(target.name + ".tmp")
        temporary.write_text(json.dumps(data), encoding="utf-8")
        os.replace(temporary, target)


def rendered(menu: Any, separator: Any) -> list[dict[str, Any]]:
    """A pystray menu as it is shown: its visible items' texts, states and submenus (the test probe writes it too)."""
    entries: list[dict[str, Any]] = []
    for item in menu:
        if item is separator:
            entries.append({"separator": True})
            continue
        entry: dict[str, Any] = {"text": item.text, "enabled": item.enabled}
        if item.default:  # what a left click on the icon does
            entry["default"] = True
        if item.checked is not None:  # a checkbox
            entry["checked"] = item.checked
        if item.submenu:
            entry["submenu"] = rendered(item.submenu, separator)
        entries.append(entry)
    return entries
