"""3. Latency: the agent on normal 20 s long polls; one 64 KiB upload every 1/rate s, each timed from the PUT's answer
to the file under its final name."""

from __future__ import annotations

import concurrent.futures as cf
import os
import shutil
import threading
import time
from pathlib import Path

from bench.agent import Agent, agent_home
from bench.common import KiB, log, percentile, summary
from bench.wired import Wired
from bench.workloads import Context


def latency(context: Context) -> None:
    rate, seconds = context.options.latency_rate, context.options.latency_seconds
    log(f"Latency: {rate:g} uploads/s for {seconds:g} s, {context.runs} runs")
    per_run: list[dict[str, float]] = []
    samples: list[float] = []
    for index in range(context.runs):
        wired = Wired.create(context.server.endpoint)
        folder = context.fresh(f"latency-{index}")
        with agent_home(wired.agent_config(folder)) as (config, env):
            running = Agent(config, env)
            try:
                running.wait_for("Watching", 60)
                time.sleep(1.0)  # the first long poll is out
                times = upload_and_watch(wired, folder, rate, seconds)
            finally:
                running.stop()
        shutil.rmtree(folder, ignore_errors=True)
        samples.extend(times)
        per_run.append({"p50": percentile(times, 0.5), "p95": percentile(times, 0.95), "count": len(times)})
        log(f"  run {index + 1}: p50 {per_run[-1]['p50'] * 1000:.0f} ms, p95 {per_run[-1]['p95'] * 1000:.0f} ms over {len(times)} files")
    context.results["latency"] = {"rate": rate, "seconds": seconds, "p50": summary([r["p50"] for r in per_run]),
                                  "p95": summary([r["p95"] for r in per_run]), "all_p50": percentile(samples, 0.5),
                                  "all_p95": percentile(samples, 0.95)}


def upload_and_watch(wired: Wired, folder: Path, rate: float, seconds: float) -> list[float]:
    """Upload one object every 1/rate s; for each, the time from its upload (the PUT's answer) to the file in place."""
    pending: dict[Path, float] = {}
    done: list[float] = []
    lock = threading.Lock()
    uploading = threading.Event()
    uploading.set()

    def watch() -> None:
        while uploading.is_set() or pending:
            now = time.perf_counter()
            with lock:
                items = list(pending.items())
            for path, started in items:
                if path.exists():
                    with lock:
                        pending.pop(path, None)
                    done.append(now - started)
                elif now - started > 30:
                    with lock:
                        pending.pop(path, None)
                    raise RuntimeError(f"{path.name} did not arrive within 30 s")
            time.sleep(0.002)

    watcher = cf.ThreadPoolExecutor(1)
    watching = watcher.submit(watch)
    data = os.urandom(64 * KiB)
    count = int(rate * seconds)
    start = time.perf_counter()
    try:
        for i in range(count):
            time.sleep(max(0.0, start + i / rate - time.perf_counter()))
            key = f"latency/{i:05d}.bin"
            wired.s3.put_object(Bucket=wired.bucket, Key=key, Body=data)
            with lock:
                pending[folder / key] = time.perf_counter()
    finally:
        uploading.clear()
        watching.result(timeout=60)
        watcher.shutdown()
    return done
