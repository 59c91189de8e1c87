"""The log file: one cheap line per file, rotated at its size limit, every file readable by the user only."""

from __future__ import annotations

import logging
from pathlib import Path

from agent import logs


def test_the_log_rotates_at_its_limit_counting_what_it_wrote(tmp_path: Path) -> None:
    folder = tmp_path / "log"
    folder.mkdir()
    path = folder / "agent.log"
    path.write_text("x" * 900, encoding="utf-8")  # an earlier run's lines count too
    handler = logs.PrivateRotatingFileHandler(path, maxBytes=1000, backupCount=2, encoding="utf-8")
    handler.setFormatter(logs.SecondsFormatter(logs.FORMAT))
    record = logging.LogRecord("agent.engine.objects", logging.INFO, __file__, 1, "Downloaded %s", ("take 01.wav",), None)
    try:
        for _ in range(30):
            handler.emit(record)
    finally:
        handler.close()
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["agent.log", "agent.log.1", "agent.log.2"]
    assert all(p.stat().st_size <= 1000 for p in folder.iterdir())
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in folder.iterdir())
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines and all(line.endswith("INFO    agent.engine.objects: Downloaded take 01.wav") for line in lines)


def test_each_line_has_its_own_milliseconds(tmp_path: Path) -> None:
    formatter = logs.SecondsFormatter(logs.FORMAT)
    first = logging.LogRecord("agent", logging.INFO, __file__, 1, "one", (), None)
    second = logging.LogRecord("agent", logging.INFO, __file__, 1, "two", (), None)
    first.created, first.msecs = 1_700_000_000.123, 123
    second.created, second.msecs = 1_700_000_000.456, 456
    assert formatter.format(first).split()[1].endswith(",123") and formatter.format(second).split()[1].endswith(",456")
    assert formatter.format(first).split()[:2][0] == formatter.format(second).split()[0]


def test_hidden_characters_are_escaped_and_a_line_break_cannot_start_a_record() -> None:
    """A key is chosen by whoever uploads: its ANSI escapes, bidi overrides and line breaks must not reach the log as
    they are (a forged record, a rewritten terminal, a name shown backwards)."""
    formatter = logs.SecondsFormatter(logs.FORMAT)
    key = "evil\u202egnp.wav\n2026-11-28 14:30:00,000 ERROR   agent: forged\x1b[2J\x9b\ud800"
    record = logging.LogRecord("agent.engine.objects", logging.INFO, __file__, 1, "Downloaded %s", (key,), None)
    line = formatter.format(record)
    assert "evil\\u202egnp.wav" in line and "\\x1b[2J\\x9b\\ud800" in line
    first, second = line.split("\n")
    assert first.endswith("Downloaded evil\\u202egnp.wav")
    assert second.startswith("    2026-11-28"), "the next line is indented: it can never pass for a record"
    line.encode("utf-8")
    plain = logging.LogRecord("a", logging.INFO, __file__, 1, "tab\there, نامه\u200cها", (), None)
    assert formatter.format(plain).endswith("tab\there, نامه\u200cها")
