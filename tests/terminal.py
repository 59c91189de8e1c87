"""`s3-sqs-agent` in a real terminal for the tests: a pseudo-terminal of a given width, read as a person reads it
(waiting for a prompt before typing), so that what is interactive (prompts, wrapping, hidden input) is what is tested."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time
from collections.abc import Mapping

from tests.helpers import ROOT

_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class TerminalSession:
    """One command in a pty of `columns` x 40. `expect(text)` waits for text to appear, `answer(line)` types a line."""

    def __init__(self, *args: str, env: Mapping[str, str] | None = None, columns: int = 80) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the agent, with the pty as its terminal
            os.chdir(ROOT)
            os.execve(sys.executable, [sys.executable, "-m", "agent", *args], {**(env or os.environ), "TERM": "dumb"})
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
        self.output = ""
        self._read_upto = 0  # expect() looks only at what came after the previous match
        self.returncode: int | None = None

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            chunk = b""
        if not chunk:
            self._reap()
            return False
        self.output += _ESCAPES.sub("", chunk.decode("utf-8", "replace")).replace("\r\n", "\n")
        return True

    def _reap(self) -> None:
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)

    def expect(self, text: str, timeout: float = 60) -> str:
        """Wait until `text` appears after the last thing expected; returns the output up to the end of it."""
        deadline = time.monotonic() + timeout
        while True:
            index = self.output.find(text, self._read_upto)
            if index >= 0:
                self._read_upto = index + len(text)
                return self.output[:self._read_upto]
            if self.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared in the terminal; it shows:\n{self.output[-4000:]}")
            self._read(min(0.5, max(0.0, deadline - time.monotonic())))

    def answer(self, line: str, after: str | None = None) -> None:
        """Type `line` and Enter, once `after` (a prompt) is on the screen."""
        if after is not None:
            self.expect(after)
        os.write(self.fd, line.encode("utf-8") + b"\r")

    def wait(self, timeout: float = 120) -> int:
        """Read to the end; the exit code."""
        deadline = time.monotonic() + timeout
        while self.returncode is None:
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                self._reap()
                raise AssertionError(f"the command did not finish; the terminal shows:\n{self.output[-4000:]}")
            if not self._read(0.5) and self.returncode is None:
                try:
                    pid, status = os.waitpid(self.pid, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        while self._read(0.1):
            pass
        os.close(self.fd)
        assert self.returncode is not None
        return self.returncode
