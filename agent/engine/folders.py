"""A download's folder, opened once and then used by descriptor: the folder that was checked is the one written into.

On Linux and macOS the walk from the download folder opens each folder relative to the one before it without following
links (openat with O_NOFOLLOW; mkdirat for a missing one), the temporary file is created relative to its folder (O_EXCL |
O_NOFOLLOW), and it is put in place within that folder (linkat, renameat): a folder swapped for a symbolic link after the
check cannot redirect the write. Windows has none of these calls; there the same interface works by path, and the
limit is written in SECURITY.md. `open_target_folder()` chooses, in one place.

A file is put in place only under a free name (`place()`: a hard link, then the temporary name removed; Windows' rename
never replaces), so a file the user saves under that name at that moment is never overwritten; `replace()` is for the
agent's own earlier version of the file.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
from collections.abc import Container, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from agent.engine.paths import UnsafePathError, is_temp_name, prepare_folder

_ROOT_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_STEP_FLAGS = _ROOT_FLAGS | getattr(os, "O_NOFOLLOW", 0)
_NEW_FILE_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
                   | getattr(os, "O_BINARY", 0))
_A_LINK = {errno.ELOOP, errno.EMLINK, errno.ENOTDIR}  # O_NOFOLLOW on a link: ELOOP (Linux, macOS), EMLINK (FreeBSD)
_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS, errno.EMLINK, errno.EXDEV}
_MAX_STEPS = 64  # links followed inside the folder and folders created meanwhile by someone else, before giving up
_DESCRIPTORS = ({os.open, os.mkdir, os.stat, os.unlink, os.rename, os.link} <= os.supports_dir_fd
                and {os.stat, os.link} <= os.supports_follow_symlinks)


class TargetFolder:
    """The folder a download goes into. Names are single names inside it; `path` is for messages and records."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> TargetFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def entry(self, name: str) -> os.stat_result | None:
        """What `name` is in this folder (links not followed), or None when nothing is there."""
        raise NotImplementedError

    def create(self, name: str, mode: int = 0o644) -> int:
        """A new file, open for writing: never an existing name, never through a link."""
        raise NotImplementedError

    def remove(self, name: str) -> None:
        raise NotImplementedError

    def place(self, temp: str, name: str) -> None:
        """Give the file `temp` the name `name`, only if nothing has that name: raises FileExistsError otherwise. Where
        the file system has no hard links (FAT, exFAT), the check and the rename are two steps."""
        try:
            self._link(temp, name)
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise
            if self.entry(name) is not None:
                raise FileExistsError(errno.EEXIST, "File exists", str(self.path / name)) from None
            self._rename(temp, name)
            return
        self.remove(temp)

    def _link(self, temp: str, name: str) -> None:
        raise NotImplementedError

    def _rename(self, temp: str, name: str) -> None:
        raise NotImplementedError

    def replace(self, temp: str, name: str) -> None:
        """Give the file `temp` the name `name`, replacing what is there (the agent's own earlier version)."""
        raise NotImplementedError

    def sync(self) -> None:
        """Make the renames done in this folder so far durable."""
        raise NotImplementedError

    def close(self) -> None:
        """Let go of the folder."""


class _DescriptorFolder(TargetFolder):
    """Linux and macOS: every call is relative to the folder's descriptor."""

    def __init__(self, fd: int, path: Path) -> None:
        super().__init__(path)
        self.fd = fd

    def entry(self, name: str) -> os.stat_result | None:
        try:
            return os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def create(self, name: str, mode: int = 0o644) -> int:
        return os.open(name, _NEW_FILE_FLAGS, mode, dir_fd=self.fd)

    def remove(self, name: str) -> None:
        with suppress(FileNotFoundError):
            os.unlink(name, dir_fd=self.fd)

    def _link(self, temp: str, name: str) -> None:
        os.link(temp, name, src_dir_fd=self.fd, dst_dir_fd=self.fd, follow_symlinks=False)

    def _rename(self, temp: str, name: str) -> None:
        os.rename(temp, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)

    def replace(self, temp: str, name: str) -> None:
        os.replace(temp, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)

    def sync(self) -> None:
        _folder_syncs.sync(self.path, self.fd)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class _PathFolder(TargetFolder):
    """Windows (and a Python without the *at calls): the same steps by path."""

    def entry(self, name: str) -> os.stat_result | None:
        try:
            return os.lstat(self.path / name)
        except FileNotFoundError:
            return None

    def create(self, name: str, mode: int = 0o644) -> int:
        return os.open(self.path / name, _NEW_FILE_FLAGS, mode)

    def remove(self, name: str) -> None:
        (self.path / name).unlink(missing_ok=True)

    def place(self, temp: str, name: str) -> None:
        if os.name == "nt":  # Windows' rename never replaces: it raises FileExistsError
            self._rename(temp, name)
            return
        super().place(temp, name)

    def _link(self, temp: str, name: str) -> None:
        os.link(self.path / temp, self.path / name)

    def _rename(self, temp: str, name: str) -> None:
        os.rename(self.path / temp, self.path / name)

    def replace(self, temp: str, name: str) -> None:
        os.replace(self.path / temp, self.path / name)

    def sync(self) -> None:
        if os.name != "nt":  # Windows cannot open a folder to fsync it; NTFS journals its renames
            _folder_syncs.sync(self.path)


def open_target_folder(root: Path, parts: Sequence[str]) -> TargetFolder:
    """The folder `root/parts...`, its missing folders created. `root` is the download folder with its links resolved.
    Refuses (UnsafePathError) a link that leads outside `root`, a link to a file or a file where a folder is needed; a
    link that stays inside `root` is followed, as before, by walking again from `root` to where it leads."""
    for part in parts:
        if part in ("", ".", "..") or "/" in part or (os.sep != "/" and os.sep in part):
            raise UnsafePathError(f"{part!r} cannot be a folder's name in the download folder")
    if not _DESCRIPTORS:
        return _PathFolder(prepare_folder(root, parts, root))
    fd, path = _walk(root, parts)
    return _DescriptorFolder(fd, path)


def path_folder(path: Path) -> TargetFolder:
    """A folder used by path (tests, and callers that checked it themselves)."""
    return _PathFolder(path)


def _walk(root: Path, parts: Sequence[str]) -> tuple[int, Path]:
    fd, path = os.open(root, _ROOT_FLAGS), root
    todo = list(parts)
    steps = 0
    try:
        while todo:
            steps += 1
            if steps > _MAX_STEPS + len(parts):
                raise UnsafePathError(f"the folders on the way to {root.joinpath(*parts)} keep changing (or link in a loop)")
            part = todo.pop(0)
            try:
                child = os.open(part, _STEP_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                with suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=fd)
                todo.insert(0, part)  # open what is there now, whoever made it
                continue
            except OSError as exc:
                if exc.errno not in _A_LINK:
                    raise
                info = os.stat(part, dir_fd=fd, follow_symlinks=False)
                if not stat.S_ISLNK(info.st_mode):
                    raise UnsafePathError(f"a file named {part!r} is in the way of the folder {path / part}") from None
                resolved = Path(os.path.realpath(path / part))
                if not (resolved == root or root in resolved.parents):
                    raise UnsafePathError(f"{path / part} is a symbolic link that leads outside the download folder") from None
                if not resolved.is_dir():
                    raise UnsafePathError(f"{path / part} is a link to a file, where a folder is needed") from None
                os.close(fd)
                fd = -1
                fd, path = os.open(root, _ROOT_FLAGS), root  # walk again from the root to where the link leads, link by link
                todo = [*resolved.relative_to(root).parts, *todo]
                continue
            os.close(fd)
            fd, path = child, path / part
        return fd, path
    except BaseException:
        if fd >= 0:
            os.close(fd)
        raise


class _FolderSyncs:
    """Makes renames durable with as few directory fsyncs as possible: an fsync that starts after a rename covers
    it, so workers that renamed into one folder meanwhile share the next fsync instead of queueing one each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._folders: dict[str, list[Any]] = {}  # folder -> [its fsync lock, requests, requests covered]

    def sync(self, folder: Path, fd: int | None = None) -> None:
        """`fd`: the folder, open (else it is opened by path)."""
        with self._lock:
            entry = self._folders.setdefault(os.fspath(folder), [threading.Lock(), 0, 0])
            entry[1] += 1
            ticket = entry[1]
        with entry[0]:
            if entry[2] >= ticket:  # an fsync that started after this caller's rename has finished
                return
            with self._lock:
                covered = entry[1]
            if fd is not None:
                os.fsync(fd)
            else:
                own = os.open(folder, os.O_RDONLY)
                try:
                    os.fsync(own)
                finally:
                    os.close(own)
            entry[2] = covered


_folder_syncs = _FolderSyncs()


def remove_stale_temp_files(folder: Path, keep: Container[str] = frozenset()) -> int:
    """Delete in-progress files left by a crash, except names in `keep` (this run's own, checked at each removal).
    Only the agent's own names are touched; links are not followed (on Linux and macOS each folder is held open while
    its files are removed, so a folder swapped for a link meanwhile leads nowhere)."""
    removed = 0
    if hasattr(os, "fwalk") and os.unlink in os.supports_dir_fd:
        for _root, _dirnames, filenames, root_fd in os.fwalk(folder):
            for name in filenames:
                if is_temp_name(name) and name not in keep:
                    with suppress(OSError):
                        os.unlink(name, dir_fd=root_fd)
                        removed += 1
        return removed
    for root, _dirnames, filenames in os.walk(folder):
        for name in filenames:
            if is_temp_name(name) and name not in keep:
                with suppress(OSError):
                    os.unlink(os.path.join(root, name))
                    removed += 1
    return removed
