"""Fixtures for the installer tests: one `make installer` per session, and a headless desktop for the tray."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from agent.api import APP_TITLE
from tests.helpers import ROOT, wait_until

if sys.platform != "linux":
    pytest.skip("the installer tests build and install the Linux one-folder app and .deb; this is not Linux",
                allow_module_level=True)


@dataclass(frozen=True)
class Build:
    app: Path
    exe: Path
    deb: Path
    seconds: float


@pytest.fixture(scope="session")
def build() -> Build:
    """`make installer`, once: dist/s3-sqs-agent/ and dist/s3-sqs-agent_<version>_<arch>.deb.

    The .deb is compressed the fast way (installer/build.py, DEB_COMPRESSION) rather than with the release's xz: the
    same package, compressed in seconds where xz takes minutes."""
    if shutil.which("dpkg-deb") is None:
        pytest.fail("dpkg-deb is missing: the .deb cannot be built (this Linux is not Debian-based?)")
    started = time.monotonic()
    result = subprocess.run(["make", "installer", "DEB_COMPRESSION=fast"], cwd=ROOT, capture_output=True, text=True, timeout=1500,
                            check=False)
    seconds = time.monotonic() - started
    assert result.returncode == 0, f"make installer failed:\n{result.stdout[-5000:]}\n{result.stderr[-5000:]}"
    version = metadata.version("s3-sqs-agent")
    architecture = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
    app = ROOT / "dist" / "s3-sqs-agent"
    built = Build(app, app / "s3-sqs-agent", ROOT / "dist" / f"s3-sqs-agent_{version}_{architecture}.deb", seconds)
    assert built.exe.is_file() and built.deb.is_file(), result.stdout[-3000:]
    print(f"\nmake installer: {seconds:.0f} s; app {_size(app) / 1e6:.0f} MB; .deb {built.deb.stat().st_size / 1e6:.0f} MB")
    return built


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


@pytest.fixture(scope="session")
def desktop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from tests.desktop.harness import start_desktop

    yield from start_desktop(tmp_path_factory.mktemp("frozen-desktop"), screen="1280x800")  # room for Setup at its size


def first_run_opens_setup(exe: Path, desktop: Any, home: Path, screenshot: str) -> None:
    """A double-click on a fresh profile (no arguments, no config at all): the Setup window opens, and stays."""
    from tests.desktop.harness import TrayApp

    config = home / "config" / "s3-sqs-agent" / "config.yaml"  # where platformdirs puts it (XDG_CONFIG_HOME, private_home)
    assert not config.exists()
    app = TrayApp(desktop, config, home, command=[str(exe)]).start(wait_docked=False, arguments=[])
    try:
        app.wait_probe(lambda probe: probe["status"] == "Not set up yet", 90, "the frozen tray's first-run status")
        setup = app.wait_window("setup", lambda probe: bool(probe["accounts"]), 90, "the Setup window on a first run")
        assert setup["step"] == "account", setup
        wait_until(lambda: desktop.window_named(f"^Set up {APP_TITLE}$"), 30, "the Setup window on the screen")
        app.window_screenshot("setup", screenshot)
        assert app.alive() and not app.window_closed("setup"), app.read_output()  # it stays
        assert "ModuleNotFoundError" not in app.read_output() + app.log()
        assert config.exists()  # the commented template, for those who open the file; Setup fills it in
    finally:
        code = app.stop()
    assert code == 0, app.read_output()
