"""Installs the test plugin package in this folder into the running Python environment, once and up to date."""

from __future__ import annotations

import contextlib
import importlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
DISTRIBUTION = "s3-sqs-agent-testplugin"
MODULE = "s3_sqs_agent_testplugin"
ENTRY_POINT = "test-plugin"


def _up_to_date() -> bool:
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return False
    source = (HERE / MODULE / "__init__.py").read_bytes()
    for file in dist.files or ():
        if file.as_posix() == f"{MODULE}/__init__.py":
            installed = Path(str(dist.locate_file(file)))
            return installed.is_file() and installed.read_bytes() == source
    return False


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    """Other test runs may share this environment: one pip at a time."""
    try:
        import fcntl
    except ImportError:  # Windows: no concurrent runs to guard against in CI
        yield
        return
    with open(Path(sys.prefix) / ".s3-sqs-agent-testplugin.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def install() -> None:
    """pip-install the package (not editable, so this very process can import it too), unless it already is."""
    with _install_lock():
        if not _up_to_date():
            with tempfile.TemporaryDirectory() as scratch:  # build from a copy: no build/ or egg-info in the tree
                copy = Path(scratch) / "pkg"
                shutil.copytree(HERE, copy, ignore=shutil.ignore_patterns("__pycache__", "__init__.py", "build", "*.egg-info"))
                shutil.copy2(HERE / MODULE / "__init__.py", copy / MODULE / "__init__.py")
                subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                                "--force-reinstall", "--no-input", str(copy)], check=True, capture_output=True, text=True)
    importlib.invalidate_caches()
    sys.modules.pop(MODULE, None)
