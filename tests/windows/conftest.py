"""Fixtures for the Windows tests under Wine (`make test-windows`; plain `pytest` does not collect them).

One installed prefix per session (the setup.exe of `make installer-windows`, run silently); each test gets a copy of
it, its own WINEPREFIX with its own wineserver, ended with `wineserver -k`. Wine's programs reach moto on 127.0.0.1
and the test's temporary folders through drive Z:. One X display (Xvfb, with trayer as the notification area)
serves the session: a prefix's windows and icon are gone with its wineserver."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from installer.windows.build import TEMPLATE, setup_name
from installer.windows.wine import Prefix
from tests.desktop.harness import Desktop, start_desktop
from tests.helpers import ROOT
from tests.windows.harness import Machine

if sys.platform != "linux" or shutil.which("wine") is None:
    pytest.fail("the Windows tests run under Wine on Linux: run `make test-windows`", pytrace=False)

AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true"}
"""Dummy credentials, never real ones; Windows has its own %USERPROFILE%\\.aws, which the tests leave empty."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.timeout(900))  # a loaded 2-core machine runs Wine slowly: fail late rather than flake


@pytest.fixture(scope="session")
def setup_exe() -> Path:
    path = ROOT / "dist" / setup_name(metadata.version("s3-sqs-agent"))
    if not path.is_file():
        pytest.fail(f"{path.relative_to(ROOT)} is missing: run `make installer-windows` (make test-windows does)", pytrace=False)
    return path


@pytest.fixture(scope="session")
def desktop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desktop]:
    yield from start_desktop(tmp_path_factory.mktemp("wine-desktop"), screen="1280x800")


def _fresh(source: Prefix, target: Path, desktop: Desktop) -> Prefix:
    prefix = source.copy(target)
    prefix.display = desktop.display
    prefix.extra = dict(AWS_ENV)
    prefix.map_drive_z()
    return prefix


@pytest.fixture(scope="session")
def installed(setup_exe: Path, desktop: Desktop, tmp_path_factory: pytest.TempPathFactory) -> Prefix:
    """A prefix where the user ran the setup (silently, without its start-at-login task, which is ticked by default):
    the source of every test's machine."""
    if not (TEMPLATE / "drive_c").is_dir():
        pytest.fail(f"{TEMPLATE.relative_to(ROOT)} is missing: run `make installer-windows`", pytrace=False)
    home = tmp_path_factory.mktemp("installed")
    machine = Machine(_fresh(Prefix(TEMPLATE), home / "prefix", desktop), desktop, home)
    try:
        machine.install(setup_exe, "/MERGETASKS=!autostart")
    finally:
        machine.prefix.kill()
    return machine.prefix


@pytest.fixture
def machine(installed: Prefix, desktop: Desktop, tmp_path: Path) -> Iterator[Machine]:
    """The app installed, never run: a copy of the session's installed prefix."""
    yield from _machine(installed, desktop, tmp_path)


@pytest.fixture
def bare_machine(desktop: Desktop, tmp_path: Path) -> Iterator[Machine]:
    """Windows before the setup has run (the template prefix)."""
    yield from _machine(Prefix(TEMPLATE), desktop, tmp_path)


def _machine(source: Prefix, desktop: Desktop, tmp_path: Path) -> Iterator[Machine]:
    home = tmp_path / "machine"  # (tmp_path/home is tests/conftest.py's private_home)
    home.mkdir()
    machine = Machine(_fresh(source, tmp_path / "prefix", desktop), desktop, home)
    try:
        yield machine
    finally:
        machine.prefix.kill()
        if os.environ.get("S3_SQS_AGENT_KEEP_PREFIX") is None:
            shutil.rmtree(machine.prefix.path, ignore_errors=True)
