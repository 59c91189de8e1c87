"""4. Bucket size: two buckets announcing the same uploads, one also holding many other objects, drained in turn;
what the agent asked of the server (a listing would show), and the server's own GET time in each."""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import uuid
from typing import Any

from bench import agent
from bench.ceilings import timed_gets
from bench.common import KiB, clean_env, log, summary
from bench.proxy import CountingProxy
from bench.wired import Wired
from bench.workloads import Context


def bucket_size(context: Context) -> None:
    n, others = 200, context.options.bucket_others
    log(f"Bucket size: {n} notifications, bucket with 0 and {others} other objects")
    keys = [f"notes/{i:04d}.bin" for i in range(n)]
    buckets = {"empty": Wired.create(context.server.endpoint), "full": Wired.create(context.server.endpoint)}
    for wired in buckets.values():
        wired.capture("notes", keys, os.urandom(64 * KiB))
    buckets["full"].notifications_off()
    seed_objects(context, buckets["full"], "others/", others)
    times: dict[str, list[float]] = {"empty": [], "full": []}
    for index in range(max(context.runs, 5)):  # about a second each: more runs cost little and steady the ratio
        for label, wired in buckets.items():
            folder = context.fresh(f"dest-{uuid.uuid4().hex[:6]}")
            times[label].append(agent.drain(wired, "notes", folder, n).seconds)
            shutil.rmtree(folder, ignore_errors=True)
        log(f"  run {index + 1}: {times['empty'][-1]:.2f} s with no other objects, {times['full'][-1]:.2f} s with {others}")
    requests: dict[str, Any] = {}
    server_get: dict[str, Any] = {}
    for label, wired in buckets.items():
        with contextlib.closing(CountingProxy(context.server.port)) as proxy:
            folder = context.fresh(f"dest-{uuid.uuid4().hex[:6]}")
            agent.drain(wired, "notes", folder, n, endpoint_url=proxy.endpoint)
            shutil.rmtree(folder, ignore_errors=True)
            requests[label] = {"all": proxy.requests, "listings": proxy.listings}
        server_get[label] = summary([timed_gets(wired, keys) for _ in range(context.runs)])
    context.results["bucket"] = {"notifications": n, "others": others, "runs": len(times["empty"]),
                                 "empty": summary(times["empty"]), "full": summary(times["full"]),
                                 "ratio": statistics.median(times["full"]) / statistics.median(times["empty"]),
                                 "requests": requests, "server_get_seconds": server_get,
                                 "server_ratio": server_get["full"]["median"] / server_get["empty"]["median"]}


def seed_objects(context: Context, wired: Wired, prefix: str, count: int) -> None:
    """`count` tiny objects, uploaded quickly (s5cmd from a local folder, else boto3 threads)."""
    if context.tools.s5cmd.exists():
        local = context.fresh("seed")
        for i in range(count):
            (local / f"{i:05d}.txt").write_bytes(b"x")
        subprocess.run([str(context.tools.s5cmd), "--endpoint-url", wired.endpoint, "cp", f"{local}/", f"s3://{wired.bucket}/{prefix}"],
                       env=clean_env(), check=True, capture_output=True, timeout=600)
        shutil.rmtree(local, ignore_errors=True)
    else:
        wired.upload([f"{prefix}{i:05d}.txt" for i in range(count)], b"x", threads=32)
    listed = sum(page.get("KeyCount", 0) for page in wired.s3.get_paginator("list_objects_v2").paginate(Bucket=wired.bucket, Prefix=prefix))
    if listed != count:
        raise RuntimeError(f"seeded {listed} of {count} objects")
