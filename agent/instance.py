"""One agent per user: an exclusive lock on a file in the data folder, released by the OS when the process dies."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO

from agent import dirs

LOCK_NAME = "agent.lock"


def lock_file() -> Path:
    return dirs.data_dir() / LOCK_NAME


class InstanceLock:
    """Held while an agent (tray or headless) consumes the queue. A second holder is refused at once, never queued."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or lock_file()
        self._handle: IO[bytes] | None = None

    @property
    def held(self) -> bool:
        return self._handle is not None

    def acquire(self) -> bool:
        """Take the lock. False when another live process holds it (a crashed one's lock is gone with it)."""
        if self._handle is not None:
            return True
        dirs.ensure_private_dir(self.path.parent)
        handle = open(self.path, "a+b")  # noqa: SIM115  kept open for as long as the lock is held
        try:
            _lock(handle)
        except OSError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        self._handle = handle
        return True

    def owner_pid(self) -> int | None:
        """The process id written by the holder, if readable."""
        try:
            return int(self.path.read_text(encoding="ascii").strip() or 0) or None
        except (OSError, ValueError):
            return None

    def release(self) -> None:
        if self._handle is None:
            return
        try:
            _unlock(self._handle)
        finally:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


if sys.platform == "win32":
    import msvcrt

    def _lock(handle: IO[bytes]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock(handle: IO[bytes]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
