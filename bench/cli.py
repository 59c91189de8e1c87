"""`python -m bench` (what `make bench` runs): start the server, run the workloads, print and record the tables."""

from __future__ import annotations

import argparse
import compileall
import datetime as dt
import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.common import BENCH, ROOT, KiB, MiB, log
from bench.report import plot, render, update_doc
from bench.server import Ministack
from bench.tools import Tools
from bench.workloads import Context
from bench.workloads.bucket import bucket_size
from bench.workloads.copy import copy
from bench.workloads.cores import cores
from bench.workloads.growth import growth
from bench.workloads.idle import idle
from bench.workloads.latency import latency
from bench.workloads.startup import first_receive
from bench.workloads.warm import warm

DEFAULT = ["small", "audio8", "audio64", "warm", "startup", "cores", "growth", "latency", "bucket", "idle"]


def workloads(options: argparse.Namespace) -> dict[str, Callable[[Context], None]]:
    small, audio, long = (options.small, 64 * KiB), (options.audio, options.audio_mib * MiB), (options.long, options.long_mib * MiB)
    return {
        "small": lambda c: copy(c, "small", *small, server_ceilings=True),
        "audio8": lambda c: copy(c, "audio8", *audio, tool_names=("s5cmd", "s5cmd+fsync")),
        "audio64": lambda c: copy(c, "audio64", *long, tool_names=("s5cmd", "s5cmd+fsync")),
        "large": lambda c: copy(c, "large", 1, options.large_mib * MiB, server_ceilings=True),
        "warm": lambda c: (warm(c, "small", *small), warm(c, "audio8", *audio)),
        "startup": first_receive,
        "cores": lambda c: cores(c, *small),
        "growth": lambda c: growth(c, options.growth_files, 4 * KiB),
        "latency": latency,
        "bucket": bucket_size,
        "idle": idle,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--tools", type=Path, default=BENCH / ".tools", help="the venv holding ministack, s5cmd and the AWS CLI")
    parser.add_argument("--port", type=int, default=14566, help="the server's port (below 32768, outside the ephemeral range)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--small", type=int, default=1000, help="objects of 64 KiB in the small-files workload")
    parser.add_argument("--audio", type=int, default=200, help="objects in the audio-sized workload")
    parser.add_argument("--audio-mib", type=int, default=8)
    parser.add_argument("--long", type=int, default=20, help="objects in the long-recordings workload")
    parser.add_argument("--long-mib", type=int, default=64)
    parser.add_argument("--large-mib", type=int, default=512, help="the one large file (--only large)")
    parser.add_argument("--growth-files", type=int, default=10_000, help="files in the RSS growth drain")
    parser.add_argument("--latency-seconds", type=float, default=20.0, help="per run; 3 runs of 20 s give 300 samples at 5/s")
    parser.add_argument("--latency-rate", type=float, default=5.0)
    parser.add_argument("--bucket-others", type=int, default=10_000)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--only", nargs="*", choices=[*DEFAULT, "large"], help=f"run only these (default: {' '.join(DEFAULT)})")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/performance.md")
    options = parser.parse_args(argv)
    if not 1024 <= options.port < 32768:
        parser.error("--port must be below 32768 (the ephemeral range starts there)")
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    tools = Tools(options.tools.resolve())
    # An installed agent runs from the bytecode pip compiled at install time. This checkout is installed in editable
    # mode, and where PYTHONDONTWRITEBYTECODE is set each launch would compile every module of the agent again.
    compileall.compile_dir(ROOT / "agent", quiet=1)
    server = Ministack(tools.folder, options.port)
    context = Context(server, tools, options.runs, work, options)
    from agent.engine import crt

    context.results["meta"] = {"date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"), "machine": machine(),
                               "server": "ministack 1.5.33 on 127.0.0.1", "runs": options.runs,
                               "load": " ".join(f"{x:.2f}" for x in os.getloadavg()), "download_path": crt.describe(None)}
    started = time.monotonic()
    chosen = workloads(options)
    try:
        for name in options.only or DEFAULT:
            chosen[name](context)
        context.results["meta"]["server_cpu_seconds"] = server.cpu_seconds()
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    context.results["meta"]["bench_seconds"] = time.monotonic() - started
    (BENCH / "results.json").write_text(json.dumps(context.results, indent=2), encoding="utf-8")
    table = render(context.results)
    print(table)
    if not options.no_doc:
        update_doc(table)
    if plot(context.results, BENCH / "results.png"):
        log("Wrote bench/results.png")
    log(f"Done in {time.monotonic() - started:.0f} s; bench/results.json" + ("" if options.no_doc else ", docs/performance.md"))
    return 0


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "?") \
        if Path("/proc/cpuinfo").exists() else platform.processor()
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"
