"""Positional writes into a file descriptor, safe from several threads on every platform (Windows has no pwrite)."""

from __future__ import annotations

import os
import threading

_seek_lock = threading.Lock()  # where os.pwrite is missing, a seek and its write must not interleave with another's


def write_at(fd: int, data: bytes | memoryview, offset: int) -> None:
    """Write all of `data` at `offset` in `fd` (opened in binary mode), whichever thread calls."""
    view = memoryview(data)
    while view:
        pwrite = getattr(os, "pwrite", None)
        if pwrite is not None:
            written = pwrite(fd, view, offset)
        else:  # Windows
            with _seek_lock:
                os.lseek(fd, offset, os.SEEK_SET)
                written = os.write(fd, view)
        offset += written
        view = view[written:]
