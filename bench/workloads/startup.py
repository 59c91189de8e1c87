"""Cold start: from launching `run --headless --drain` on an empty queue to its first receive reaching the server
(through a counting proxy), and to its exit; with the CPU the start-up costs."""

from __future__ import annotations

import contextlib
import resource
import subprocess
import time

from bench.agent import agent_home
from bench.common import AGENT, ROOT, log, summary
from bench.proxy import CountingProxy
from bench.wired import Wired
from bench.workloads import Context


def first_receive(context: Context) -> None:
    log("Cold start: launch to first receive")
    wired = Wired.create(context.server.endpoint)
    to_receive: list[float] = []
    to_exit: list[float] = []
    cpu: list[float] = []
    for index in range(max(5, context.runs)):
        folder = context.fresh(f"startup-{index}")
        with contextlib.closing(CountingProxy(context.server.port)) as proxy, \
                agent_home(wired.agent_config(folder, endpoint=proxy.endpoint)) as (config, env):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = subprocess.run([*AGENT, "run", "--headless", "--config", str(config), "--drain"], env=env, cwd=ROOT,
                                  capture_output=True, text=True, timeout=120)
            to_exit.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if done.returncode != 0 or proxy.first_receive is None:
                raise RuntimeError(f"the agent exited with {done.returncode} without receiving: {done.stderr[-1500:]}")
            to_receive.append(proxy.first_receive - start)
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        log(f"  run {index + 1}: first receive after {to_receive[-1] * 1000:.0f} ms, exit after {to_exit[-1]:.2f} s")
    context.results["cold_start"] = {"first_receive": summary(to_receive), "exit": summary(to_exit), "cpu_seconds": summary(cpu)}
