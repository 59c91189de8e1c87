"""The reference tools (s5cmd, rclone, the AWS CLI), copying the same objects with no queue involved."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import KEY_ID, REGION, SECRET, clean_env, files_in
from bench.wired import Wired

NAMES = ("s5cmd", "s5cmd+fsync", "rclone", "aws")
FSYNCED = "+fsync"  # the tool, then every file it wrote and its folder fsynced: what the agent does before a delete


@dataclass
class Tools:
    folder: Path  # the tools' venv

    @property
    def s5cmd(self) -> Path:
        return self.folder / "bin" / "s5cmd"

    @property
    def aws(self) -> Path:
        return self.folder / "bin" / "aws"

    @staticmethod
    def rclone() -> str | None:
        return shutil.which("rclone")

    def unavailable(self) -> dict[str, str | None]:
        """Each tool and why it cannot run (None when it can)."""
        s5cmd = None if self.s5cmd.exists() else f"not installed in {self.folder}"
        return {
            "s5cmd": s5cmd,
            "s5cmd" + FSYNCED: s5cmd,
            "rclone": None if Tools.rclone() else "not installed (apt-get install rclone)",
            "aws": None if self.aws.exists() else f"not installed in {self.folder}",
        }


def tool_command(tool: str, tools: Tools, endpoint: str, bucket: str, source: str, dest: Path, recursive: bool) -> tuple[list[str], dict[str, str]]:
    """The command line that copies s3://bucket/source (a prefix when `recursive`) into `dest`, and its environment."""
    tool = tool.removesuffix(FSYNCED)
    if tool == "s5cmd":
        return [str(tools.s5cmd), "--endpoint-url", endpoint, "cp", f"s3://{bucket}/{source}{'*' if recursive else ''}", f"{dest}/"], clean_env()
    if tool == "rclone":
        env = clean_env(RCLONE_CONFIG_BENCH_TYPE="s3", RCLONE_CONFIG_BENCH_PROVIDER="Other", RCLONE_CONFIG_BENCH_ENDPOINT=endpoint,
                        RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=KEY_ID, RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=SECRET,
                        RCLONE_CONFIG_BENCH_REGION=REGION, RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE="true")
        return [tools.rclone() or "rclone", "--config", os.devnull, "copy", f"bench:{bucket}/{source}", str(dest),
                "--transfers", "16", "--checkers", "16", "--multi-thread-streams", "8"], env
    if tool == "aws":
        command = [str(tools.aws), "s3", "cp", f"s3://{bucket}/{source}", f"{dest}/", "--endpoint-url", endpoint, "--only-show-errors"]
        return command + (["--recursive"] if recursive else []), clean_env(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    raise ValueError(tool)


def run_tool(tool: str, tools: Tools, wired: Wired, source: str, dest: Path, recursive: bool, expected: int) -> float:
    """Seconds for one copy, from launch to exit (and, for a `+fsync` tool, until its files are on disk)."""
    command, env = tool_command(tool, tools, wired.endpoint, wired.bucket, source, dest, recursive)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"{tool} exited with {done.returncode}: {done.stderr[-1500:]}")
    written = files_in(dest)
    if tool.endswith(FSYNCED):
        for path in [*written, dest]:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    elapsed = time.perf_counter() - start
    if len(written) != expected:
        raise RuntimeError(f"{tool} wrote {len(written)} files, expected {expected}")
    return elapsed
