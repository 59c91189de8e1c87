"""The native dialogs' child processes: closing them all when quitting, even one that is still starting."""

from __future__ import annotations

import sys
import threading

import pytest

from agent.desktop import dialogs


def test_a_dialog_that_opens_while_quitting_is_closed_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: a SIGTERM while the "no system tray" question was still starting found no dialog to close, and
    the agent then waited for that question's answer until it was killed."""
    monkeypatch.setattr(dialogs, "_command", lambda *args: [sys.executable, "-c", "import time; time.sleep(120)"])
    monkeypatch.setattr(dialogs, "_quitting", threading.Event(), raising=False)  # a fresh process: not quitting yet
    dialogs.close_all()  # the signal came first; the question's child starts just after
    answers: list[bool] = []
    asking = threading.Thread(target=lambda: answers.append(dialogs.ask_yes_no("S3 SQS Agent", "Keep running?")), daemon=True)
    asking.start()
    asking.join(60)
    assert answers == [False], "the dialog opened after quitting was left waiting for an answer"
