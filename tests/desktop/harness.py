"""The desktop tests' real parts: Xvfb, a tray host (trayer), a private D-Bus with a recording notification server,
and a tray app process driven with xdotool."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageGrab

from tests.desktop.notification_server import NotificationServer
from tests.desktop.status_notifier import StatusNotifierHost
from tests.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "desktop"
TOOLS = ("Xvfb", "trayer", "xdotool", "dbus-daemon")


def _xlib(display: str) -> Any:
    from Xlib import display as xdisplay

    return xdisplay.Display(display)


@dataclass
class Desktop:
    """A headless X desktop with a system tray and a session bus."""

    display: str
    bus_address: str
    notifications: NotificationServer
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    status_notifier: StatusNotifierHost | None = None
    """The panel's StatusNotifier host, on a desktop that has one (the tray then uses its AppIndicator backend)."""

    def env(self) -> dict[str, str]:
        env = os.environ.copy()
        env.update(DISPLAY=self.display, DBUS_SESSION_BUS_ADDRESS=self.bus_address, NO_AT_BRIDGE="1")
        env.pop("WAYLAND_DISPLAY", None)
        env.pop("PYSTRAY_BACKEND", None)
        return env

    def tray_owner(self) -> int:
        connection = _xlib(self.display)
        try:
            atom = connection.intern_atom("_NET_SYSTEM_TRAY_S0")
            owner = connection.get_selection_owner(atom)
            return int(getattr(owner, "id", owner) or 0)
        finally:
            connection.close()

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(args), env=self.env(), capture_output=True, text=True, timeout=30, check=False)

    def screenshot(self, name: str, box: tuple[int, int, int, int] | None = None) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        image = ImageGrab.grab(xdisplay=self.display)
        if box:
            image = image.crop(box)
        path = ARTIFACTS / name
        image.save(path)
        return path

    def grab(self) -> Image.Image:
        return ImageGrab.grab(xdisplay=self.display)

    def docked_icons(self, wm_class: str) -> list[tuple[int, int, int, int]]:
        """Geometry (x, y, width, height on screen) of viewable windows of `wm_class` inside trayer's panel."""
        connection = _xlib(self.display)
        found: list[tuple[int, int, int, int]] = []
        try:
            root = connection.screen().root

            def walk(window: Any, inside_panel: bool) -> None:
                for child in window.query_tree().children:
                    try:
                        names = child.get_wm_class() or ()
                        attributes = child.get_attributes()
                    except Exception:
                        continue
                    panel = inside_panel or "trayer" in names
                    if inside_panel and wm_class in names and attributes.map_state == 2:
                        geometry = child.get_geometry()
                        origin = child.translate_coords(root, 0, 0)
                        found.append((-origin.x, -origin.y, geometry.width, geometry.height))
                    walk(child, panel)

            walk(root, False)
        finally:
            connection.close()
        return found

    def popup_menus(self) -> list[tuple[int, int, int, int]]:
        """Geometry of viewable popup menus (GTK marks them _NET_WM_WINDOW_TYPE_POPUP_MENU)."""
        connection = _xlib(self.display)
        try:
            root = connection.screen().root
            window_type = connection.intern_atom("_NET_WM_WINDOW_TYPE")
            popup = connection.intern_atom("_NET_WM_WINDOW_TYPE_POPUP_MENU")
            menus = []
            for child in root.query_tree().children:
                try:
                    if child.get_attributes().map_state != 2:
                        continue
                    prop = child.get_full_property(window_type, 0)
                    if prop is not None and popup in prop.value:
                        geometry = child.get_geometry()
                        menus.append((geometry.x, geometry.y, geometry.width, geometry.height))
                except Exception:
                    continue
            return menus
        finally:
            connection.close()

    def focus(self, name: str, timeout: float = 30) -> str:
        """Wait for a window titled `name` (a regular expression) and give it the keyboard focus, as a window
        manager would for a new dialog. Returns its id."""
        window = wait_until(lambda: self.window_named(name), timeout, f"a window named {name!r}")[0]
        self.run("xdotool", "windowfocus", "--sync", window)
        wait_until(lambda: self.run("xdotool", "getwindowfocus").stdout.strip() == window, 10, f"{name!r} to have the focus")
        return window

    def window_named(self, name: str) -> list[str]:
        result = self.run("xdotool", "search", "--onlyvisible", "--name", name)
        return result.stdout.split()


def start_desktop(tmp: Path, screen: str = "640x480", panel: str | None = None, status_notifier: bool = False) -> Iterator[Desktop]:
    """Xvfb, then a private session bus with the recording notification server (and a StatusNotifier host when
    `status_notifier`), then trayer: its panel in GTK's default background, or in `panel` (a colour such as 0x202020,
    through trayer's --tint)."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(f"missing {', '.join(missing)}: run `make system-deps` (make test does it)")
    processes: list[subprocess.Popen[bytes]] = []
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{screen}x24", "-nolisten", "tcp", "-noreset"],
                            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    processes.append(xvfb)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    if not number:
        raise RuntimeError("Xvfb did not start")
    display = f":{number}"
    bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
    processes.append(bus)
    assert bus.stdout is not None
    bus_address = bus.stdout.readline().decode().strip()
    server = NotificationServer(bus_address).start()
    desktop = Desktop(display, bus_address, server, processes, StatusNotifierHost(bus_address).start() if status_notifier else None)
    colour = ["--transparent", "true", "--alpha", "0", "--tint", panel] if panel else ["--transparent", "false", "--tint", "0xdddddd"]
    trayer = subprocess.Popen(["trayer", "--edge", "top", "--align", "right", "--widthtype", "pixel", "--width", "160",
                               "--heighttype", "pixel", "--height", "32", *colour, "--expand", "true", "--SetDockType", "true"],
                              env=desktop.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    processes.append(trayer)
    wait_until(desktop.tray_owner, 30, "trayer to own _NET_SYSTEM_TRAY_S0")
    try:
        yield desktop
    finally:
        server.stop()
        if desktop.status_notifier is not None:
            desktop.status_notifier.stop()
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()


class TrayApp:
    """`python -m agent tray --config FILE` as a child process, with a probe file and an opener recorder.

    `command` runs another build of the agent instead: the frozen executable, or the one a fresh venv installed."""

    def __init__(self, desktop: Desktop, config: Path, home: Path, extra_env: dict[str, str] | None = None,
                 command: Sequence[str] = (sys.executable, "-m", "agent")) -> None:
        self.command = list(command)
        self.desktop = desktop
        self.config = config
        self.home = home
        self.probe_path = home / "tray-probe.json"
        self.opened_path = home / "opened.jsonl"
        self.log_path = home / "state" / "s3-sqs-agent" / "log" / "agent.log"
        self.output = home / "tray-output.txt"
        self.window_probes = home / "window-probes"
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        env = self.desktop.env()
        self.window_probes.mkdir(parents=True, exist_ok=True)
        env.update({"S3_SQS_AGENT_TRAY_PROBE": str(self.probe_path), "S3_SQS_AGENT_OPENER_RECORD": str(self.opened_path),
                    "S3_SQS_AGENT_WINDOW_PROBE": str(self.window_probes)})
        env.update(self.extra_env)
        return env

    def start(self, wait_docked: bool = True, arguments: Sequence[str] | None = None) -> TrayApp:
        """`tray --config FILE`, or `arguments` (none at all: a double-click on the app)."""
        self.probe_path.unlink(missing_ok=True)
        arguments = ["tray", "--config", str(self.config)] if arguments is None else list(arguments)
        with open(self.output, "ab") as output:
            self.process = subprocess.Popen([*self.command, *arguments], cwd=ROOT, env=self.env(), stdout=output,
                                            stderr=subprocess.STDOUT)
        if wait_docked:
            self.wait_probe(lambda probe: probe["state"] != "syncing" or probe["status"] != "Starting…", what="the tray to draw")
            wait_until(self.icon, 30, "the icon to dock in the tray")
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 30) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
            raise AssertionError(f"the tray app did not stop within {timeout} s; output:\n{self.read_output()}") from None

    def read_output(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # ------------------------------------------------------------ what the tray shows

    def probe(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.probe_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def wait_probe(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 30, what: str = "the tray") -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"the tray app exited ({self.process.returncode}) while waiting for {what}:\n{self.read_output()}")
            probe = self.probe()
            return probe if probe is not None and predicate(probe) else None

        try:
            return wait_until(check, timeout, what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last probe: {self.probe()}") from None

    @staticmethod
    def menu_item(probe: dict[str, Any], text: str) -> dict[str, Any]:
        """The top-level menu item whose text starts with `text`, from a probe."""
        return next(item for item in probe["menu"] if str(item.get("text", "")).startswith(text))

    def wait_state(self, state: str, timeout: float = 30) -> dict[str, Any]:
        return self.wait_probe(lambda probe: probe["state"] == state, timeout, f"the icon to show {state!r}")

    def icon(self) -> tuple[int, int, int, int] | None:
        icons = self.desktop.docked_icons("s3-sqs-agent")
        return icons[0] if icons else None

    def icon_image(self) -> Image.Image:
        x, y, width, height = wait_until(self.icon, 10, "the docked icon")
        return self.desktop.grab().crop((x, y, x + width, y + height))

    def opened(self) -> list[dict[str, str]]:
        if not self.opened_path.exists():
            return []
        return [json.loads(line) for line in self.opened_path.read_text(encoding="utf-8").splitlines() if line.strip()]

    # ------------------------------------------------------------ its windows (Activity, Settings, Setup)

    def window_probe(self, kind: str) -> dict[str, Any] | None:
        try:
            return json.loads((self.window_probes / f"{kind}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def wait_window(self, kind: str, predicate: Callable[[dict[str, Any]], bool] = lambda probe: True, timeout: float = 30,
                    what: str | None = None) -> dict[str, Any]:
        """Wait until the window of `kind` shows what `predicate` wants (its probe: what it shows, and where)."""
        def check() -> dict[str, Any] | None:
            probe = self.window_probe(kind)
            return probe if probe is not None and predicate(probe) else None

        try:
            return wait_until(check, timeout, what or f"the {kind} window")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last probe: {self.window_probe(kind)}\n{self.read_output()[-3000:]}") from None

    def window_closed(self, kind: str) -> bool:
        probe = self.window_probe(kind)
        if probe is None:
            return True
        try:
            os.kill(int(probe["pid"]), 0)
        except (ProcessLookupError, PermissionError):
            return True
        return False

    def window_screenshot(self, kind: str, name: str) -> Path:
        """A picture of the window alone, saved under test-artifacts/desktop/."""
        x, y, width, height = self.wait_window(kind)["geometry"]
        return self.desktop.screenshot(name, (x, y, x + width, y + height))

    def keys(self, *keys: str, delay_ms: int = 80) -> None:
        """Type keys into the window that has the focus, as a person would."""
        self.desktop.run("xdotool", "key", "--delay", str(delay_ms), *keys)

    def type_text(self, text: str) -> None:
        self.desktop.run("xdotool", "type", "--delay", "20", text)

    # ------------------------------------------------------------ driving the menu

    def open_menu(self) -> tuple[int, int, int, int]:
        """Right-click the icon and wait for the popup menu."""
        x, y, width, height = wait_until(self.icon, 10, "the docked icon")
        for _ in range(3):
            self.desktop.run("xdotool", "mousemove", str(x + width // 2), str(y + height // 2), "click", "3")
            try:
                return wait_until(self.desktop.popup_menus, 5, "the menu to open")[0]
            except AssertionError:
                continue  # the click landed while GTK was still mapping the icon
        raise AssertionError("right-clicking the icon did not open a menu")

    def left_click(self) -> None:
        """Left-click the icon, as a person who expects it to open something."""
        x, y, width, height = wait_until(self.icon, 10, "the docked icon")
        self.desktop.run("xdotool", "mousemove", str(x + width // 2), str(y + height // 2), "click", "1")

    def close_menu(self) -> None:
        self.desktop.run("xdotool", "key", "Escape")
        wait_until(lambda: not self.desktop.popup_menus(), 10, "the menu to close")

    def choose(self, *labels: str) -> None:
        """Open the menu and activate the item reached through `labels` (top level, then submenus), by keyboard."""
        probe = self.wait_probe(lambda p: True)
        keys: list[str] = []
        items = probe["menu"]
        for depth, label in enumerate(labels):
            selectable = [item for item in items if not item.get("separator") and item.get("enabled")]
            texts = [item["text"] for item in selectable]
            matches = [index for index, text in enumerate(texts) if text == label or text.startswith(label)]
            assert matches, f"no enabled menu item {label!r} in {texts}"
            index = matches[0]
            keys += ["Down"] * (index + 1) if depth == 0 else ["Down"] * index
            if depth < len(labels) - 1:
                keys.append("Right")
                items = selectable[index]["submenu"]
        keys.append("Return")
        self.open_menu()
        self.desktop.run("xdotool", "key", "--delay", "60", *keys)
        wait_until(lambda: not self.desktop.popup_menus(), 10, "the menu to close after choosing an item")
