"""The limits that are not the tool's: the server's (a bare queue loop, curl, one GET at a time) and the disk's (the
same files written and fsynced with no network)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
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


def durable_write(dest: Path, count: int, size: int, threads: int = 8) -> float:
    """`count` files of `size` bytes written and each fsynced by `threads` threads, then the folder fsynced, with no
    network: seconds. The disk's durable ceiling for what the agent must do before it deletes a message."""
    data = os.urandom(min(size, 8 * 1024 * 1024))

    def write(index: int) -> None:
        fd = os.open(dest / f"{index:05d}.bin", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            left = size
            while left:
                left -= os.write(fd, data[:left])
            os.fsync(fd)
        finally:
            os.close(fd)

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(write, range(count)))
    folder = os.open(dest, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    return time.perf_counter() - start
