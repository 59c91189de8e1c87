"""A crash in the narrow windows that random kills rarely hit, made deterministic: between the rename into place
and the ledger's record, and while an earlier run's temporary files are being cleaned up."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from agent.config import Config
from agent.engine import aws as engine_aws
from agent.engine.download import Downloader, TransferSettings
from agent.engine.events import EventBus, ObjectEvent
from agent.engine.folders import remove_stale_temp_files
from agent.engine.ledger import FileRecord, Ledger
from agent.engine.objects import ObjectHandler
from agent.plugins.manager import PluginHost
from tests.aws import Setup
from tests.helpers import files_under


class CrashingLedger(Ledger):
    """A ledger whose first `record_file` fails: the process "dies" right after the rename."""

    crashes = 1

    def record_file(self, record: FileRecord) -> None:
        if self.crashes:
            self.crashes -= 1
            raise RuntimeError("simulated crash after the rename")
        super().record_file(record)


def _handler(config: Config, ledger: Ledger) -> ObjectHandler:
    s3, _ = engine_aws.make_clients(config)
    plugins = PluginHost(config)
    plugins.startup(config)
    return ObjectHandler(config, ledger, Downloader(s3, TransferSettings()), plugins, EventBus())


def _event(aws: Setup, key: str, data: bytes) -> ObjectEvent:
    aws.put(key, data)
    return ObjectEvent(aws.bucket, key, len(data), hashlib.md5(data, usedforsecurity=False).hexdigest())


@pytest.mark.parametrize("size", [1000, 17 * 1024 * 1024])  # one GET, and ranged GETs
def test_crash_between_rename_and_ledger_makes_no_duplicate(aws: Setup, tmp_path: Path, size: int) -> None:
    out = tmp_path / "out"
    out.mkdir()
    config = Config(sqs_queue_url=aws.queue_url, download_folder=out, aws_region="us-east-1", endpoint_url=aws.endpoint,
                    s3_bucket_name=aws.bucket)
    data = os.urandom(size)
    event = _event(aws, "crash/take.wav", data)
    ledger = CrashingLedger(tmp_path / "ledger.sqlite3")
    with pytest.raises(RuntimeError):
        _handler(config, ledger).handle(event)
    assert files_under(out) == {"crash/take.wav": data}  # renamed, but not recorded
    # The next run gets the same message again.
    _handler(config, ledger).handle(event)
    assert files_under(out) == {"crash/take.wav": data}, "the redelivered message made a second copy"
    record = ledger.file(aws.bucket, "crash/take.wav")
    assert record is not None and record.path == out / "crash/take.wav" and record.complete


def test_a_file_the_user_put_there_is_still_kept(aws: Setup, tmp_path: Path) -> None:
    """Adopting a file needs its content to match the object exactly; anything else is kept beside it."""
    out = tmp_path / "out"
    (out / "mine").mkdir(parents=True)
    (out / "mine/take.wav").write_bytes(b"my own recording")
    config = Config(sqs_queue_url=aws.queue_url, download_folder=out, aws_region="us-east-1", endpoint_url=aws.endpoint)
    data = b"the object"
    _handler(config, Ledger(tmp_path / "l.sqlite3")).handle(_event(aws, "mine/take.wav", data))
    found = files_under(out)
    assert found.pop("mine/take.wav") == b"my own recording"
    assert list(found.values()) == [data]


def test_cleanup_of_old_temporary_files_spares_downloads_in_progress(tmp_path: Path) -> None:
    """Regression: the start-up cleanup ran beside the first downloads and could delete their temporary files."""
    downloader = Downloader(None, TransferSettings())
    stale = tmp_path / ".s3-sqs-agent-old.part"
    stale.write_bytes(b"left by a crash")
    live = downloader.new_temp_path(tmp_path)
    live.write_bytes(b"being written")
    assert remove_stale_temp_files(tmp_path, keep=downloader.active_temp_files()) == 1
    assert live.exists() and not stale.exists()
