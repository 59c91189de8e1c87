"""The server (ministack: S3 + SQS with real S3 notifications, from the tools venv) and what /proc says of a process."""

from __future__ import annotations

import os
import subprocess
import tempfile
import urllib.request
from pathlib import Path

from bench.common import clean_env
from tests.helpers import wait_until


class Ministack:
    """ministack on 127.0.0.1:port."""

    def __init__(self, tools: Path, port: int) -> None:
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        env = clean_env(BIND_HOST="127.0.0.1", GATEWAY_PORT=str(port), SERVICES="sqs,s3", LOG_LEVEL="WARNING")
        self.log = tempfile.NamedTemporaryFile(prefix="bench-ministack-", suffix=".log", delete=False)  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([str(tools / "bin" / "ministack")], env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        cwd=tempfile.gettempdir())
        wait_until(self._up, 30, f"ministack on port {port}")

    def _up(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"ministack exited with code {self.process.returncode}; see {self.log.name}")
        try:
            urllib.request.urlopen(self.endpoint + "/", timeout=1).close()
            return True
        except OSError:
            return False

    def cpu_seconds(self) -> float:
        return process_cpu(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_rss_mb(pid: int) -> float:
    """Resident memory of a running process, in MB (MiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")
