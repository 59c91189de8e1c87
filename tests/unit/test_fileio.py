"""Positional writes land where they are aimed, from many threads at once, with or without os.pwrite (Windows)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from agent.engine.fileio import write_at


@pytest.mark.parametrize("has_pwrite", [True, False], ids=["pwrite", "no-pwrite"])
def test_concurrent_chunks_land_at_their_offsets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 has_pwrite: bool) -> None:
    if not has_pwrite:
        monkeypatch.delattr(os, "pwrite", raising=False)
    expected = os.urandom(64 * 1024 + 17)
    chunk = 1021
    fd = os.open(tmp_path / "take.wav", os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
    try:
        offsets = list(range(0, len(expected), chunk))[::-1]  # out of order, as ranges and CRT parts arrive
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda at: write_at(fd, expected[at:at + chunk], at), offsets))
    finally:
        os.close(fd)
    assert (tmp_path / "take.wav").read_bytes() == expected
