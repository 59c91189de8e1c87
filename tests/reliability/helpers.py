"""Shared helpers for the fault tests: an in-process engine that records its events, and the three final checks."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agent import config as config_module
from agent.engine.engine import Engine
from agent.engine.events import Downloaded, NeedsUser, State, StateChanged
from agent.engine.ledger import Ledger
from agent.engine.paths import is_temp_name
from agent.plugins.manager import PluginHost
from tests.aws import Setup
from tests.helpers import files_under, wait_until

wait_for = wait_until


class LogCounter(logging.Handler):
    """Counts log records whose message contains a given text (to prove backoff: no busy loop)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[str] = []
        self._lock2 = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock2:
            self.records.append(record.getMessage())

    def count(self, text: str) -> int:
        with self._lock2:
            return sum(text in message for message in self.records)


@dataclass
class Running:
    """An engine running in this process, with every event it published."""

    engine: Engine
    events: list[Any] = field(default_factory=list)
    log: LogCounter = field(default_factory=LogCounter)

    def states(self) -> list[State]:
        return [e.state for e in list(self.events) if isinstance(e, StateChanged)]

    def of(self, kind: type) -> list[Any]:
        return [e for e in list(self.events) if isinstance(e, kind)]

    def downloaded(self) -> int:
        return len(self.of(Downloaded))

    def needs_user(self) -> list[NeedsUser]:
        return self.of(NeedsUser)

    def stop(self) -> None:
        self.engine.stop(grace=5)
        self.engine.ledger.close()
        logging.getLogger().removeHandler(self.log)


def start_engine(data: dict[str, Any], tmp_path: Path, *, drain: bool = False) -> Running:
    """Write `data` as a config file, load it as the agent does, and start an engine on it."""
    path = tmp_path / f"config-{time.monotonic_ns()}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    config = config_module.load(path)
    engine = Engine(config, Ledger(tmp_path / "ledger.sqlite3"), hooks=PluginHost, drain=drain)
    running = Running(engine)
    engine.subscribe(running.events.append)
    root = logging.getLogger()
    root.addHandler(running.log)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    engine.start()
    return running


def temp_files(folder: Path) -> list[str]:
    return [str(p) for p in folder.rglob("*") if is_temp_name(p.name)] if folder.exists() else []


def assert_final(out: Path, expected: dict[str, bytes], aws: Setup, *, dead: int = 0, timeout: float = 30.0) -> None:
    """The three checks every fault test ends with: files exact, nothing partial or doubled, no message stuck."""
    assert temp_files(out) == [], "temporary files were left behind"
    found = files_under(out) if out.exists() else {}
    assert sorted(found) == sorted(expected), f"missing: {sorted(set(expected) - set(found))[:5]}, extra: {sorted(set(found) - set(expected))[:5]}"
    wrong = [name for name, data in expected.items() if found[name] != data]
    assert wrong == [], f"content differs: {wrong[:5]}"
    wait_for(lambda: aws.counts() == (0, 0), timeout, what=f"an empty queue (now {aws.counts()})")
    assert len(aws.dlq_messages()) == dead


def random_files(count: int, prefix: str, rng: Any, low: int = 200, high: int = 20_000) -> dict[str, bytes]:
    return {f"{prefix}/{i:03d} take.wav": rng.randbytes(rng.randint(low, high)) for i in range(count)}
