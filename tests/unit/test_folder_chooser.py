"""The folder chooser's listing: the folders a person looks for, and where it opens for a field's text."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.desktop.windows.folder_chooser import folders_in, start_in, typed_folder


def test_only_visible_folders_are_listed_in_a_file_managers_order(tmp_path: Path) -> None:
    tmp_path = tmp_path / "place"
    tmp_path.mkdir()
    for name in ("takes", ".config", "Archive", "mixes"):
        (tmp_path / name).mkdir()
    (tmp_path / "notes.txt").write_text("a file")
    (tmp_path / "link").symlink_to(tmp_path / "takes")
    assert folders_in(tmp_path) == ["Archive", "link", "mixes", "takes"]
    assert folders_in(tmp_path / "missing") == []


def test_the_chooser_opens_in_the_nearest_folder_that_exists(tmp_path: Path) -> None:
    (tmp_path / "takes").mkdir()
    assert start_in(str(tmp_path / "takes")) == tmp_path / "takes"
    assert start_in(str(tmp_path / "takes" / "2026" / "march")) == tmp_path / "takes", "not made yet: where it would be"
    assert start_in("") == Path.home() and start_in("relative/folder") == Path.home()


def test_a_folder_typed_in_the_path_box_is_taken_from_the_folder_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shown = tmp_path / "home" / "ann"
    monkeypatch.chdir(tmp_path)  # the window's process runs somewhere else: a name typed never means a folder there
    assert typed_folder("Music", shown) == shown / "Music"
    assert typed_folder(" Music ", shown) == shown / "Music"
    assert typed_folder(str(tmp_path / "takes"), shown) == tmp_path / "takes"
    assert typed_folder("", shown) == shown
    assert typed_folder("~/Music", shown) == Path.home() / "Music"
