"""How cost grows with cores: the small-files drain with the agent on one core (taskset) against both, alternating."""

from __future__ import annotations

import os
import shutil

from bench import agent
from bench.common import log, summary
from bench.wired import Wired
from bench.workloads import Context


def cores(context: Context, count: int, size: int) -> None:
    if not shutil.which("taskset") or (os.cpu_count() or 1) < 2:
        context.results["cores"] = {"error": "needs taskset and two cores"}
        return
    log(f"One core against two: {count} objects of {size // 1024} KiB, alternating")
    wired = Wired.create(context.server.endpoint)
    wired.capture("cores", [f"cores/{i:05d}.bin" for i in range(count)], os.urandom(size))
    rates: dict[str, list[float]] = {"one": [], "two": []}
    for index in range(context.runs):
        for label, prefix in (("one", ["taskset", "-c", "0"]), ("two", [])):
            folder = context.fresh(f"cores-{label}-{index}")
            run = agent.drain(wired, "cores", folder, count, prefix=prefix)
            rates[label].append(count / run.seconds)
            shutil.rmtree(folder, ignore_errors=True)
        log(f"  run {index + 1}: {rates['one'][-1]:.0f} files/s on one core, {rates['two'][-1]:.0f} on two")
    context.results["cores"] = {"count": count, "size": size, "one": summary(rates["one"]), "two": summary(rates["two"])}
