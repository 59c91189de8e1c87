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
