"""Helpers every suite uses: write a config, run the agent as a user would, wait for a condition, list files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def write_config(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


IS_ROOT = sys.platform.startswith("linux") and os.geteuid() == 0
CAN_DROP_ROOT_OVERRIDES = IS_ROOT and shutil.which("setpriv") is not None
"""Root can run a child that obeys permission bits (setpriv drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH)."""


def run_agent(*args: str, timeout: float = 120, unprivileged: bool = False, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run `python -m agent ARGS` in a child process, as a user would.

    `unprivileged` (root only, see CAN_DROP_ROOT_OVERRIDES): without the capabilities that let root ignore
    permission bits, so an unwritable folder is unwritable for the child too."""
    prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if unprivileged else []
    kwargs.setdefault("env", os.environ.copy())
    return subprocess.run([*prefix, sys.executable, "-m", "agent", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, **kwargs)


def wait_until(condition: Callable[[], Any], timeout: float = 30, what: str = "a condition", interval: float = 0.1) -> Any:
    """Poll until `condition()` is truthy; returns its value. Fails the test (never hangs) naming `what` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def files_under(folder: Path) -> dict[str, bytes]:
    """Every file below `folder`, by relative POSIX path."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def drain(config: Path, *extra: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`s3-sqs-agent run --headless --config CONFIG --drain`: handle what the queue holds, then exit."""
    return run_agent("run", "--headless", "--config", str(config), "--drain", *extra, timeout=timeout)


LOGIN_LACKS = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION",
               "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def login_environment() -> dict[str, str]:
    """This environment as the agent started from the applications menu or at login has it: none of a shell's AWS settings."""
    return {name: value for name, value in os.environ.items() if name not in LOGIN_LACKS}
