"""Shipped plugin `audio-check`: checks each download is readable audio of the type its extension claims; quarantines the rest."""

from __future__ import annotations

import importlib
import io
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from agent.api import ObjectEvent, hookimpl
from agent.config import Config
from agent.engine import paths

log = logging.getLogger(__name__)

REPORT_NAME = "quarantine-report.tsv"

# extension -> (what it claims to be, the mutagen classes that may read it)
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    ".wav": ("WAV", ("mutagen.wave:WAVE",)),
    ".wave": ("WAV", ("mutagen.wave:WAVE",)),
    ".flac": ("FLAC", ("mutagen.flac:FLAC",)),
    ".mp3": ("MP3", ("mutagen.mp3:MP3",)),
    ".ogg": ("Ogg audio", ("mutagen.oggvorbis:OggVorbis", "mutagen.oggopus:OggOpus", "mutagen.oggflac:OggFLAC", "mutagen.oggspeex:OggSpeex")),
    ".oga": ("Ogg audio", ("mutagen.oggvorbis:OggVorbis", "mutagen.oggopus:OggOpus", "mutagen.oggflac:OggFLAC", "mutagen.oggspeex:OggSpeex")),
    ".opus": ("Opus", ("mutagen.oggopus:OggOpus",)),
    ".m4a": ("M4A", ("mutagen.mp4:MP4",)),
}
DEFAULT_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".m4a")


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check: `ok`, what the file holds, and why it failed."""

    ok: bool
    claimed: str
    detail: str


@dataclass(frozen=True)
class Quarantined:
    """A file that failed the check and where it went."""

    key: str
    original: Path
    moved_to: Path
    reason: str


class AudioCheck:
    """`audio-check`: after each download, mutagen reads the file as the type its extension names.

    A file that is not readable as that type is moved to the quarantine folder (its folders kept), logged
    as an error and added to `quarantine-report.tsv` there; the hook returns its new path, so the engine's log
    line, its Downloaded event and the ledger name the quarantine. Its message is then deleted as handled (the
    object itself is bad: downloading it again would not help). Files with other extensions pass unchecked.

    Options:
      quarantine: str        folder inside download_folder (default `quarantine`).
      extensions: list[str]  which of .wav .wave .flac .mp3 .ogg .oga .opus .m4a to check
                             (default .wav .flac .mp3 .ogg .m4a).
      min_seconds: float     a file with less audio than this fails too (default 0: any length).
    """

    def __init__(self, quarantine: str = "quarantine", extensions: list[str] | None = None, min_seconds: float = 0.0) -> None:
        try:
            import mutagen  # noqa: F401
        except ImportError:
            raise ValueError("it needs the mutagen library; install it with: pip install 's3-sqs-agent[audio]'") from None
        self.quarantine = _quarantine_folder(quarantine)
        self.extensions = _extensions(extensions)
        if isinstance(min_seconds, bool) or not isinstance(min_seconds, (int, float)) or min_seconds < 0:
            raise ValueError(f"option 'min_seconds' must be a number of seconds, 0 or more, got {min_seconds!r}")
        self.min_seconds = float(min_seconds)
        self.download_folder: Path | None = None
        self.quarantined: list[Quarantined] = []
        self._lock = threading.Lock()  # workers quarantine at the same time: one picks a free name at a time

    @hookimpl
    def agent_startup(self, config: Config) -> None:
        self.download_folder = config.download_folder

    @hookimpl
    def agent_object_downloaded(self, event: ObjectEvent, path: Path) -> Path | None:
        """Returns the quarantine path of a file it moved (also when asked again on a retry), so the engine names it."""
        if path.suffix.lower() not in self.extensions:
            return None
        if not path.exists():  # moved by an earlier plugin, or by this one on an earlier attempt
            with self._lock:
                earlier = next((q.moved_to for q in reversed(self.quarantined) if q.original == path and q.moved_to.is_file()), None)
            if earlier is None:
                log.debug("audio-check: %s is gone; nothing to check", path)
            return earlier
        verdict = check(path, self.min_seconds)
        if verdict.ok:
            log.info("audio-check: %s is %s", path.name, verdict.detail)
            return None
        moved = self._move_to_quarantine(path)
        record = Quarantined(event.key, path, moved, verdict.detail)
        with self._lock:
            self.quarantined.append(record)
            self._report(record, event)
        log.error("audio-check: %s is not a readable %s file (%s); moved to %s", path.name, verdict.claimed, verdict.detail, moved)
        return moved

    def _move_to_quarantine(self, path: Path) -> Path:
        folder = self.download_folder or path.parent
        try:
            relative = PurePosixPath(path.relative_to(folder).as_posix())
        except ValueError:
            relative = PurePosixPath(path.name)
        with self._lock:
            target = paths.prepare_target(folder, self.quarantine / relative)
            n = 1
            while os.path.lexists(target):
                n += 1
                target = target.with_name(f"{path.stem} ({n}){path.suffix}")
            shutil.move(os.fspath(path), os.fspath(target))
        return target

    def _report(self, record: Quarantined, event: ObjectEvent) -> None:
        folder = self.download_folder or record.moved_to.parent
        report = Path(os.path.realpath(folder)) / self.quarantine / REPORT_NAME
        line = "\t".join((time.strftime("%Y-%m-%dT%H:%M:%S%z"), f"s3://{event.bucket}/{event.key}", str(record.moved_to), record.reason))
        with open(report, "a", encoding="utf-8") as handle:
            handle.write(line.replace("\n", " ") + "\n")


def check(path: Path, min_seconds: float = 0.0) -> Verdict:
    """Read `path` as the type its extension claims. Works on any path; the plugin is a thin layer over this."""
    claimed, readers = KINDS[path.suffix.lower()]
    errors = []
    for reader in readers:
        try:
            audio = _load(reader)(os.fspath(path))
        except Exception as exc:  # noqa: BLE001  mutagen raises its own errors, and struct/OS errors on odd files
            errors.append(str(exc) or type(exc).__name__)
            continue
        info = getattr(audio, "info", None)
        length = float(getattr(info, "length", 0.0) or 0.0)
        if length < min_seconds:
            return Verdict(False, claimed, f"only {length:.2f} s of audio; at least {min_seconds:g} s expected")
        return Verdict(True, claimed, f"{type(audio).__name__}, {length:.2f} s")
    actual = _identify(path)
    looks = f"it looks like {actual}" if actual else "mutagen cannot read it"
    return Verdict(False, claimed, f"{looks}: {errors[0] if errors else 'unreadable'}")


def _load(reader: str) -> Any:
    module_name, _, attribute = reader.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def _identify(path: Path) -> str | None:
    """What mutagen thinks the file really is, judged by its content only."""
    import mutagen

    try:
        with io.FileIO(os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0)), "rb") as handle:
            found = mutagen.File(handle)  # opened by descriptor: no file name to sway the guess
    except Exception:  # noqa: BLE001
        return None
    return type(found).__name__ if found is not None else None


def _quarantine_folder(value: Any) -> PurePosixPath:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"option 'quarantine' must be a folder name such as 'quarantine', got {value!r}")
    folder = PurePosixPath(value.replace("\\", "/"))
    if folder.is_absolute() or ".." in folder.parts or ":" in value:
        raise ValueError(f"option 'quarantine' must be a folder inside download_folder, such as 'quarantine', got {value!r}")
    return folder


def _extensions(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset(DEFAULT_EXTENSIONS)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValueError(f"option 'extensions' must be a list such as ['.wav', '.flac'], got {value!r}")
    normalized = {("." + v.lstrip(".")).lower() for v in value}
    unknown = sorted(normalized - set(KINDS))
    if unknown:
        raise ValueError(f"option 'extensions': {unknown[0]!r} cannot be checked; the supported ones are {', '.join(KINDS)}")
    return frozenset(normalized)
