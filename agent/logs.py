"""Logging to the platform's log folder, and to the terminal when there is one (a windowed build has none)."""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import sys
import time
from pathlib import Path

from agent import dirs
from agent.hidden_chars import escape_hidden

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
CONSOLE_FORMAT = "%(asctime)s %(levelname)-7s %(message)s"


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose every file, including each new one after a rollover, is readable by the user only.

    Cheap per line, as the agent writes one per file: it counts the bytes it writes instead of stat-ing the file, seeking
    and formatting each record twice as the standard handler does (the size is read again from the file now and then,
    in case another process appended)."""

    RESYNC_EVERY = 256  # lines between two looks at the file's real size

    def __init__(self, *args: object, **kwargs: object) -> None:
        self._size = 0  # what the file holds: read when it is opened, then counted
        self._since_resync = 0
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        if os.name != "nt":
            os.fchmod(fd, 0o600)  # a file left by an older version may be wider
        self._size = os.fstat(fd).st_size
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
            stream: io.TextIOWrapper | None = self.stream  # None before the first line when opened with delay=True
            if stream is None:
                stream = self.stream = self._open()
            self._since_resync += 1
            if self._since_resync >= self.RESYNC_EVERY:
                self._since_resync = 0
                self._size = os.fstat(stream.fileno()).st_size
            if self.maxBytes > 0 and self._size + len(line) >= self.maxBytes and self._size > 0:
                self.doRollover()  # opens the next file; _open() reads its size
                stream = self.stream or self._open()
            stream.write(line)
            self.flush()
            self._size += len(line)
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - logging must never stop the agent: the standard handler's own policy
            self.handleError(record)


class SecondsFormatter(logging.Formatter):
    """A formatter that renders each second's timestamp once, not once per line, and writes the hidden characters of a
    message (a key's controls, ANSI escapes, bidi overrides: agent/hidden_chars.py) as escapes. A line break in a
    message is kept but indents the next line, so a key can never start a line that looks like a record of its own."""

    def __init__(self, fmt: str, datefmt: str | None = None) -> None:
        super().__init__(fmt, datefmt)
        self._second = -1
        self._text = ""

    def formatMessage(self, record: logging.LogRecord) -> str:  # logging's own name
        record.message = escape_hidden(record.message, keep="\t\n").replace("\n", "\n    ")
        return super().formatMessage(record)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # logging's own name
        second = int(record.created)
        if second != self._second:
            self._second, self._text = second, time.strftime(self.datefmt or self.default_time_format, self.converter(record.created))
        return self._text if self.datefmt else (self.default_msec_format or "%s,%03d") % (self._text, record.msecs)


def log_file() -> Path:
    return dirs.log_dir() / "agent.log"


def setup(level: str = "INFO", console: bool = True) -> Path | None:
    """Send logs to a rotating file (readable by the user only) and, when present, to stderr."""
    # The formats below use none of these: not collecting them makes every line cheaper (no frame walk, no getpid()).
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None  # the documented way to skip finding the caller's file and line
    root = logging.getLogger()
    root.setLevel(level.upper())
    for handler in list(root.handlers):
        root.removeHandler(handler)
    path: Path | None = log_file()
    try:
        assert path is not None
        dirs.ensure_private_dir(path.parent)
        file_handler = PrivateRotatingFileHandler(path, maxBytes=5 * 1024 * 1024, backupCount=3, encoding="utf-8")
        file_handler.setFormatter(SecondsFormatter(FORMAT))
        root.addHandler(file_handler)
    except OSError as exc:
        path = None
        if sys.stderr is not None:
            print(f"warning: cannot write the log file ({exc}); logging to the terminal only", file=sys.stderr)
    if console and sys.stderr is not None:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(SecondsFormatter(CONSOLE_FORMAT, datefmt="%H:%M:%S"))
        root.addHandler(stream)
    for noisy in ("botocore", "boto3", "s3transfer", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path
