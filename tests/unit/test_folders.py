"""agent/engine/folders.py: a download's folder held open from the check on, names given only when free."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agent.engine import folders
from agent.engine.paths import UnsafePathError
from tests.helpers import IS_ROOT

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="descriptors and symbolic links")


def folder_of(kind: str, path: Path) -> folders.TargetFolder:
    """The folder as the engine opens it (by descriptor where it can), or by path (as on Windows)."""
    path.mkdir()
    return folders.open_target_folder(path, ()) if kind == "descriptor" else folders.path_folder(path)


def refuses_to_replace(folder: folders.TargetFolder, taken: str, free: str) -> None:
    """A download placed under a taken name is refused and the file there kept; under a free name it goes."""
    new_file(folder, "s3-sqs-agent-x.part", b"download")
    (folder.path / taken).write_bytes(b"the user's")
    with pytest.raises(FileExistsError):
        folder.place("s3-sqs-agent-x.part", taken)
    folder.place("s3-sqs-agent-x.part", free)
    assert (folder.path / taken).read_bytes() == b"the user's" and (folder.path / free).read_bytes() == b"download"


def new_file(folder: folders.TargetFolder, name: str, data: bytes) -> None:
    fd = folder.create(name)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


@pytest.mark.parametrize("kind", ["descriptor", "path"])
def test_a_name_is_given_only_when_it_is_free(tmp_path: Path, kind: str) -> None:
    tmp_path = tmp_path / "f"
    with folder_of(kind, tmp_path) as folder:
        refuses_to_replace(folder, "take.wav", "take (conflict).wav")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["take (conflict).wav", "take.wav"]
        new_file(folder, ".s3-sqs-agent-b.part", b"newer")
        folder.replace(".s3-sqs-agent-b.part", "take (conflict).wav")  # the agent's own earlier version
        assert (tmp_path / "take (conflict).wav").read_bytes() == b"newer"
        folder.sync()


@posix_only
def test_the_walk_creates_what_is_missing_and_follows_links_only_inside(tmp_path: Path) -> None:
    root = tmp_path / "out"
    (root / "real" / "deep").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    os.symlink(root / "real", root / "alias")
    os.symlink(tmp_path / "outside", root / "away")
    (root / "afile").write_text("x")
    os.symlink(root / "afile", root / "filelink")
    with folders.open_target_folder(root, ("a", "b")) as made:
        assert made.path == root / "a" / "b" and (root / "a" / "b").is_dir()
    with folders.open_target_folder(root, ("alias", "deep")) as through:
        assert through.path == root / "real" / "deep"  # where the link leads, walked again from the root
    for parts, message in ((("away", "x"), "leads outside"), (("filelink",), "link to a file"), (("afile", "x"), "in the way"),
                           (("..", "x"), "cannot be a folder's name")):
        with pytest.raises(UnsafePathError, match=message):
            folders.open_target_folder(root, parts)
    assert list((tmp_path / "outside").iterdir()) == []


@posix_only
def test_the_folder_held_open_is_written_into_whatever_its_path_becomes(tmp_path: Path) -> None:
    root, outside = tmp_path / "out", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    with folders.open_target_folder(root, ("sub",)) as folder:
        os.rename(root / "sub", root / "checked")
        os.symlink(outside, root / "sub")
        new_file(folder, ".s3-sqs-agent-c.part", b"x")
        folder.place(".s3-sqs-agent-c.part", "take.wav")
    assert list(outside.iterdir()) == [] and (root / "checked" / "take.wav").read_bytes() == b"x"


@pytest.mark.skipif(not IS_ROOT or shutil.which("mkfs.vfat") is None, reason="a FAT loop file system needs root and mkfs.vfat")
def test_without_hard_links_a_free_name_is_still_checked_before_the_rename(tmp_path: Path) -> None:
    image, mount = tmp_path / "fat.img", tmp_path / "fat"
    with open(image, "wb") as handle:
        handle.truncate(8 * 1024 * 1024)
    subprocess.run(["mkfs.vfat", str(image)], check=True, capture_output=True)
    mount.mkdir()
    if subprocess.run(["mount", "-o", "loop", str(image), str(mount)], capture_output=True).returncode != 0:
        pytest.skip("mounting a loop file system is not allowed here")
    try:
        with folders.open_target_folder(mount, ()) as folder:
            refuses_to_replace(folder, "TAKE.WAV", "OTHER.WAV")
        assert sorted(p.name.upper() for p in mount.iterdir()) == ["OTHER.WAV", "TAKE.WAV"]
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_stale_temporary_files_are_removed_and_the_live_ones_kept(tmp_path: Path) -> None:
    tmp_path = tmp_path / "f"
    (tmp_path / "a").mkdir(parents=True)
    for name in ("a/.s3-sqs-agent-old.part", ".s3-sqs-agent-live.part", "a/take.wav"):
        (tmp_path / name).write_text("x")
    assert folders.remove_stale_temp_files(tmp_path, keep={".s3-sqs-agent-live.part"}) == 1
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [".s3-sqs-agent-live.part", "a", "a/take.wav"]


@pytest.mark.parametrize("kind", ["descriptor", "path"])
def test_where_links_are_refused_the_name_is_looked_at_then_renamed(tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """FAT and exFAT have no hard links (link() says EPERM or ENOTSUP): the fallback still never replaces a file."""
    import errno

    def no_links(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    tmp_path = tmp_path / "f"
    with folder_of(kind, tmp_path) as folder:
        monkeypatch.setattr(os, "link", no_links)
        refuses_to_replace(folder, "take.wav", "other.wav")
