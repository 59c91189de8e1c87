"""agent.atomic, and the private files written through it: the SSO token cache, ~/.aws/credentials, the config."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from agent import atomic
from agent.aws import profiles, sso

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes and symbolic links")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@posix_only
def test_a_leftover_temporary_file_lends_the_token_neither_its_mode_nor_its_content(private_home: Path,
                                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: the token was written through `.NAME.tmp` (O_TRUNC, no O_EXCL, no fchmod): a leftover 0644 file
    of that name made the token readable by everyone."""
    monkeypatch.setenv("HOME", str(private_home))
    target = sso.cache_dir() / "abc.json"
    target.parent.mkdir(parents=True)
    leftover = target.with_name(f".{target.name}.tmp")
    leftover.write_text("old")
    leftover.chmod(0o644)
    sso._write_json(target, {"accessToken": "secret-token"})
    assert mode(target) == 0o600
    assert target.read_text(encoding="utf-8") == '{"accessToken": "secret-token"}'
    assert leftover.read_text() == "old", "a file of the old fixed name is not the writer's"


@posix_only
def test_a_planted_link_under_the_old_temporary_name_is_never_written_through(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep")
    target = tmp_path / "private" / "credentials"
    target.parent.mkdir()
    os.symlink(victim, target.with_name(f".{target.name}.tmp"))
    atomic.write_text_atomically(target, "[x]\n")
    assert victim.read_text() == "keep"
    assert target.read_text() == "[x]\n" and mode(target) == 0o600


@posix_only
def test_the_aws_folders_are_created_private(private_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: ~/.aws and ~/.aws/sso were created 0755 (mkdir(parents=True) gives the mode to the last one only)."""
    monkeypatch.setenv("HOME", str(private_home))
    monkeypatch.delenv("AWS_SHARED_CREDENTIALS_FILE")
    monkeypatch.delenv("AWS_CONFIG_FILE")
    sso._write_json(sso.cache_dir() / "token.json", {"accessToken": "t"})
    for folder in (".aws", ".aws/sso", ".aws/sso/cache"):
        assert mode(private_home / folder) == 0o700, folder
    profiles.add_access_key_profile("agent", "AKIAIOSFODNN7EXAMPLE", "secret")
    assert mode(private_home / ".aws" / "credentials") == 0o600


@posix_only
def test_an_existing_folder_keeps_its_mode(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o755)
    atomic.write_text_atomically(folder / "a" / "b" / "file", "x")
    assert mode(folder) == 0o755 and mode(folder / "a") == 0o700 and mode(folder / "a" / "b") == 0o700


@posix_only
def test_a_symlinked_credentials_file_is_written_through_its_link(private_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: os.replace turned a symlinked ~/.aws/credentials (a dotfile manager's) into a plain file."""
    dotfiles = private_home / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "aws-credentials"
    real.write_text("[old]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = s\n")
    link = private_home / "aws-credentials"  # AWS_SHARED_CREDENTIALS_FILE (tests/conftest.py)
    os.symlink(real, link)
    profiles.add_access_key_profile("new", "AKIAI44QH8DHBEXAMPLE", "other")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert "[old]" in real.read_text() and "[new]" in real.read_text()
    assert mode(real) == 0o600
    assert sorted(p.name for p in dotfiles.iterdir()) == ["aws-credentials"], "no temporary file left beside it"


def test_a_failed_write_leaves_the_file_and_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "folder" / "config.yaml"
    target.parent.mkdir()
    target.write_text("before")
    with pytest.raises(RuntimeError), atomic.atomic_file(target) as handle:
        handle.write(b"half")
        raise RuntimeError("disk went away")
    assert target.read_text() == "before"
    assert sorted(p.name for p in target.parent.iterdir()) == ["config.yaml"]
