"""A file already on disk with the object's content is adopted (recorded, not downloaded again), and the message is then
deleted: so the file must be on the disk for good first, as a download is (the file and its folder synced)."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import NoReturn

import pytest

from agent.api import ObjectEvent
from agent.config import Config
from agent.engine.download import Downloader, TransferSettings
from agent.engine.events import EventBus
from agent.engine.ledger import FileRecord, Ledger
from agent.engine.objects import ObjectHandler
from agent.plugins.manager import PluginHost


class NoDownloads(Downloader):
    def __init__(self) -> None:
        super().__init__(None, TransferSettings())

    def describe(self, event: ObjectEvent, folder: Path | None = None) -> ObjectEvent:
        return event

    def fetch(self, *args: object, **kwargs: object) -> NoReturn:
        raise AssertionError("a file already on disk is adopted, not downloaded")


@pytest.mark.skipif(sys.platform == "win32", reason="Windows cannot fsync a folder, nor a file opened to read")
def test_an_adopted_file_and_its_folder_are_synced_before_it_is_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: adopting fsynced nothing. The file may never have been synced (another tool wrote it a moment ago,
    or a run was killed between its rename and its folder's fsync): a power cut after the message's delete lost it."""
    out = tmp_path / "out"
    (out / "old").mkdir(parents=True)
    data = os.urandom(2000)
    (out / "old" / "take.wav").write_bytes(data)
    config = Config(sqs_queue_url="https://sqs.us-east-1.amazonaws.com/1/q", download_folder=out)
    plugins = PluginHost(config)
    plugins.startup(config)
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    handler = ObjectHandler(config, ledger, NoDownloads(), plugins, EventBus())
    synced: list[tuple[int, int]] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        info = os.fstat(fd)
        synced.append((info.st_dev, info.st_ino))
        real_fsync(fd)

    def recorded(record: FileRecord) -> None:
        assert file in synced and folder in synced, "recorded (so its message deletable) before the file was durable"
        record_file(record)

    file, folder = ((info.st_dev, info.st_ino) for info in (os.stat(out / "old" / "take.wav"), os.stat(out / "old")))
    record_file = ledger.record_file
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(ledger, "record_file", recorded)
    event = ObjectEvent("bucket", "old/take.wav", len(data), hashlib.md5(data, usedforsecurity=False).hexdigest())
    assert handler.handle(event) is None  # adopted: nothing downloaded
    assert ledger.file("bucket", "old/take.wav", handler.folder) is not None
    ledger.close()
