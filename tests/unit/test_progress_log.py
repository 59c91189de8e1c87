"""The progress line of long downloads, written from the visibility heartbeat's thread while workers change the counts."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from agent.config import Config
from agent.engine.archive import Restorer
from agent.engine.consumer import Consumer
from agent.engine.download import Downloader, TransferSettings
from agent.engine.events import EventBus
from agent.engine.ledger import Ledger
from agent.engine.objects import ObjectHandler, Progress
from agent.engine.sqs import SQS_DEFAULTS, Queue
from agent.plugins.manager import PluginHost


class LastFileEnds(Progress):
    """The last running download ends between two reads of the total: a worker sets it back to 0 meanwhile."""

    @property
    def total(self) -> int:
        self.reads = getattr(self, "reads", 0) + 1
        return 1000 if self.reads == 1 else 0

    @total.setter
    def total(self, value: int) -> None:
        pass


def test_a_download_ending_meanwhile_never_breaks_the_progress_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Regression: the line read the total twice, to test it and to divide by it: a download ending in between raised
    ZeroDivisionError on the heartbeat's thread, which ended it, and with it the visibility of every long download."""
    config = Config(sqs_queue_url="https://sqs.us-east-1.amazonaws.com/1/q", download_folder=tmp_path / "out")
    (tmp_path / "out").mkdir()
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    plugins = PluginHost(config)
    handler = ObjectHandler(config, ledger, Downloader(None, TransferSettings()), plugins, EventBus())
    consumer = Consumer(config, Queue(None, config.sqs_queue_url), SQS_DEFAULTS, handler, plugins, ledger, EventBus(),
                        dead_letter=None, restorer=Restorer(config, ledger, None), drain=False, paused=lambda: False,
                        info_known=True, on_change=lambda: None)
    try:
        handler.progress = LastFileEnds(done=400, files=1)
        with caplog.at_level(logging.INFO, logger="agent.engine.consumer"):
            consumer._log_progress()
        assert "Downloading 1 file: 40% (400 B of 1000 B)" in caplog.text
    finally:
        consumer.disposer.close()
        ledger.close()
