"""Property tests for key decoding and for placement: the engine's ObjectHandler with its ledger, not just the
sanitizer. The sanitizer alone cannot be injective (it must map `a\\b` and `a/b` to one safe name); placement is:
a name already owned by another key gets a stable distinct one. So the properties are checked on ObjectHandler."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.config import Config
from agent.engine.download import Downloader, TransferSettings
from agent.engine.events import EventBus, ObjectEvent
from agent.engine.ledger import Ledger
from agent.engine.messages import MalformedMessage, decode_key
from agent.engine.objects import ObjectHandler
from agent.engine.paths import PathPolicy, UnsafePathError
from agent.plugins.manager import PluginHost

# ---------------------------------------------------------------- decoding

keys = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=200)


@settings(max_examples=500, deadline=None)
@given(key=keys)
def test_decoding_undoes_s3_encoding_exactly(key: str) -> None:
    assert decode_key(quote_plus(key, safe="/")) == key


@settings(max_examples=500, deadline=None)
@given(raw=st.text(min_size=0, max_size=200) | st.text(alphabet="%+0123456789abcdefABCDEFzZ/", max_size=40))
def test_decoding_anything_gives_a_clean_key_or_malformed(raw: str) -> None:
    try:
        key = decode_key(raw)
    except MalformedMessage:
        return
    key.encode("utf-8")  # no lone surrogates: the key can always be written and logged
    assert key


# ---------------------------------------------------------------- placement

PIECES = ["a", "A", "b", "/", "\\", ".", "..", "é", "e\u0301", " ", "\x00", "\x1f", "~", "%", "+", "CON", ":", "*", ".wav", "x" * 120]
hostile_keys = (st.lists(st.sampled_from(PIECES), min_size=1, max_size=6).map("".join)
                | st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=80)).filter(lambda k: not k.endswith(("/", "\\")))


class FakeDownloader(Downloader):
    """Writes the key itself as the object's content: no network, same temporary-file rules."""

    def __init__(self, contents: dict[str, bytes]) -> None:
        super().__init__(None, TransferSettings())
        self.contents = contents

    def describe(self, event: ObjectEvent, folder: Path | None = None) -> ObjectEvent:
        return event

    def _fetch_range(self, event: ObjectEvent, fd: int, byte_range: tuple[int, int] | None, on_progress: Callable[[int], None]) -> None:
        os.pwrite(fd, self.contents[event.key], 0)


def content(key: str) -> bytes:
    return key.encode("utf-8", "surrogatepass")


def place_all(key_list: list[str], policy: PathPolicy, keep_prefixes: bool) -> dict[str, Path]:
    """Hand every key to a fresh ObjectHandler (twice: duplicates must be recognised); return where each landed."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = root / "out"
        folder.mkdir()
        config = Config(sqs_queue_url="https://sqs.us-east-1.amazonaws.com/1/q", download_folder=folder, keep_prefixes=keep_prefixes)
        plugins = PluginHost(config)
        plugins.startup(config)
        contents = {key: content(key) for key in key_list}
        ledger = Ledger(root / "ledger.sqlite3")
        handler = ObjectHandler(config, ledger, FakeDownloader(contents), plugins, EventBus())
        handler.policy = policy
        placed: dict[str, Path] = {}
        for _ in range(2):
            for key in key_list:
                data = contents[key]
                event = ObjectEvent("bucket", key, len(data), hashlib.md5(data, usedforsecurity=False).hexdigest())
                try:
                    result = handler.handle(event)
                except UnsafePathError as exc:  # a file and a folder wanting one name: refused, with the reason
                    assert "in the way" in str(exc)
                    continue
                if result is not None:
                    assert key not in placed, f"{key!r} was downloaded twice"
                    placed[key] = result.path
        for key, path in placed.items():
            assert Path(os.path.realpath(path)).is_relative_to(Path(os.path.realpath(folder))), (key, path)
            assert path.read_bytes() == contents[key], f"{path} does not hold {key!r}"
            assert ledger.file("bucket", key).path == path
        on_disk = sorted(str(p) for p in folder.rglob("*") if p.is_file())
        assert sorted(str(p) for p in placed.values()) == on_disk, "files on disk that no key owns"
        assert sorted(os.listdir(root)) == ["ledger.sqlite3", "ledger.sqlite3-shm", "ledger.sqlite3-wal", "out"] or \
            sorted(os.listdir(root)) == ["ledger.sqlite3", "out"]
        ledger.close()
        return placed


@pytest.mark.parametrize("case_insensitive", [False, True])
@pytest.mark.parametrize("keep_prefixes", [True, False])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key_list=st.lists(hostile_keys, min_size=1, max_size=8, unique=True))
def test_distinct_keys_never_share_a_path_and_never_leave_the_folder(key_list: list[str], case_insensitive: bool, keep_prefixes: bool) -> None:
    policy = PathPolicy(windows=False, case_insensitive=case_insensitive)
    placed = place_all(key_list, policy, keep_prefixes)
    claims = [str(p).casefold() if case_insensitive else str(p) for p in placed.values()]
    assert len(set(claims)) == len(claims), f"two keys share a path: {placed}"


def test_a_name_that_looks_like_a_disambiguated_one_gets_its_own_path() -> None:
    """`a/b.wav` and `a\\b.wav` share a natural name; a third key spelled like the second one's new name must not collide."""
    from pathlib import PurePosixPath

    from agent.engine.paths import disambiguate

    lookalike = disambiguate(PurePosixPath("a/b.wav"), "bucket/a\\b.wav").as_posix()
    for order in (["a/b.wav", lookalike, "a\\b.wav"], ["a\\b.wav", "a/b.wav", lookalike], [lookalike, "a/b.wav", "a\\b.wav"]):
        placed = place_all(order, PathPolicy(windows=False, case_insensitive=False), True)
        assert len(placed) == 3 and len(set(placed.values())) == 3
        assert not any("conflict" in p.name for p in placed.values()), placed
