"""The AWS Common Runtime's requests are freed once done: a long drain's memory stays flat (bench: RSS growth)."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

from tests.aws import Setup, client


def test_finished_requests_are_freed(aws: Setup, tmp_path: Path) -> None:
    pytest.importorskip("awscrt")
    from agent.engine.crt import CrtGetter

    aws.put("memory/take.wav", os.urandom(4096))
    s3 = client("s3", aws.endpoint)
    getter = CrtGetter(s3, 8 * 1024 * 1024)

    def alive() -> int:
        gc.collect()
        return sum(type(o).__name__ == "S3Request" for o in gc.get_objects())

    before = alive()
    for index in range(20):
        fd = os.open(tmp_path / f"{index}.wav", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            assert getter.get(aws.bucket, "memory/take.wav", None, None, fd, 0, None, lambda n: None, lambda: False) == 4096
        finally:
            os.close(fd)
    assert alive() == before, "finished requests are still held"


def test_downloads_without_os_pwrite(aws: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows has no os.pwrite, yet awscrt ships there: the CRT's parts still land at their offsets."""
    pytest.importorskip("awscrt")
    from agent.engine.crt import CrtGetter

    body = os.urandom(11 * 1024 * 1024 + 5)  # several parts of 5 MiB, written as they arrive
    aws.put("windows/take.wav", body)
    getter = CrtGetter(client("s3", aws.endpoint), 5 * 1024 * 1024)
    monkeypatch.delattr(os, "pwrite", raising=False)
    fd = os.open(tmp_path / "take.wav", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        written = getter.get(aws.bucket, "windows/take.wav", None, None, fd, 0, None, lambda n: None, lambda: False)
    finally:
        os.close(fd)
    assert written == len(body)
    assert (tmp_path / "take.wav").read_bytes() == body
