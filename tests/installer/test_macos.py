"""What can be checked of the macOS build on Linux: the LaunchAgent and the app bundle's Info.plist are property lists
that launchd and Finder accept, and the shell scripts pass a shell linter."""

from __future__ import annotations

import plistlib
import shutil
import subprocess
import sys
import types
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from agent import __version__
from agent.desktop.autostart.macos import BUNDLE_ID, MacAutostart
from tests.helpers import ROOT

SPEC = ROOT / "installer" / "s3-sqs-agent.spec"
XML_HEADER = (b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" '
              b'"http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0">\n')
LAUNCHD_KEYS: dict[str, type | tuple[type, ...]] = {
    "Label": str, "Program": str, "ProgramArguments": list, "RunAtLoad": bool, "KeepAlive": (bool, dict), "Disabled": bool,
    "ProcessType": str, "LimitLoadToSessionType": (str, list), "WorkingDirectory": str, "EnvironmentVariables": dict,
}
"""The launchd.plist(5) keys the agent may write, with the type launchd requires of each."""


def test_the_launch_agent_is_a_property_list_that_launchd_accepts(tmp_path: Path) -> None:
    executable = "/Users/zoë/Applications/S3 SQS Agent & Co.app/Contents/MacOS/s3-sqs-agent"  # spaces, Unicode, XML's &
    entry = MacAutostart([executable], folder=tmp_path)
    entry.enable()
    raw = entry.path.read_bytes()
    assert raw.startswith(XML_HEADER)
    data = plistlib.loads(raw, fmt=plistlib.FMT_XML)
    assert plistlib.dumps(data) == raw  # the round trip changes nothing
    assert set(data) <= set(LAUNCHD_KEYS), sorted(set(data) - set(LAUNCHD_KEYS))
    for key, value in data.items():
        assert isinstance(value, LAUNCHD_KEYS[key]), (key, value)
    assert data["Label"] == BUNDLE_ID == entry.path.stem  # launchctl requires the Label; the file is named after it
    arguments = data["ProgramArguments"]
    assert arguments == [executable] and PurePosixPath(arguments[0]).is_absolute()  # launchd searches no PATH
    assert data["RunAtLoad"] is True and "KeepAlive" not in data  # Quit in the tray stays quit
    assert data["ProcessType"] in {"Background", "Standard", "Adaptive", "Interactive"}
    assert data["LimitLoadToSessionType"] == "Aqua"  # the GUI session: a menu-bar app needs one


class _Step:
    """Stands in for one of PyInstaller's build steps (Analysis, PYZ, EXE, COLLECT, BUNDLE): keeps what it was given."""

    made: dict[str, list[_Step]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args, kwargs
        self.made.setdefault(type(self).__name__, []).append(self)

    def __getattr__(self, name: str) -> list[Any]:  # a.pure, a.scripts, a.binaries, a.datas
        return []


def run_spec_as_on(platform: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[_Step]]:
    """installer/s3-sqs-agent.spec as PyInstaller runs it on `platform`, with each build step recorded instead of run."""
    made: dict[str, list[_Step]] = {}
    steps = {name: type(name, (_Step,), {"made": made}) for name in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")}
    hooks = types.ModuleType("PyInstaller.utils.hooks")
    hooks.collect_data_files = hooks.collect_submodules = hooks.copy_metadata = lambda *args, **kwargs: []  # type: ignore[attr-defined]
    for name in ("PyInstaller", "PyInstaller.utils"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "PyInstaller.utils.hooks", hooks)
    monkeypatch.setattr(sys, "platform", platform)
    exec(compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec"), {"SPECPATH": str(SPEC.parent), **steps})
    return made


def test_the_app_bundle_is_a_menu_bar_app_named_as_its_launch_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    made = run_spec_as_on("darwin", monkeypatch)
    [exe], [bundle] = made["EXE"], made["BUNDLE"]
    # What PyInstaller's BUNDLE writes to Contents/Info.plist: its own keys, then the spec's info_plist over them.
    info: dict[str, Any] = {"CFBundleDisplayName": "S3 SQS Agent", "CFBundleName": "S3 SQS Agent",
                            "CFBundleIdentifier": bundle.kwargs["bundle_identifier"], "CFBundleExecutable": exe.kwargs["name"],
                            "CFBundleIconFile": Path(bundle.kwargs["icon"]).name, "CFBundleInfoDictionaryVersion": "6.0",
                            "CFBundlePackageType": "APPL", "CFBundleShortVersionString": str(bundle.kwargs["version"])}
    info["LSBackgroundOnly" if exe.kwargs["console"] else "NSHighResolutionCapable"] = True
    info.update(bundle.kwargs["info_plist"])
    assert plistlib.loads(plistlib.dumps(info)) == info
    assert bundle.kwargs["name"] == "S3 SQS Agent.app"
    assert info["LSUIElement"] is True  # a menu-bar app: no Dock icon
    assert "LSBackgroundOnly" not in info  # a background-only app could show no menu-bar icon at all
    assert info["CFBundleIdentifier"] == BUNDLE_ID  # notifications and the LaunchAgent's label name the same app
    assert info["CFBundleShortVersionString"] == info["CFBundleVersion"] == __version__
    assert info["CFBundleExecutable"] == "s3-sqs-agent" and Path(bundle.kwargs["icon"]).is_file()


@pytest.mark.parametrize("script", ["installer/macos/make-dmg.sh", ".ci/run"])
def test_the_shell_scripts_pass_shellcheck(script: str) -> None:
    if shutil.which("shellcheck") is None:
        pytest.fail("shellcheck is missing: make system-deps installs Debian's shellcheck package")
    result = subprocess.run(["shellcheck", "--severity=style", "--format=gcc", str(ROOT / script)], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
