"""Key to path mapping: whatever a key holds, the path stays inside the download folder."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.engine import paths
from agent.engine.paths import PathPolicy, UnsafePathError

POSIX = PathPolicy(windows=False, case_insensitive=False)
WINDOWS = PathPolicy(windows=True, case_insensitive=True)


@pytest.mark.parametrize("key, expected", [
    ("takes/take 01.wav", "takes/take 01.wav"),
    ("../../etc/passwd", "etc/passwd"),
    ("/abs/path.wav", "abs/path.wav"),
    ("a/./b/../c.wav", "a/b/c.wav"),
    ("back\\slash\\name.wav", "back/slash/name.wav"),
    ("nul\x00byte\x1f.wav", "nul_byte_.wav"),
    ("evil\u202egnp.wav", "evil_gnp.wav"),  # would show as evilvaw.png
    ("c1\x85\x9bcontrols\u2028.wav", "c1__controls_.wav"),
    ("zero\u200bwidth\ufeff\u2066isolate.wav", "zero_width__isolate.wav"),
    ("نامه\u200cها 👨\u200d👩.wav", "نامه\u200cها 👨\u200d👩.wav"),  # joiners spell words and emoji: kept
    (".s3-sqs-agent-x.part", "_.s3-sqs-agent-x.part"),
    ("C:/Windows/x.wav", "C:/Windows/x.wav"),
])
def test_posix_mapping(key: str, expected: str) -> None:
    assert paths.default_relative_path(key, POSIX) == PurePosixPath(expected)


@pytest.mark.parametrize("key, expected", [
    ("CON", "_CON"), ("aux.wav", "_aux.wav"), ("Com1.txt", "_Com1.txt"), ("lpt9", "_lpt9"),
    ("name. ", "name"), ("what?.wav", "what_.wav"), ("C:\\Windows\\x.wav", "Windows/x.wav"), ("a<b>:c|d*.wav", "a_b__c_d_.wav"),
])
def test_windows_mapping(key: str, expected: str) -> None:
    assert paths.default_relative_path(key, WINDOWS) == PurePosixPath(expected)


def test_folder_markers_are_skipped() -> None:
    assert paths.default_relative_path("folder/", POSIX) is None


def test_nothing_left_gets_a_stable_name() -> None:
    first = paths.default_relative_path("..", POSIX)
    assert first == paths.default_relative_path("..", POSIX) and first is not None and first.name.startswith("_")


def test_long_names_are_shortened_keeping_the_extension() -> None:
    relative = paths.default_relative_path("x" * 1000 + ".wav", POSIX)
    assert relative is not None and relative.suffix == ".wav" and len(relative.name.encode()) <= 200


def test_multibyte_names_are_cut_on_character_boundaries() -> None:
    relative = paths.default_relative_path("é" * 500 + ".flac", POSIX)
    assert relative is not None and relative.name.endswith(".flac") and len(relative.name.encode()) <= 200
    relative.name.encode("utf-8")  # valid UTF-8


def test_disambiguation_is_stable_and_distinct() -> None:
    base = PurePosixPath("a/take.wav")
    one = paths.disambiguate(base, "bucket/a/take.wav")
    assert one == paths.disambiguate(base, "bucket/a/take.wav")
    assert one != paths.disambiguate(base, "bucket/A/take.wav")
    assert one.parent == base.parent and one.suffix == ".wav"


def test_symlink_leading_outside_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "downloads"
    outside = tmp_path / "outside"
    folder.mkdir()
    outside.mkdir()
    os.symlink(outside, folder / "sub")
    with pytest.raises(UnsafePathError):
        paths.prepare_target(folder, PurePosixPath("sub/x.wav"))
    assert list(outside.iterdir()) == []


def test_symlink_inside_the_folder_is_allowed(tmp_path: Path) -> None:
    folder = tmp_path / "downloads"
    (folder / "real").mkdir(parents=True)
    os.symlink(folder / "real", folder / "alias")
    target = paths.prepare_target(folder, PurePosixPath("alias/x.wav"))
    assert target.parent.resolve() == (folder / "real").resolve()


def test_a_parent_step_is_refused_even_without_links(tmp_path: Path) -> None:
    folder = tmp_path / "downloads"
    folder.mkdir()
    with pytest.raises(UnsafePathError):
        paths.prepare_target(folder, PurePosixPath("../x.wav"), root=folder.resolve())


def test_file_in_the_way_of_a_folder(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("file")
    with pytest.raises(UnsafePathError):
        paths.prepare_target(tmp_path, PurePosixPath("a/b.wav"))


keys = st.text(st.characters(blacklist_categories=()), min_size=1, max_size=300)


@settings(max_examples=400, deadline=None)
@given(key=keys, windows=st.booleans())
def test_every_key_maps_inside_the_folder(key: str, windows: bool) -> None:
    policy = PathPolicy(windows=windows, case_insensitive=windows)
    relative = paths.default_relative_path(key, policy)
    if relative is None:
        assert key.endswith(("/", "\\"))
        return
    assert not relative.is_absolute()
    assert all(part not in ("", ".", "..") for part in relative.parts)
    assert all("/" not in part and "\\" not in part and "\x00" not in part for part in relative.parts)
    assert all(len(part.encode("utf-8")) <= 255 for part in relative.parts)
    root = Path("/downloads")
    assert os.path.normpath(root / relative).startswith(str(root) + os.sep)
    if windows:
        assert all(part.split(".")[0].upper() not in paths.WINDOWS_RESERVED and not part.endswith((".", " ")) for part in relative.parts)


def test_the_hidden_characters_are_every_control_and_format_character_but_the_joiners() -> None:
    """agent/hidden_chars.py lists them by hand (a scan of Unicode at import would cost cold start): checked here
    against this Python's Unicode database. A newer Unicode may add a format character: add it to the class."""
    import sys
    import unicodedata

    from agent.hidden_chars import HIDDEN

    hidden_categories = {"Cc", "Cf", "Zl", "Zp", "Cs"}
    missing, extra = [], []
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        category = unicodedata.category(char)
        wanted = category in hidden_categories and code not in (0x200C, 0x200D)
        found = HIDDEN.fullmatch(char) is not None
        if wanted and not found:
            missing.append(f"U+{code:04X}")
        elif found and not wanted and category != "Cn":  # a character unassigned in this Python's Unicode may be listed
            extra.append(f"U+{code:04X}")
    assert missing == [] and extra == []
