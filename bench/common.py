"""What every part of the benchmark shares: paths, the clean environment, boto3 clients, statistics and the log."""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DOC = ROOT / "docs" / "performance.md"
REGION = "us-east-1"
KEY_ID, SECRET = "bench", "bench"
KiB, MiB = 1024, 1024 * 1024
AGENT = [sys.executable, "-m", "agent"]


def log(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median, min and max of the runs."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": len(values)}


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))]


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without the user's AWS and rclone settings, with the bench's credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RCLONE_"))}
    env.update(AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET, AWS_DEFAULT_REGION=REGION, AWS_EC2_METADATA_DISABLED="true")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed agent runs from compiled bytecode
    env.update(extra)
    return env


def clients(endpoint: str) -> tuple[Any, Any]:
    config = BotoConfig(max_pool_connections=32, s3={"addressing_style": "path"}, retries={"mode": "standard", "max_attempts": 5})
    common = {"region_name": REGION, "endpoint_url": endpoint, "aws_access_key_id": KEY_ID, "aws_secret_access_key": SECRET, "config": config}
    return boto3.client("s3", **common), boto3.client("sqs", **common)


def files_in(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".s3-sqs-agent-")]
