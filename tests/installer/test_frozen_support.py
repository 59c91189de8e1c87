"""What the frozen app relies on, checked without building it: the hidden dialog command and a missing stdout."""

from __future__ import annotations

import io
import os
import sys

import pytest

from agent import __version__, cli
from tests.helpers import run_agent


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
