"""Unit tests of the audio-check plugin: each format read as its extension claims, quarantine and report, options."""

from __future__ import annotations

import io
import logging
import math
import struct
import threading
import wave
from pathlib import Path

import pytest

from agent.config import Config
from agent.engine.events import ObjectEvent
from agent.plugins.builtin.audio_check import REPORT_NAME, AudioCheck, check

# ------------------------------------------------------------------ tiny valid files of each kind, made by hand


def wav_bytes(seconds: float = 0.2, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(n / 5))) for n in range(int(seconds * rate))))
    return buffer.getvalue()


def flac_bytes(seconds: float = 1.0, rate: int = 8000) -> bytes:
    """fLaC and a STREAMINFO block: what mutagen reads."""
    packed = (rate << 44) | (0 << 41) | (15 << 36) | int(seconds * rate)
    info = struct.pack(">HH", 4096, 4096) + b"\0" * 6 + packed.to_bytes(8, "big") + b"\0" * 16
    return b"fLaC" + bytes([0x80]) + len(info).to_bytes(3, "big") + info


def mp3_bytes(frames: int = 20) -> bytes:
    """MPEG-1 Layer III frames, 128 kbit/s at 44.1 kHz (417 bytes each), silent."""
    return (bytes([0xFF, 0xFB, 0x90, 0x00]) + b"\0" * 413) * frames


def ogg_bytes(seconds: float = 1.0, rate: int = 8000) -> bytes:
    """Ogg pages holding Vorbis identification, comment and setup headers."""
    from mutagen.ogg import OggPage

    ident = b"\x01vorbis" + struct.pack("<IBIiii", 0, 1, rate, 0, 64000, 0) + bytes([0xB8, 0x01])
    comment = b"\x03vorbis" + struct.pack("<I", 4) + b"test" + struct.pack("<I", 0) + b"\x01"
    pages = []
    for sequence, (packets, position) in enumerate([([ident], 0), ([comment, b"\x05vorbis" + b"\0" * 16], 0), ([b"\0" * 10], int(seconds * rate))]):
        page = OggPage()
        page.packets, page.serial, page.sequence, page.position = packets, 1, sequence, position
        page.first, page.last = sequence == 0, sequence == 2
        pages.append(page.write())
    return b"".join(pages)


def _atom(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def m4a_bytes(seconds: float = 1.0, rate: int = 8000) -> bytes:
    """ftyp, and a moov with one sound track: what mutagen reads of an M4A."""
    times = b"\0" * 4 + struct.pack(">IIII", 0, 0, rate, int(seconds * rate))
    track = _atom(b"trak", _atom(b"mdia", _atom(b"mdhd", times + b"\0" * 4) + _atom(b"hdlr", b"\0" * 8 + b"soun" + b"\0" * 12 + b"sound\0")))
    return _atom(b"ftyp", b"M4A \0\0\0\0M4A isom") + _atom(b"moov", _atom(b"mvhd", times + b"\0" * 80) + track)


SAMPLES = {".wav": wav_bytes, ".flac": flac_bytes, ".mp3": mp3_bytes, ".ogg": ogg_bytes, ".m4a": m4a_bytes}


# ------------------------------------------------------------------ the check itself


@pytest.mark.parametrize("suffix", sorted(SAMPLES))
def test_each_format_passes_under_its_own_extension(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"take{suffix}"
    path.write_bytes(SAMPLES[suffix]())
    verdict = check(path)
    assert verdict.ok, verdict.detail


@pytest.mark.parametrize("suffix", sorted(SAMPLES))
def test_each_format_fails_under_every_other_extension(tmp_path: Path, suffix: str) -> None:
    for other, make in SAMPLES.items():
        if other == suffix:
            continue
        path = tmp_path / f"{other.strip('.')}-posing{suffix}"
        path.write_bytes(make())
        verdict = check(path)
        assert not verdict.ok, f"{other} content passed as {suffix}"


@pytest.mark.parametrize("suffix", sorted(SAMPLES))
def test_text_and_truncated_files_fail(tmp_path: Path, suffix: str) -> None:
    text = tmp_path / f"text{suffix}"
    text.write_bytes(b"this is text pretending to be audio\n" * 20)
    empty = tmp_path / f"empty{suffix}"
    empty.write_bytes(b"")
    half = tmp_path / f"half{suffix}"
    half.write_bytes(SAMPLES[suffix]()[:12])
    for path in (text, empty, half):
        assert not check(path).ok, path.name


def test_a_mismatch_names_what_the_file_really_is(tmp_path: Path) -> None:
    path = tmp_path / "mislabelled.wav"
    path.write_bytes(flac_bytes())
    verdict = check(path)
    assert not verdict.ok and verdict.claimed == "WAV"
    assert "looks like FLAC" in verdict.detail


def test_min_seconds(tmp_path: Path) -> None:
    path = tmp_path / "short.wav"
    path.write_bytes(wav_bytes(seconds=0.2))
    assert check(path, min_seconds=0.1).ok
    verdict = check(path, min_seconds=1)
    assert not verdict.ok and "0.20 s" in verdict.detail


# ------------------------------------------------------------------ the plugin: quarantine and report


def _plugin(folder: Path, **options: object) -> AudioCheck:
    plugin = AudioCheck(**options)  # type: ignore[arg-type]
    plugin.agent_startup(Config(sqs_queue_url="https://sqs.us-east-1.amazonaws.com/1/q", download_folder=folder))
    return plugin


def test_bad_file_is_quarantined_with_its_folders_and_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "takes").mkdir()
    good, bad = tmp_path / "takes" / "good.wav", tmp_path / "takes" / "bad.wav"
    good.write_bytes(wav_bytes())
    bad.write_bytes(b"not audio at all")
    plugin = _plugin(tmp_path)
    moved = tmp_path / "quarantine" / "takes" / "bad.wav"
    with caplog.at_level(logging.INFO):
        assert plugin.agent_object_downloaded(ObjectEvent("b", "takes/good.wav"), good) is None
        assert plugin.agent_object_downloaded(ObjectEvent("b", "takes/bad.wav"), bad) == moved  # the engine records it
        assert plugin.agent_object_downloaded(ObjectEvent("b", "takes/bad.wav"), bad) == moved  # asked again on a retry
    assert good.exists() and not bad.exists()
    assert moved.read_bytes() == b"not audio at all"
    [record] = plugin.quarantined
    assert record.moved_to == moved and record.key == "takes/bad.wav"
    report = (tmp_path / "quarantine" / REPORT_NAME).read_text(encoding="utf-8")
    assert "s3://b/takes/bad.wav" in report and str(moved) in report and len(report.splitlines()) == 1
    assert any(r.levelno == logging.ERROR and "bad.wav is not a readable WAV file" in r.getMessage() for r in caplog.records)


def test_other_extensions_and_missing_files_pass_untouched(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"text")
    plugin = _plugin(tmp_path)
    plugin.agent_object_downloaded(ObjectEvent("b", "notes.txt"), notes)
    plugin.agent_object_downloaded(ObjectEvent("b", "gone.wav"), tmp_path / "gone.wav")  # moved earlier: a retry
    assert notes.exists() and plugin.quarantined == [] and not (tmp_path / "quarantine").exists()


def test_only_the_chosen_extensions_are_checked(tmp_path: Path) -> None:
    mp3 = tmp_path / "x.mp3"
    mp3.write_bytes(b"not audio")
    plugin = _plugin(tmp_path, extensions=["flac", ".WAV"])
    plugin.agent_object_downloaded(ObjectEvent("b", "x.mp3"), mp3)
    assert mp3.exists() and plugin.extensions == {".flac", ".wav"}


def test_same_name_quarantined_concurrently_keeps_every_file(tmp_path: Path) -> None:
    plugin = _plugin(tmp_path, quarantine="bad/audio")
    paths = []
    for i in range(8):
        folder = tmp_path / f"d{i}"
        folder.mkdir()
        path = folder / "x.wav"
        path.write_bytes(b"junk %d" % i)
        paths.append(path)
    threads = [threading.Thread(target=plugin.agent_object_downloaded, args=(ObjectEvent("b", f"d{i}/x.wav"), p)) for i, p in enumerate(paths)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    moved = sorted(p.read_bytes() for p in (tmp_path / "bad" / "audio").rglob("*.wav"))
    assert moved == sorted(b"junk %d" % i for i in range(8))
    assert len((tmp_path / "bad" / "audio" / REPORT_NAME).read_text().splitlines()) == 8


def test_a_second_file_of_one_name_gets_a_numbered_name(tmp_path: Path) -> None:
    plugin = _plugin(tmp_path)
    for content in (b"one", b"two"):
        path = tmp_path / "x.wav"
        path.write_bytes(content)
        plugin.agent_object_downloaded(ObjectEvent("b", "x.wav"), path)
    assert (tmp_path / "quarantine" / "x.wav").read_bytes() == b"one"
    assert (tmp_path / "quarantine" / "x (2).wav").read_bytes() == b"two"


@pytest.mark.parametrize("options, message", [
    ({"quarantine": "../outside"}, "inside download_folder"),
    ({"quarantine": "/tmp/q"}, "inside download_folder"),
    ({"quarantine": ""}, "folder name"),
    ({"extensions": [".aiff"]}, "cannot be checked"),
    ({"extensions": []}, "list"),
    ({"min_seconds": -1}, "min_seconds"),
    ({"min_seconds": "long"}, "min_seconds"),
])
def test_option_errors(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AudioCheck(**options)  # type: ignore[arg-type]
