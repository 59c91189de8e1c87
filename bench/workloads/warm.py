"""Warm throughput, the figure a user lives with: the agent already runs, idle on normal 20 s long polls, and N
notifications arrive at once. Timed from the first send to the last file in place (its "Downloaded" line)."""

from __future__ import annotations

import shutil
import time

from bench.agent import Agent, agent_home
from bench.common import MiB, files_in, log, summary
from bench.wired import Wired
from bench.workloads import Context
from bench.workloads.copy import upload


def warm(context: Context, key: str, count: int, size: int) -> None:
    log(f"Warm throughput {key}: {count} notifications at once to an agent idle on long polls")
    wired = Wired.create(context.server.endpoint)
    upload(context, wired, key, [f"{key}/{i:05d}.bin" for i in range(count)], size)
    times: list[float] = []
    for index in range(context.runs):
        folder = context.fresh(f"warm-{key}-{index}")
        wired = wired.on_new_queue()  # the agent stopped after the run before may still hold a long poll on the old one
        with agent_home(wired.agent_config(folder)) as (config, env):
            running = Agent(config, env)
            try:
                running.wait_for("Watching", 60)
                time.sleep(2.0)  # the first long poll is out: the agent is idle, as it is most of its life
                start = time.perf_counter()
                wired.announce(key)
                deadline = start + 600
                while running.downloaded() < count:
                    if time.perf_counter() > deadline or running.process.poll() is not None:
                        raise RuntimeError(f"only {running.downloaded()} of {count} files arrived")
                    time.sleep(0.01)
                times.append(time.perf_counter() - start)
            finally:
                running.stop()
        got = len(files_in(folder))
        shutil.rmtree(folder, ignore_errors=True)
        if got != count:
            raise RuntimeError(f"the agent wrote {got} files, expected {count}")
        log(f"  run {index + 1}: {times[-1]:.2f} s, {count / times[-1]:.0f} files/s")
    context.results.setdefault("warm", {})[key] = {"count": count, "size": size, "seconds": summary(times),
                                                   "files_per_s": summary([count / t for t in times]),
                                                   "mib_per_s": summary([count * size / MiB / t for t in times])}
