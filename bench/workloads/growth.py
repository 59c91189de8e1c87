"""Memory over a long drain: the agent's RSS once the first files are in place and at the end of a 10,000-file drain."""

from __future__ import annotations

import math
import os
import subprocess
import time

from bench.agent import Agent, agent_home
from bench.common import clean_env, files_in, log
from bench.server import process_rss_mb
from bench.wired import Wired
from bench.workloads import Context

WARM_FILES = 100  # the "start" figure: once this many files are in place (the pipeline and its caches are built)


def growth(context: Context, count: int, size: int) -> None:
    log(f"RSS growth: a drain of {count} objects of {size} bytes")
    wired = Wired.create(context.server.endpoint)
    keys = [f"growth/{i:05d}.bin" for i in range(count)]
    if context.tools.s5cmd.exists():  # fast: s5cmd uploads a local folder; the server sends the notifications
        local = context.fresh("growth-source")
        block = os.urandom(size)
        for key in keys:
            (local / key.rsplit("/", 1)[1]).write_bytes(block)
        subprocess.run([str(context.tools.s5cmd), "--endpoint-url", wired.endpoint, "cp", f"{local}/", f"s3://{wired.bucket}/growth/"],
                       env=clean_env(), check=True, capture_output=True, timeout=900)
        wired.bodies["growth"] = [b for b in wired.take_all(count) if '"Records"' in b]
    else:
        wired.capture("growth", keys, os.urandom(size))
    folder = context.fresh("growth")
    samples: list[tuple[int, float]] = []
    wired.announce("growth")
    with agent_home(wired.agent_config(folder)) as (config, env):
        running = Agent(config, env, ("run", "--headless", "--drain"))
        try:
            while running.process.poll() is None:
                try:
                    rss = process_rss_mb(running.process.pid)
                except OSError:
                    break
                if not math.isnan(rss):  # once the process is exiting, /proc no longer says
                    samples.append((running.downloaded(), rss))
                time.sleep(0.1)
        finally:
            running.stop()
    got = len(files_in(folder))
    if got != count:
        raise RuntimeError(f"the agent wrote {got} files, expected {count}")
    start = next(rss for files, rss in samples if files >= WARM_FILES)
    end = [rss for files, rss in samples if files >= count * 0.95][-1]
    along = {f"{q}%": next(rss for files, rss in samples if files >= count * q / 100) for q in (25, 50, 75)}
    context.results["growth"] = {"count": count, "size": size, "start_mb": start, "end_mb": end, "along_mb": along,
                                 "max_mb": max(rss for _, rss in samples), "warm_files": WARM_FILES}
    log(f"  RSS {start:.0f} MB after {WARM_FILES} files, {end:.0f} MB at the end, {context.results['growth']['max_mb']:.0f} MB at most")
