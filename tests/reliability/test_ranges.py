"""Ranged downloads that fail part-way: no range thread may write after the temporary file is closed (its
descriptor number can already belong to another file by then)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.engine.download import Downloader, TransferSettings
from agent.engine.events import ObjectEvent
from agent.engine.retry import IncompleteDownload

CHUNK = 1024


class _Body:
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks

    def iter_chunks(self, size: int) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        pass


class _SlowAndBrokenS3:
    """Range 0 breaks at once; range 1 sends its bytes only once `release` is set."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.late_write_done = threading.Event()

    def get_object(self, **args: Any) -> dict[str, Any]:
        start = int(args["Range"].split("=")[1].split("-")[0])
        if start == 0:
            def broken() -> Iterator[bytes]:
                yield b"x" * 10
                raise IncompleteDownload("cut")
            return {"Body": _Body(broken())}

        def slow() -> Iterator[bytes]:
            self.release.wait(5)
            yield b"y" * CHUNK
            self.late_write_done.set()
        return {"Body": _Body(slow())}


def test_a_failed_ranged_download_never_writes_into_a_reused_descriptor(tmp_path: Path) -> None:
    """Regression: the failed range's siblings went on writing to the closed descriptor number."""
    tmp_path = tmp_path / "folder"
    tmp_path.mkdir()
    s3 = _SlowAndBrokenS3()
    downloader = Downloader(s3, TransferSettings(multipart_threshold=CHUNK, chunk_size=CHUNK, concurrency=2))
    threading.Timer(0.5, s3.release.set).start()
    with pytest.raises(IncompleteDownload):
        downloader.fetch(ObjectEvent("b", "k", 2 * CHUNK, "e"), tmp_path)
    bystander = tmp_path / "bystander"
    fd = os.open(bystander, os.O_WRONLY | os.O_CREAT, 0o600)  # likely the number the temporary file had
    try:
        s3.release.set()
        s3.late_write_done.wait(1)  # with the fix the range stops instead; this bounds the wait
    finally:
        os.close(fd)
        downloader.close()
    assert bystander.read_bytes() == b"", "a range thread wrote into a file that was not its own"
    assert [p.name for p in tmp_path.iterdir()] == ["bystander"]
