"""Copy workloads (1. small files, 2. audio-sized files, and one large file): the agent drains the notifications of
N uploads; the tools copy the same objects with no queue involved. Also the agent's CPU per file and its start-up."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import agent, ceilings, tools
from bench.common import KiB, MiB, clean_env, log, summary
from bench.wired import Wired
from bench.workloads import Context


def copy(context: Context, key: str, count: int, size: int, tool_names: Sequence[str] = tools.NAMES, server_ceilings: bool = False) -> None:
    """`count` objects of `size` bytes under prefix `key`/, drained by the agent and copied by each tool."""
    log(f"Copy {key}: {count} objects of {_size(size)}")
    wired = Wired.create(context.server.endpoint)
    keys = [f"{key}/{i:05d}.bin" for i in range(count)]
    upload(context, wired, key, keys, size)
    rows: dict[str, Any] = {}
    cpu: list[float] = []

    def agent_run(dest: Path) -> float:
        run = agent.drain(wired, key, dest, count)
        cpu.append(run.cpu)
        return run.seconds

    rows["agent"] = _row(context.timed_runs("agent", agent_run), count, size)
    rows["agent"]["cpu_seconds"] = summary(cpu)
    startup(context, wired)
    source, recursive = (f"{key}/", True) if count > 1 else (keys[0], False)
    for tool in tool_names:
        why = context.tools.unavailable()[tool]
        if why:
            rows[tool] = {"error": why}
            continue

        def tool_run(dest: Path, tool: str = tool) -> float:
            return tools.run_tool(tool, context.tools, wired, source, dest, recursive, count)

        rows[tool] = _row(context.timed_runs(tool, tool_run), count, size)
    result: dict[str, Any] = {"count": count, "size": size, "tools": rows, "ceilings": {}}
    if server_ceilings:
        result["ceilings"] = _ceilings(context, wired, key, keys, count, size)
    disk = context.timed_runs("disk: write + fsync, 8 threads", lambda dest: ceilings.durable_write(dest, count, size))
    result["disk"] = _row(disk, count, size)
    context.results.setdefault("copy", {})[key] = result


def startup(context: Context, wired: Wired) -> None:
    """The agent's fixed cost in those wall times: `run --headless --drain` on an empty queue, launch to exit."""
    if "startup" in context.results:
        return
    wired.bodies["empty"] = []
    cpu: list[float] = []

    def empty(dest: Path) -> float:
        run = agent.drain(wired, "empty", dest, 0)
        cpu.append(run.cpu)
        return run.seconds

    context.results["startup"] = {"seconds": summary(context.timed_runs("agent, empty queue", empty)), "cpu_seconds": summary(cpu)}


def _row(times: list[float], count: int, size: int) -> dict[str, Any]:
    return {"seconds": summary(times), "files_per_s": summary([count / t for t in times]),
            "mib_per_s": summary([count * size / MiB / t for t in times])}


def upload(context: Context, wired: Wired, key: str, keys: list[str], size: int) -> None:
    if size < 4 * MiB:
        wired.capture(key, keys, os.urandom(size))
        return
    local = context.fresh(f"source-{key}")  # big objects: s5cmd uploads from disk; the notifications are captured after
    block = os.urandom(size)
    for name in keys:
        (local / Path(name).name).write_bytes(block)
    if context.tools.s5cmd.exists():
        subprocess.run([str(context.tools.s5cmd), "--endpoint-url", wired.endpoint, "cp", f"{local}/", f"s3://{wired.bucket}/{key}/"],
                       env=clean_env(), check=True, capture_output=True, timeout=900)
    else:
        for name in keys:
            wired.s3.upload_file(str(local / Path(name).name), wired.bucket, name)
    for path in local.iterdir():
        path.unlink()
    wired.bodies[key] = [b for b in wired.take_all(len(keys)) if '"Records"' in b]


def _ceilings(context: Context, wired: Wired, key: str, keys: list[str], count: int, size: int) -> dict[str, Any]:
    def curl(parallel: int) -> float:
        folder = context.fresh("curl")
        return ceilings.curl_many(wired, keys, folder, parallel)

    if count == 1:
        return {"curl, one stream, MiB/s": summary([size / MiB / curl(1) for _ in range(context.runs)])}
    return {"boto3 receive+delete loop, msg/s": summary([ceilings.boto3_queue_ceiling(wired, key) for _ in range(context.runs)]),
            "curl, 8 connections, files/s": summary([count / curl(8) for _ in range(context.runs)])}


def _size(size: int) -> str:
    return f"{size // MiB} MiB" if size >= MiB else f"{size // KiB} KiB"
