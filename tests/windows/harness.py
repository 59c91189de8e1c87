"""The Windows tests' parts: a Wine prefix with the app installed (one user's Windows machine), the app run in it as
that user runs it, and its tray icon, menu and windows on the tests' X display (Xvfb with trayer, where Wine docks
its notification-area icons)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from agent.api import APP_NAME, APP_TITLE
from installer.windows.wine import RUN_KEY, Prefix
from tests.desktop.harness import Desktop, TrayApp
from tests.helpers import ROOT, wait_until, write_config

ARTIFACTS = ROOT / "test-artifacts" / "windows"
EXE = f"{APP_NAME}.exe"
RUN_VALUE = APP_TITLE
"""The Run value's name (agent/desktop/autostart/windows.py, installer/windows/s3-sqs-agent.iss)."""
SILENT = ("/VERYSILENT", "/SUPPRESSMSGBOXES", "/NORESTART")


@dataclass
class Machine:
    """One Windows user's machine: a prefix of its own, and what Windows calls its folders."""

    prefix: Prefix
    desktop: Desktop
    home: Path
    """A Linux folder for the test's own files (configs to hand over, outputs), reached as Z:\\... from Windows."""

    @property
    def app_folder(self) -> Path:
        return self.prefix.local_appdata / "Programs" / APP_TITLE  # {localappdata}\Programs\{#AppName} in the .iss

    @property
    def exe(self) -> Path:
        return self.app_folder / EXE

    @property
    def data_folder(self) -> Path:
        """platformdirs' user_config_dir and user_data_dir on Windows (no app author, not roaming)."""
        return self.prefix.local_appdata / APP_NAME

    @property
    def config_file(self) -> Path:
        return self.data_folder / "config.yaml"

    @property
    def log_file(self) -> Path:
        return self.data_folder / "Logs" / "agent.log"

    def win(self, path: Path) -> str:
        return self.prefix.windows_path(path)

    def agent(self, *args: str, timeout: float = 240, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """The installed s3-sqs-agent.exe with ARGS, to its end."""
        return self.prefix.run(self.win(self.exe), *args, timeout=timeout, extra=extra)

    def install(self, setup_exe: Path, *options: str, log: str = "setup.log") -> str:
        """setup.exe /VERYSILENT OPTIONS, as IT staff run it; returns Inno Setup's log."""
        log_file = self.home / log
        result = self.prefix.run(self.win(setup_exe), *SILENT, f"/LOG={self.win(log_file)}", *options, timeout=900)
        text = log_file.read_text(encoding="utf-8-sig", errors="replace") if log_file.exists() else ""
        assert result.returncode == 0, f"setup.exe exited with {result.returncode}:\n{text[-4000:]}{result.stdout[-2000:]}"
        assert "Installation process succeeded." in text, text[-4000:]
        return text

    def run_value(self) -> str | None:
        return self.prefix.reg_query(RUN_KEY, RUN_VALUE)

    def write_config(self, data: dict[str, Any], path: Path | None = None) -> Path:
        return write_config(path or self.config_file, data)

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace") if self.log_file.exists() else ""

    def agent_pid(self) -> int | None:
        """The Windows process id the running agent wrote into its lock file (agent.lock)."""
        try:
            return int((self.data_folder / "agent.lock").read_text(encoding="ascii").strip() or 0) or None
        except (OSError, ValueError):
            return None

    def taskkill(self, pid: int) -> subprocess.CompletedProcess[str]:
        """taskkill /F: TerminateProcess, Windows' kill -9 (nothing of the app's shutdown runs).

        By process id: Wine 8's `taskkill /IM s3-sqs-agent.exe` answers 'Could not find process' (it finds
        notepad.exe; `wmic process` lists the app), which is Wine's gap, not the app's."""
        return self.prefix.run("taskkill", "/F", "/PID", str(pid), timeout=120)

    def screenshot(self, name: str, box: tuple[int, int, int, int] | None = None) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        image = self.desktop.grab()
        if box:
            image = image.crop(box)
        path = ARTIFACTS / name
        image.save(path)
        return path


class WindowsApp(TrayApp):
    """The installed app started as Explorer starts it (the tray, with no arguments), or with `arguments`; the probes
    and the output are the desktop tests' (TrayApp), reached from Windows through drive Z:."""

    def __init__(self, machine: Machine, arguments: Sequence[str] = ()) -> None:
        super().__init__(machine.desktop, machine.config_file, machine.home, command=[machine.win(machine.exe)])
        self.machine = machine
        self.arguments = list(arguments)

    def start(self, wait_docked: bool = False, arguments: Sequence[str] | None = None) -> WindowsApp:
        self.probe_path.unlink(missing_ok=True)
        self.window_probes.mkdir(parents=True, exist_ok=True)
        win = self.machine.win
        self.process = self.machine.prefix.start(*self.command, *(self.arguments if arguments is None else arguments),
                                                 output=self.output, extra={
            "S3_SQS_AGENT_TRAY_PROBE": win(self.probe_path), "S3_SQS_AGENT_WINDOW_PROBE": win(self.window_probes),
            "S3_SQS_AGENT_OPENER_RECORD": win(self.opened_path)})
        return self

    def log(self) -> str:
        return self.machine.log()

    def wait_exit(self, timeout: float = 120) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def window_on_screen(self, title: str) -> list[str]:
        """The X windows (Wine draws each Windows window as one) titled exactly `title`."""
        return self.machine.desktop.window_named(f"^{title}$")

    def window_screenshot(self, kind: str, name: str) -> Image.Image:
        x, y, width, height = self.wait_window(kind)["geometry"]
        path = self.machine.screenshot(name, (x, y, x + width, y + height))
        return Image.open(path)

    # ------------------------------------------------------------ the notification-area icon and its menu

    def icon(self) -> tuple[int, int, int, int] | None:
        """Where Wine docked the icon: its explorer.exe window inside trayer's panel."""
        icons = self.machine.desktop.docked_icons("explorer.exe")
        return icons[0] if icons else None

    def menu(self) -> tuple[int, int, int, int] | None:
        """The open popup menu: a top-level X window of the app's (Wine draws a Win32 menu as one, override-redirect)."""
        for geometry in popups(self.machine.desktop.display, EXE):
            if geometry[2] > 60 and geometry[3] > 60:  # not a tooltip
                return geometry
        return None

    def open_menu(self) -> tuple[int, int, int, int]:
        """Right-click the icon, as a person does, and wait for the menu; the pointer then rests on its top edge.

        There the keys reach the menu (Xvfb has no window manager: the keyboard goes to the window under the
        pointer) and no item is highlighted yet. Wine's menu stops answering if the app rebuilds it while it is
        open (pystray's update_menu() destroys the HMENU being tracked: installer/README.md), so the tests open it
        only while the menu's status line holds still."""
        x, y, width, height = wait_until(self.icon, 60, "the icon in the notification area")
        for _ in range(3):
            self.machine.desktop.run("xdotool", "mousemove", str(x + width // 2), str(y + height // 2), "click", "3")
            try:
                menu = wait_until(self.menu, 20, "the menu to open")
            except AssertionError:
                continue  # the click came before the icon's window took clicks
            self.machine.desktop.run("xdotool", "mousemove", str(menu[0] + menu[2] // 2), str(menu[1] + 1))
            return menu
        raise AssertionError("right-clicking the icon did not open its menu")

    def close_menu(self) -> None:
        self.machine.desktop.run("xdotool", "key", "Escape")
        wait_until(lambda: self.menu() is None, 30, "the menu to close")

    def wait_settled(self, quiet_seconds: float = 2.0, timeout: float = 120) -> dict[str, Any]:
        """Until the tray has not redrawn for `quiet_seconds` (it rewrites its probe at every change): a menu opened
        then is not rebuilt under the pointer (see open_menu)."""
        def settled() -> dict[str, Any] | None:
            try:
                quiet = time.time() - self.probe_path.stat().st_mtime >= quiet_seconds
            except OSError:
                return None
            return self.probe() if quiet else None

        return wait_until(settled, timeout, "the tray to hold still", interval=0.25)

    def choose(self, label: str) -> None:
        """Open the menu and activate the top-level item whose text starts with `label`, by keyboard.

        A Win32 menu's arrow keys stop on every item but separators, greyed ones included (GTK's skip those)."""
        self.wait_probe(lambda probe: True)
        items = [item for item in self.wait_settled()["menu"] if not item.get("separator")]
        texts = [str(item["text"]) for item in items]
        index = next((i for i, text in enumerate(texts) if text.startswith(label)), None)
        assert index is not None, f"no menu item {label!r} in {texts}"
        assert items[index]["enabled"], f"{label!r} is greyed out"
        self.open_menu()
        self.machine.desktop.run("xdotool", "key", "--delay", "80", *(["Down"] * (index + 1)), "Return")
        wait_until(lambda: self.menu() is None, 30, f"the menu to close after choosing {label!r}")


def popups(display: str, wm_class: str) -> list[tuple[int, int, int, int]]:
    """Geometry of the viewable override-redirect top-level windows of `wm_class` (menus, tooltips)."""
    from Xlib import display as xdisplay

    connection = xdisplay.Display(display)
    found = []
    try:
        for child in connection.screen().root.query_tree().children:
            try:
                attributes = child.get_attributes()
                if attributes.map_state == 2 and attributes.override_redirect and wm_class in (child.get_wm_class() or ()):
                    geometry = child.get_geometry()
                    found.append((geometry.x, geometry.y, geometry.width, geometry.height))
            except Exception:  # the window went away meanwhile
                continue
    finally:
        connection.close()
    return found

