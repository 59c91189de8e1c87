"""Maps object keys to safe paths inside the download folder, whatever the key holds."""

from __future__ import annotations

import hashlib
import os
import re
import stat
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from agent.hidden_chars import replace_hidden

TEMP_PREFIX = ".s3-sqs-agent-"
TEMP_SUFFIX = ".part"
_TEMP_NAME = re.compile(rf"^{re.escape(TEMP_PREFIX)}.*{re.escape(TEMP_SUFFIX)}$", re.IGNORECASE)

WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {f"{d}{i}" for d in ("COM", "LPT") for i in (*range(1, 10), "¹", "²", "³")}
_WINDOWS_FORBIDDEN = re.compile(r'[<>:"|?*]')


class UnsafePathError(Exception):
    """A path that cannot be used: it would leave the folder, or something is in its way. Never retried."""


@dataclass(frozen=True)
class PathPolicy:
    """The file-name rules of the platform the folder lives on."""

    windows: bool = sys.platform == "win32"
    max_name_bytes: int = 200  # NAME_MAX is 255; keep room for a disambiguating suffix
    case_insensitive: bool = sys.platform in ("win32", "darwin")


def is_temp_name(name: str) -> bool:
    """True for the agent's own in-progress files, which are never a finished download."""
    return bool(_TEMP_NAME.match(name))


def _truncate(name: str, limit: int) -> str:
    if len(name.encode("utf-8")) <= limit:
        return name
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem or len(suffix) > 16:
        stem, suffix = name, ""
    else:
        suffix = "." + suffix
    budget = limit - len(suffix.encode("utf-8"))
    encoded = stem.encode("utf-8")[:budget]
    return encoded.decode("utf-8", "ignore").rstrip(" .") + suffix


def safe_name(name: str, policy: PathPolicy) -> str | None:
    """One path component made safe, or None when nothing usable is left ('', '.', '..')."""
    name = replace_hidden(name)  # controls, bidi overrides, zero-width characters: a name shows what it is
    if policy.windows:
        name = _WINDOWS_FORBIDDEN.sub("_", name).rstrip(" .")
        if name.split(".")[0].rstrip(" ").upper() in WINDOWS_RESERVED:
            name = "_" + name
    if name in ("", ".", ".."):
        return None
    if is_temp_name(name):
        name = "_" + name
    return _truncate(name, policy.max_name_bytes) or None


def sanitize(path: str, policy: PathPolicy) -> PurePosixPath | None:
    """A relative path with only safe components. Both / and \\ separate folders. None if nothing is left."""
    parts = [safe for raw in re.split(r"[/\\]", path) if (safe := safe_name(raw, policy))]
    if not parts:
        return None
    if policy.windows and re.fullmatch(r"[A-Za-z]_?", parts[0]) and re.match(r"^[A-Za-z]:", path):
        parts = parts[1:] or ["_"]  # a drive letter: "C:" became "C_"; drop it
    return PurePosixPath(*parts)


def default_relative_path(key: str, policy: PathPolicy) -> PurePosixPath | None:
    """Where a key goes by default: its own folders and name, made safe. None for folder markers (keys ending in '/')."""
    if key.endswith(("/", "\\")):
        return None
    relative = sanitize(key, policy)
    if relative is None:
        return PurePosixPath("_" + short_hash(key))
    return relative


def short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]


def disambiguate(relative: PurePosixPath, identity: str) -> PurePosixPath:
    """A stable, distinct name for an object whose natural name is taken: `take 01 ~3fa9c2d1e0.wav`."""
    name = relative.name
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        stem, suffix = name, ""
    else:
        suffix = "." + suffix
    tagged = f"{stem} ~{short_hash(identity)}{suffix}"
    return relative.with_name(_truncate(tagged, 240))


def claim_key(relative: PurePosixPath, policy: PathPolicy) -> str:
    """The identity two paths share when the file system would treat them as one file."""
    text = relative.as_posix()
    if policy.case_insensitive:
        return unicodedata.normalize("NFC", text).casefold()
    return text


def detect_policy(folder: Path) -> PathPolicy:
    """The policy for a folder, probing whether its file system ignores case (as macOS and Windows usually do)."""
    base = PathPolicy()
    probe = folder / f"{TEMP_PREFIX}case-probe{TEMP_SUFFIX}"
    try:
        probe.touch()
        try:
            insensitive = (folder / probe.name.upper()).exists()
        finally:
            probe.unlink(missing_ok=True)
    except OSError:
        return base
    return PathPolicy(windows=base.windows, max_name_bytes=base.max_name_bytes, case_insensitive=insensitive)


def inside_folder(folder: Path, path: Path) -> bool:
    """True when `path`, with every link resolved, is inside `folder`."""
    return _inside(Path(os.path.realpath(path)), Path(os.path.realpath(folder)))


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def prepare_target(folder: Path, relative: PurePosixPath, root: Path | None = None) -> Path:
    """The absolute path for `relative`, creating its folders. Refuses symlinks that lead outside the folder.

    `root`: the folder with its links resolved, when the caller already knows it (every file would look it up again).
    By path, so checked and then used in two steps: the engine's downloads use agent/engine/folders.py instead."""
    root = root or Path(os.path.realpath(folder))
    target = prepare_folder(root, relative.parts[:-1], root) / relative.parts[-1]
    try:
        in_the_way = stat.S_ISDIR(os.lstat(target).st_mode)  # a folder itself, not a link to one
    except OSError:
        in_the_way = False
    if in_the_way:
        raise UnsafePathError(f"a folder named {target.name!r} is in the way of the file {target}")
    return target


def prepare_folder(folder: Path, parts: Sequence[str], root: Path | None = None) -> Path:
    """The folder `folder/parts...`, created where missing, by path. Refuses symlinks that lead outside the folder."""
    root = root or Path(os.path.realpath(folder))
    current = root
    followed = False  # a link (or a '..') on the way: only then can the target's folder be anywhere but under root
    for part in parts:
        current = current / part
        followed = followed or part == ".." or "\\" in part or ":" in part
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            try:
                os.mkdir(current, 0o755)
                continue
            except FileExistsError:
                info = os.lstat(current)
        if stat.S_ISLNK(info.st_mode):
            followed = True
            if not _inside(Path(os.path.realpath(current)), root):
                raise UnsafePathError(f"{current} is a symbolic link that leads outside the download folder")
            if not os.path.isdir(current):
                raise UnsafePathError(f"{current} is a link to a file, where a folder is needed")
        elif not stat.S_ISDIR(info.st_mode):
            raise UnsafePathError(f"a file named {current.name!r} is in the way of the folder {current}")
    if followed and not _inside(Path(os.path.realpath(current)), root):
        raise UnsafePathError(f"{current} would be outside the download folder")
    return current
