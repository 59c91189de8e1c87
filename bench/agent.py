"""The agent run as a user runs it (`run --headless`, default config, a fresh ledger and log), timed and measured."""

from __future__ import annotations

import contextlib
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.common import AGENT, ROOT, clean_env, files_in
from bench.wired import Wired


@dataclass(frozen=True)
class Run:
    """One drain: wall seconds from launch to exit, and the CPU seconds the agent's process used (getrusage)."""

    seconds: float
    cpu: float


@contextlib.contextmanager
def agent_home(config: dict[str, Any], root: Path = ROOT) -> Iterator[tuple[Path, dict[str, str]]]:
    """A config file and fresh XDG folders (so a fresh ledger and log) for one run of the agent in checkout `root`."""
    home = Path(tempfile.mkdtemp(prefix="bench-agent-"))
    try:
        path = home / "config.yaml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        env = clean_env(XDG_DATA_HOME=str(home / "data"), XDG_STATE_HOME=str(home / "state"), XDG_CONFIG_HOME=str(home / "config"),
                        XDG_RUNTIME_DIR=str(home / "runtime"), PYTHONPATH=str(root))
        (home / "runtime").mkdir(mode=0o700)
        yield path, env
    finally:
        shutil.rmtree(home, ignore_errors=True)


def drain(wired: Wired, label: str, folder: Path, expected: int, prefix: Sequence[str] = (), root: Path = ROOT, **extra: Any) -> Run:
    """Announce the captured uploads, then time `run --headless --drain` from launch to exit. `prefix`: taskset, say;
    `root`: the checkout whose agent runs (another commit's, for an A/B)."""
    wired.announce(label)
    with agent_home(wired.agent_config(folder, **extra), root) as (config, env):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run([*prefix, *AGENT, "run", "--headless", "--config", str(config), "--drain"],
                              env=env, cwd=root, capture_output=True, text=True, timeout=900)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"the agent exited with {done.returncode}: {done.stderr[-2000:]}")
    got = len(files_in(folder))
    if got != expected:
        raise RuntimeError(f"the agent wrote {got} files, expected {expected}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return Run(elapsed, cpu)


class Agent:
    """The agent running in the background (`run --headless`, normal long polls), its log read as it goes."""

    def __init__(self, config: Path, env: dict[str, str], command: Sequence[str] = ("run", "--headless")) -> None:
        self.process = subprocess.Popen([*AGENT, *command, "--config", str(config)], env=env, cwd=ROOT,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.files = 0  # "Downloaded <key> ... -> <path>" lines so far: files in place
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:  # read to the end, so the agent never blocks on a full pipe
            with self._lock:
                self.lines.append(line)
                del self.lines[:-200]
                if "Downloaded " in line and " -> " in line:
                    self.files += 1

    def downloaded(self) -> int:
        with self._lock:
            return self.files

    def wait_for(self, text: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self._lock:
                if any(text in line for line in self.lines):
                    return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        with self._lock:
            tail = "".join(self.lines)[-1500:]
        raise RuntimeError(f"the agent did not say {text!r}: {tail}")

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
