"""What the frozen app relies on, checked without building it: every module reachable by walking the package, the
hidden dialog command and a missing stdout."""

from __future__ import annotations

import io
import os
import pkgutil
import sys

import pytest

import agent
from agent import __version__, cli
from agent.desktop.windows import child
from tests.helpers import ROOT, run_agent


def test_every_module_is_found_by_walking_the_package() -> None:
    """The spec's collect_submodules("agent") walks the package as pkgutil does: a folder without __init__.py (a
    namespace package) is skipped with all it holds, and the frozen app then lacks every module that is imported only
    by name, such as the windows (child.WINDOWS): Setup could not open on a first run."""
    walked = {module.name for module in pkgutil.walk_packages(agent.__path__, "agent.")}
    on_disk = {".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
               for path in (ROOT / "agent").rglob("*.py")} - {"agent"}
    assert sorted(on_disk - walked) == []
    assert {target.partition(":")[0] for target in child.WINDOWS.values()} <= walked


def test_hidden_dialog_command_runs_the_dialog_child(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    result = run_agent(cli.DIALOG_COMMAND, "yesno", "Title", "Question?")
    assert result.returncode == 3, result.stderr  # reached agent.desktop.dialogs, which found no display
    assert "cannot open a window" in result.stderr or "tkinter" in result.stderr
    assert cli.DIALOG_COMMAND not in run_agent("--help").stdout  # hidden


def test_version_without_stdout_does_not_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdout", None)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert sys.stdout is not None and sys.stdout.name == os.devnull


def test_version_is_printed_when_there_is_a_stdout(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buffer)
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert buffer.getvalue().strip() == f"s3-sqs-agent {__version__}"
