"""Shipped plugin `run-command`: runs a configured command (no shell, with a timeout) on each downloaded file."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import string
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from agent.api import ObjectEvent, PermanentFailure, hookimpl
from agent.config import Config

log = logging.getLogger(__name__)

PLACEHOLDERS = ("path", "name", "key", "bucket", "folder")
ON_FAILURE = ("retry", "give-up", "log")
MAX_TIMEOUT = 24 * 3600
LOGGED_LINES = 50
KILL_WAIT_SECONDS = 5.0


class CommandFailed(Exception):
    """The command exited with a non-zero code, timed out, or could not be started."""


class CommandCannotRun(Exception):
    """The command can never run for this object (its key holds a NUL): not worth a retry."""


class RunCommand:
    """`run-command`: after each download, runs `command` with the file's path, with no shell in between.

    Options:
      command: list[str]  the program and its arguments, e.g. ['ffmpeg', '-i', '{path}', '{path}.mp3'].
                          {path} {name} {key} {bucket} {folder} are filled in (write {{ and }} for braces);
                          without {path} anywhere, the path is added as the last argument.
      timeout: float      seconds before the command (and everything it started) is killed (default 300).
      on_failure: str     what a non-zero exit, a timeout or a command that cannot start means:
                          `retry` (default): a failed attempt; the message comes back with backoff, the command
                              runs again (the file is not downloaded again), and after max_attempts the
                              message is dead-lettered. The file stays where it is.
                          `give-up`: dead-letter the message at once. `log`: log it, and count the file as done.
      cwd: str            working folder (default: download_folder).
      env: dict           extra environment variables. The command also gets S3_SQS_AGENT_PATH, _KEY, _BUCKET.

    {name}, {key} and {bucket} can begin with `-`: put `--` before them for programs that take it ({path} is absolute).
    On Windows a batch file (.bat, .cmd) is refused as the program: cmd.exe would read a key's & and | as commands.
    """

    def __init__(self, command: list[str], timeout: float = 300, on_failure: str = "retry",
                 cwd: str | None = None, env: dict[str, str] | None = None) -> None:
        self.command = _command(command)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= MAX_TIMEOUT:
            raise ValueError(f"option 'timeout' must be a number of seconds from 0 to {MAX_TIMEOUT}, got {timeout!r}")
        self.timeout = float(timeout)
        if on_failure not in ON_FAILURE:
            raise ValueError(f"option 'on_failure' must be one of {', '.join(ON_FAILURE)}, got {on_failure!r}")
        self.on_failure = on_failure
        if cwd is not None and (not isinstance(cwd, str) or not cwd.strip()):
            raise ValueError(f"option 'cwd' must be a folder, got {cwd!r}")
        self.cwd = Path(os.path.expanduser(cwd)) if cwd else None
        if self.cwd is not None and not self.cwd.is_dir():
            raise ValueError(f"option 'cwd': {self.cwd} is not a folder")
        if env is not None and not isinstance(env, dict):
            raise ValueError(f"option 'env' must map names to strings, such as {{LANG: C.UTF-8}}, got {_kind(env)}")
        wrong = [str(name) for name, text in (env or {}).items() if not isinstance(name, str) or not isinstance(text, str)]
        if wrong:  # the names only: the values are often tokens, and this message reaches the log and a notification
            raise ValueError(f"option 'env' must map names to strings, such as {{LANG: C.UTF-8}}; not a string: {', '.join(wrong)}")
        with_nul = [name.replace("\0", "\\0") for name, text in (env or {}).items() if "\0" in name or "\0" in text]
        if with_nul:  # Popen would refuse it at every download, and the message would blame the key
            raise ValueError(f"option 'env': {', '.join(with_nul)} holds a NUL character, which no environment can carry")
        self.env = dict(env or {})
        self.program = self.command[0]
        self.label = f"run-command ({Path(self.program).name})"
        self.download_folder: Path | None = None
        self._running: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()  # several workers run commands at once

    @hookimpl
    def agent_startup(self, config: Config) -> None:
        self.download_folder = config.download_folder

    @hookimpl
    def agent_object_downloaded(self, event: ObjectEvent, path: Path) -> None:
        if not path.exists():
            log.info("%s: %s is gone (moved by an earlier plugin); not running the command", self.label, path)
            return
        try:
            self.run(event, path)
        except CommandCannotRun as exc:  # never for this object, however often it is tried
            if self.on_failure == "log":
                log.error("%s: %s; carrying on (on_failure: log)", self.label, exc)
                return
            raise PermanentFailure(f"{self.label}: {exc}") from None
        except CommandFailed as exc:
            if self.on_failure == "log":
                log.error("%s: %s; carrying on (on_failure: log)", self.label, exc)
            elif self.on_failure == "give-up":
                raise PermanentFailure(f"{self.label}: {exc}") from None
            else:
                raise

    @hookimpl
    def agent_shutdown(self) -> None:
        with self._lock:
            running = list(self._running)
        for process in running:
            log.warning("%s: stopping the command still running (pid %d)", self.label, process.pid)
            _kill(process)

    def argv(self, event: ObjectEvent, path: Path) -> list[str]:
        """The command line for one file: placeholders filled in, and the path added when no argument names it."""
        values = {"path": str(path), "name": path.name, "key": event.key, "bucket": event.bucket,
                  "folder": str(self.download_folder or path.parent)}
        argv = [argument.format_map(values) for argument in self.command]
        if not any("{path}" in argument for argument in self.command):
            argv.append(str(path))
        return argv

    def run(self, event: ObjectEvent, path: Path) -> None:
        argv = self.argv(event, path)
        environment = {**os.environ, **self.env, "S3_SQS_AGENT_PATH": str(path), "S3_SQS_AGENT_KEY": event.key,
                       "S3_SQS_AGENT_BUCKET": event.bucket}
        if any("\0" in text for text in (*argv, event.key, event.bucket)):  # Popen would raise ValueError: no command line carries one
            raise CommandCannotRun(f"the key {event.key!r} holds a NUL character, which no command line can carry")
        cwd = self.cwd or self.download_folder or path.parent
        try:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       cwd=cwd, env=environment, **_own_process_group())
        except OSError as exc:
            raise CommandFailed(f"cannot start {argv[0]!r}: {exc.strerror or exc}") from None
        with self._lock:
            self._running.add(process)
        try:
            try:
                output, _ = process.communicate(timeout=self.timeout)
                timed_out = False
            except subprocess.TimeoutExpired:
                _kill(process)
                output = _collect_after_kill(process)
                timed_out = True
        finally:
            with self._lock:
                self._running.discard(process)
        failed = timed_out or process.returncode != 0
        self._log_output(output, path, logging.WARNING if failed else logging.INFO)
        if timed_out:
            raise CommandFailed(f"{argv[0]} took longer than {self.timeout:g} s on {path.name} and was stopped")
        if process.returncode != 0:
            raise CommandFailed(f"{argv[0]} exited with code {process.returncode} on {path.name}")
        log.info("%s: done with %s", self.label, path.name)

    def _log_output(self, output: bytes, path: Path, level: int) -> None:
        lines = output.decode("utf-8", "replace").splitlines()
        if len(lines) > LOGGED_LINES:
            log.log(level, "%s: %s: (%d earlier lines of output not shown)", self.label, path.name, len(lines) - LOGGED_LINES)
            lines = lines[-LOGGED_LINES:]
        for line in lines:
            log.log(level, "%s: %s: %s", self.label, path.name, line[:2000])


def _command(value: Any, windows: bool = sys.platform == "win32") -> list[str]:
    """The command with its program found on PATH. Errors name the program and the arguments' positions, never the
    other arguments: they can hold a password (`-u admin:…`), and the message reaches the log and a notification."""
    if isinstance(value, str):
        raise ValueError("option 'command' must be a list of arguments, such as ['ffmpeg', '-i', '{path}', 'out.mp3']; "
                         "no shell is used, so one string cannot be split safely")
    if not isinstance(value, list) or not value:
        raise ValueError(f"option 'command' must be a non-empty list of strings, such as ['echo', '{{path}}'], got {_kind(value)}")
    wrong = [str(index + 1) for index, argument in enumerate(value) if not isinstance(argument, str)]
    if wrong or not value[0].strip():
        raise ValueError("option 'command' must be a non-empty list of strings, such as ['echo', '{path}']; "
                         + (f"not a string: argument {', '.join(wrong)}" if wrong else "the program is empty"))
    with_nul = [str(number) for number, argument in enumerate(value, start=1) if "\0" in argument]
    if with_nul:  # Popen would refuse it at every download, and the message would blame the key
        raise ValueError(f"option 'command': argument {', '.join(with_nul)} holds a NUL character, which no command line can carry")
    for number, argument in enumerate(value, start=1):
        try:
            fields = [field for _, field, _, _ in string.Formatter().parse(argument) if field is not None]
        except ValueError as exc:
            raise ValueError(f"option 'command': argument {number} is not valid ({exc}); write {{{{ and }}}} for braces") from None
        for field in fields:
            if field not in PLACEHOLDERS:
                raise ValueError(f"option 'command': unknown placeholder {{{field}}} in argument {number}; "
                                 f"the placeholders are {', '.join('{' + p + '}' for p in PLACEHOLDERS)}")
    if "{" in value[0]:
        raise ValueError("option 'command': the program itself cannot contain a placeholder")
    program = shutil.which(os.path.expanduser(value[0]))
    if program is None:
        raise ValueError(f"option 'command': the program {value[0]!r} was not found (not on PATH, or not executable)")
    if windows and _runs_through_cmd(program):
        raise ValueError(f"option 'command': {Path(program).name} runs through cmd.exe, which reads & | < > ^ % in a file's "
                         "name as commands of its own, so a key could run any program. Run a program (an .exe), or a "
                         "PowerShell script: ['powershell', '-NoProfile', '-File', 'script.ps1', '{path}']")
    return [program, *value[1:]]


def _runs_through_cmd(program: str) -> bool:
    """Windows runs a batch file (and cmd itself) through cmd.exe, whose quoting list2cmdline does not escape (as
    Python's subprocess documentation warns): a key such as `x" & calc & "y.wav` would run calc."""
    name = Path(program.replace("\\", "/")).name.lower()
    return name.endswith((".bat", ".cmd")) or name in ("cmd", "cmd.exe")


def _kind(value: Any) -> str:
    """What a value is, without what it holds."""
    if isinstance(value, list):
        return f"a list of {len(value)}" if value else "an empty list"
    return {str: "a string", dict: "a mapping", bool: "yes/no", int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _own_process_group() -> dict[str, Any]:
    """Start the command in its own process group, so a timeout can stop whatever it started as well."""
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP | getattr(subprocess, "CREATE_NO_WINDOW", 0)}
    return {"start_new_session": True}


def _kill(process: subprocess.Popen[bytes]) -> None:
    try:
        if sys.platform == "win32":
            process.kill()
        else:
            os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass


def _collect_after_kill(process: subprocess.Popen[bytes]) -> bytes:
    try:
        output, _ = process.communicate(timeout=KILL_WAIT_SECONDS)
        return output or b""
    except subprocess.TimeoutExpired:  # something still holds the pipe open: stop reading, keep the worker free
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
        return b""
