"""Writes a file whole or not at all: a private temporary file beside it, fsynced, then renamed over it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

PRIVATE = 0o600


def make_private_dirs(folder: Path) -> Path:
    """Create `folder` and every missing folder above it readable by the user only (0700); folders that exist are
    left as they are. (`Path.mkdir(parents=True, mode=...)` gives the mode to the last folder only.)"""
    missing: list[Path] = []
    current = folder
    while not current.is_dir():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            if not path.is_dir():
                raise
    return folder


def write_target(path: Path) -> Path:
    """Where a write to `path` lands: the file itself, or the file a symbolic link there leads to (a dotfile manager
    links `~/.aws/credentials` into its repository; replacing the link would cut it off)."""
    return Path(os.path.realpath(path)) if os.path.islink(path) else path


@contextmanager
def atomic_file(path: Path, mode: int = PRIVATE) -> Iterator[BinaryIO]:
    """A binary file to write `path`'s new content into. Once the block ends without an error, the content is
    fsynced and renamed over `path` (through a link, over the link's target), with `mode`; on an error nothing
    changes and the temporary file is removed.

    The temporary file has a fresh name (mkstemp: O_EXCL, mode 0600 from its creation), so a leftover file or a link
    planted under a predictable name can neither lend it its mode nor redirect the write."""
    target = write_target(path)
    folder = make_private_dirs(target.parent)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            if hasattr(os, "fchmod"):  # Windows has no POSIX modes
                os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_folder(folder)


def write_text_atomically(path: Path, text: str, mode: int = PRIVATE) -> None:
    """Write `text` (UTF-8) as the whole of `path`, readable by the user only unless `mode` says otherwise."""
    with atomic_file(path, mode) as handle:
        handle.write(text.encode("utf-8"))


def write_bytes_atomically(path: Path, data: bytes, mode: int = PRIVATE) -> None:
    with atomic_file(path, mode) as handle:
        handle.write(data)


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX; Windows cannot open a folder to fsync it)."""
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
