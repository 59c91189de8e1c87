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

import pytest

from tests.helpers import ROOT

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
    """`make installer`, once: dist/s3-sqs-agent/ and dist/s3-sqs-agent_<version>_<arch>.deb."""
    if shutil.which("dpkg-deb") is None:
        pytest.fail("dpkg-deb is missing: the .deb cannot be built (this Linux is not Debian-based?)")
    started = time.monotonic()
    result = subprocess.run(["make", "installer"], cwd=ROOT, capture_output=True, text=True, timeout=1500, check=False)
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

    yield from start_desktop(tmp_path_factory.mktemp("frozen-desktop"))
