"""The workloads, one module per table; each takes the shared Context and writes its figures into `context.results`."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import log
from bench.server import Ministack
from bench.tools import Tools


@dataclass
class Context:
    server: Ministack
    tools: Tools
    runs: int
    work: Path
    options: Any  # the command line's settings (sizes, durations)
    results: dict[str, Any] = field(default_factory=dict)

    def fresh(self, name: str) -> Path:
        folder = self.work / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder

    def timed_runs(self, what: str, run: Callable[[Path], float], runs: int | None = None) -> list[float]:
        """`run(empty folder)` seconds, `runs` times (default: the --runs setting), each in a new folder."""
        times = []
        for index in range(runs or self.runs):
            folder = self.fresh(f"dest-{uuid.uuid4().hex[:6]}")
            try:
                times.append(run(folder))
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            log(f"  {what} run {index + 1}: {times[-1]:.2f} s")
        return times
