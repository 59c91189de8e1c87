"""Pause and Quit answer at once while a new config waits for a slow download (the tray's controller against moto)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent import config as config_module
from agent.desktop import controller as controller_module
from agent.desktop.notify import Notifier
from agent.desktop.tray_view import PAUSE_CHOICES
from agent.engine.events import State
from agent.engine.ledger import Ledger
from tests.aws import Setup
from tests.helpers import wait_until, write_config
from tests.reliability.helpers import temp_files


class Silent:
    async def send(self, title: str, message: str, **kwargs: Any) -> str:
        return "1"

    async def clear(self, identifier: str) -> None:
        return None


def in_thread(call: Callable[[], object]) -> tuple[threading.Thread, threading.Event]:
    """Run `call` on a thread of its own; the event is set once it returned."""
    answered = threading.Event()

    def run() -> None:
        call()
        answered.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, answered


def test_pause_and_quit_answer_while_a_reconfigure_waits_for_a_slow_download(aws: Setup, tmp_path: Path,
                                                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    out = tmp_path / "out"
    slow = aws.config(str(out), max_bandwidth="100KB/s")  # 1.5 MB: about 15 s
    path = write_config(tmp_path / "config.yaml", slow)
    controller = controller_module.Controller(path, Ledger(tmp_path / "ledger.sqlite3"), Notifier(backend_factory=Silent))
    try:
        controller.start()
        engine = controller.engine
        assert engine is not None
        aws.put("slow.wav", os.urandom(1_500_000))
        wait_until(lambda: engine.status().bytes_done > 0, 60, "the slow download to be under way")

        changed = config_module.load(write_config(tmp_path / "changed.yaml", {**slow, "concurrency": 3}))
        reconfigure, applied = in_thread(lambda: controller.apply(changed))
        wait_until(lambda: "once the 1 download running now finishes" in caplog.text, 30, "the reconfigure to wait for it")

        _, paused = in_thread(lambda: controller.pause(PAUSE_CHOICES[-1]))
        assert paused.wait(30), "Pause waited for the reconfigure"
        assert not applied.is_set() and engine.status().active == 1 and not (out / "slow.wav").exists(), \
            "Pause answered only once the download was done"
        assert controller.view().paused and engine.status().state is State.PAUSED

        _, quit_ = in_thread(controller.stop)
        assert quit_.wait(30), "Quit waited for the reconfigure"
        assert not (out / "slow.wav").exists()
        reconfigure.join(30)
        assert not reconfigure.is_alive() and engine.status().state is State.STOPPED
        assert temp_files(out) == []
        wait_until(lambda: aws.counts() == (1, 0), 30, "the message back on the queue")  # released, not lost
        assert controller.ledger.get_state("paused") == "1"  # the pause survives the restart
    finally:
        controller.stop()
        controller.ledger.close()
