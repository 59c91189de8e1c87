"""Start at login: the XDG file for real (desktop-file-validate), the macOS plist read back, the Windows Run value
against a fake registry, the one place that picks them, and the CLI."""

from __future__ import annotations

import plistlib
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agent.desktop import autostart, dialogs
from agent.desktop.autostart.base import launch_command
from agent.desktop.autostart.linux import LOGIN_TRAY_WAIT_SECONDS, LinuxAutostart
from agent.desktop.autostart.macos import BUNDLE_ID, MacAutostart
from agent.desktop.autostart.windows import RUN_KEY, VALUE_NAME, WindowsAutostart
from tests.helpers import run_agent

AWKWARD = ["/opt/My Apps/s3-sqs-agent", "--odd=$HOME 100% \"quoted\""]


def validate(path: Path) -> None:
    tool = shutil.which("desktop-file-validate")
    assert tool, "desktop-file-validate is missing: run `make system-deps` (Debian package desktop-file-utils)"
    result = subprocess.run([tool, str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def unescape_exec(value: str) -> list[str]:
    """The inverse of the two escaping levels of a desktop entry's Exec (string, then quoting); enough for a test."""
    unquoted = value.replace("\\\\", "\\").replace("%%", "%").replace("\\$", "$").replace("\\`", "`")
    return shlex.split(unquoted)


def test_linux_entry_is_written_in_xdg_config_home_and_validates(private_home: Path) -> None:
    entry = LinuxAutostart(AWKWARD)
    assert entry.path == private_home / "config" / "autostart" / "s3-sqs-agent.desktop"
    assert not entry.is_enabled()
    entry.enable()
    validate(entry.path)
    text = entry.path.read_text(encoding="utf-8")
    assert "X-GNOME-Autostart-Delay=" in text and "Type=Application" in text
    state = entry.status()
    assert state.enabled and state.location == str(entry.path)
    assert state.command is not None
    assert unescape_exec(state.command) == ["/usr/bin/env", f"S3_SQS_AGENT_TRAY_WAIT={LOGIN_TRAY_WAIT_SECONDS}", *AWKWARD]
    entry.enable()  # twice is fine
    entry.disable()
    assert not entry.path.exists() and not entry.is_enabled()
    entry.disable()  # and removing nothing too


def test_linux_status_reads_what_is_on_disk(private_home: Path) -> None:
    entry = LinuxAutostart(["/usr/bin/s3-sqs-agent"])
    entry.enable()
    entry.path.write_text(entry.path.read_text(encoding="utf-8") + "Hidden=true\n", encoding="utf-8")
    assert not entry.is_enabled()  # a desktop's settings app hid it
    entry.path.write_text(entry.contents().replace("X-GNOME-Autostart-enabled=true", "X-GNOME-Autostart-enabled=false"))
    assert not entry.is_enabled()
    entry.path.write_text("not a desktop entry", encoding="utf-8")
    assert not entry.is_enabled()


def test_linux_default_folder_without_xdg_config_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert LinuxAutostart(["x"]).path == tmp_path / ".config" / "autostart" / "s3-sqs-agent.desktop"


def test_macos_plist_runs_at_load_without_keep_alive(tmp_path: Path) -> None:
    entry = MacAutostart(["/Applications/S3 SQS Agent.app/Contents/MacOS/s3-sqs-agent"], folder=tmp_path)
    assert not entry.is_enabled()
    entry.enable()
    assert entry.path == tmp_path / f"{BUNDLE_ID}.plist"
    with open(entry.path, "rb") as file:
        data = plistlib.load(file)
    assert data["Label"] == BUNDLE_ID
    assert data["ProgramArguments"] == ["/Applications/S3 SQS Agent.app/Contents/MacOS/s3-sqs-agent"]
    assert data["RunAtLoad"] is True
    assert "KeepAlive" not in data  # Quit from the tray must not be undone by launchd
    assert entry.is_enabled()
    entry.disable()
    assert not entry.path.exists() and not entry.is_enabled()


class FakeRegistry:
    """HKEY_CURRENT_USER as a dict of (key, value name) -> string."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], str] = {}

    def get(self, key: str, name: str) -> str | None:
        return self.values.get((key, name))

    def set(self, key: str, name: str, value: str) -> None:
        self.values[(key, name)] = value

    def delete(self, key: str, name: str) -> None:
        self.values.pop((key, name), None)


def test_windows_run_value_holds_the_quoted_executable() -> None:
    registry = FakeRegistry()
    exe = r"C:\Users\Ann Lee\AppData\Local\Programs\S3 SQS Agent\s3-sqs-agent.exe"
    entry = WindowsAutostart([exe], registry=registry)
    assert not entry.is_enabled()
    entry.enable()
    assert RUN_KEY == r"Software\Microsoft\Windows\CurrentVersion\Run"
    assert registry.values == {(RUN_KEY, VALUE_NAME): f'"{exe}"'}
    state = entry.status()
    assert state.enabled and state.command == f'"{exe}"' and state.location.startswith("HKCU\\")
    entry.disable()
    assert registry.values == {} and not entry.is_enabled()
    entry.disable()


def test_windows_status_reports_an_entry_written_by_the_installer() -> None:
    registry = FakeRegistry()
    registry.set(RUN_KEY, VALUE_NAME, r'"C:\Other\s3-sqs-agent.exe"')
    assert WindowsAutostart(["C:\\x.exe"], registry=registry).status().command == r'"C:\Other\s3-sqs-agent.exe"'


@pytest.mark.parametrize(("platform", "kind"), [("win32", WindowsAutostart), ("darwin", MacAutostart), ("linux", LinuxAutostart)])
def test_one_place_picks_the_implementation(platform: str, kind: type) -> None:
    assert type(autostart.for_platform(platform, command=["x"])) is kind


def test_the_command_is_the_frozen_executable_or_the_console_script(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert launch_command() == [sys.executable, "-m", "agent"]
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/local/bin/{name}")
    assert launch_command() == ["/usr/local/bin/s3-sqs-agent"]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", "/opt/s3-sqs-agent/s3-sqs-agent")
    assert launch_command() == ["/opt/s3-sqs-agent/s3-sqs-agent"]
    assert dialogs._command("folder", "/tmp", "T") == ["/opt/s3-sqs-agent/s3-sqs-agent", "_dialog", "folder", "/tmp", "T"]


def test_cli_enables_reports_and_disables(private_home: Path) -> None:
    path = private_home / "config" / "autostart" / "s3-sqs-agent.desktop"
    assert run_agent("autostart", "status").stdout.startswith("disabled")
    result = run_agent("autostart", "enable")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"enabled: {path} runs ")
    validate(path)
    assert run_agent("autostart", "status").stdout.startswith("enabled:")
    result = run_agent("autostart", "disable")
    assert result.returncode == 0 and result.stdout.startswith("disabled") and not path.exists()
