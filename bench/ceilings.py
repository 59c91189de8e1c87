"""The server's own limits, to tell a tool's bound from the server's: a bare queue loop, curl, one GET at a time."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from bench.wired import Wired


def boto3_queue_ceiling(wired: Wired, label: str) -> float:
    """A bare single-threaded boto3 receive(10) + delete_message_batch loop over the captured notifications: msg/s."""
    wired.announce(label)
    count = len(wired.bodies[label])
    start = time.perf_counter()
    taken = wired.take_all(count)
    return len(taken) / (time.perf_counter() - start)


def curl_many(wired: Wired, keys: Sequence[str], dest: Path, parallel: int) -> float:
    """curl GETting `keys` over `parallel` connections (unsigned: the server does not check signatures): seconds."""
    listing = dest / "curl.cfg"
    listing.write_text("".join(f'url = "{wired.endpoint}/{wired.bucket}/{key}"\noutput = "{dest}/{i}"\n' for i, key in enumerate(keys)))
    command = ["curl", "-sS", "--no-progress-meter", "--fail", "-K", str(listing)]
    if parallel > 1:
        command[1:1] = ["--parallel", "--parallel-max", str(parallel)]
    start = time.perf_counter()
    subprocess.run(command, check=True, timeout=600)
    elapsed = time.perf_counter() - start
    listing.unlink()
    return elapsed


def timed_gets(wired: Wired, keys: Sequence[str]) -> float:
    """One boto3 GET after another for `keys`: seconds. The server's own cost per object, whatever the client."""
    start = time.perf_counter()
    for key in keys:
        wired.s3.get_object(Bucket=wired.bucket, Key=key)["Body"].read()
    return time.perf_counter() - start
