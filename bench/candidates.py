"""Side-by-side GET clients for the engine's design choice: boto3 threads, awscrt, obstore, boto3 over processes."""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import boto3
from botocore.config import Config as BotoConfig

REGION = "us-east-1"
KEY_ID = os.environ.get("AWS_ACCESS_KEY_ID", "bench")
SECRET = os.environ.get("AWS_SECRET_ACCESS_KEY", "bench")


def _write(folder: Path, name: str, data: bytes) -> None:
    """What the agent does with each object's bytes, minus the rename: a new file, written, fsynced."""
    fd = os.open(folder / name.replace("/", "_"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def boto3_threads(endpoint: str, bucket: str, keys: list[tuple[str, str]], folder: Path, concurrency: int) -> None:
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint, aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
                      config=BotoConfig(max_pool_connections=concurrency + 4, s3={"addressing_style": "path"}))

    def one(item: tuple[str, str]) -> None:
        key, etag = item
        _write(folder, key, s3.get_object(Bucket=bucket, Key=key, IfMatch=f'"{etag}"')["Body"].read())

    with cf.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, keys))


def _boto3_process(args: tuple[str, str, list[tuple[str, str]], str, int]) -> None:
    endpoint, bucket, keys, folder, concurrency = args
    boto3_threads(endpoint, bucket, keys, Path(folder), concurrency)


def boto3_processes(endpoint: str, bucket: str, keys: list[tuple[str, str]], folder: Path, concurrency: int) -> None:
    workers = os.cpu_count() or 2
    shares = [keys[i::workers] for i in range(workers)]
    with cf.ProcessPoolExecutor(workers) as pool:
        list(pool.map(_boto3_process, [(endpoint, bucket, share, str(folder), max(1, concurrency // workers)) for share in shares]))


def awscrt_client(endpoint: str, bucket: str, keys: list[tuple[str, str]], folder: Path, concurrency: int) -> None:
    from awscrt.auth import AwsCredentialsProvider
    from awscrt.http import HttpHeaders, HttpRequest
    from awscrt.io import ClientBootstrap, DefaultHostResolver, EventLoopGroup
    from awscrt.s3 import S3Client, S3RequestTlsMode, S3RequestType

    loop = EventLoopGroup(2)
    client = S3Client(bootstrap=ClientBootstrap(loop, DefaultHostResolver(loop)), region=REGION,
                      credential_provider=AwsCredentialsProvider.new_static(KEY_ID, SECRET),
                      tls_mode=S3RequestTlsMode.DISABLED, part_size=8 * 1024 * 1024, throughput_target_gbps=10.0)
    host = urlsplit(endpoint).netloc
    window = threading.Semaphore(concurrency * 4)
    futures = []
    for key, etag in keys:
        window.acquire()
        fd = os.open(folder / key.replace("/", "_"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)

        def on_body(chunk: bytes, offset: int, fd: int = fd, **kwargs: Any) -> None:
            os.pwrite(fd, chunk, offset)

        def on_done(error: BaseException | None = None, fd: int = fd, **kwargs: Any) -> None:
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
                window.release()

        request = HttpRequest("GET", f"/{bucket}/{quote(key)}", HttpHeaders(
            [("Host", host), ("If-Match", f'"{etag}"'), ("Content-Length", "0")]))
        futures.append(client.make_request(type=S3RequestType.GET_OBJECT, request=request, on_body=on_body, on_done=on_done).finished_future)
    for future in futures:
        future.result()


def obstore_threads(endpoint: str, bucket: str, keys: list[tuple[str, str]], folder: Path, concurrency: int) -> None:
    import obstore
    from obstore.store import S3Store

    store = S3Store(bucket, endpoint=endpoint, region=REGION, access_key_id=KEY_ID, secret_access_key=SECRET,
                    virtual_hosted_style_request=False, client_options={"allow_http": True})

    def one(item: tuple[str, str]) -> None:
        key, etag = item
        _write(folder, key, bytes(obstore.get(store, key, options={"if_match": f'"{etag}"'}).bytes()))

    with cf.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, keys))


CANDIDATES: dict[str, Callable[..., None]] = {
    "boto3, 8 threads": lambda *a: boto3_threads(*a[:4], 8),
    "boto3, 16 threads": lambda *a: boto3_threads(*a[:4], 16),
    "boto3, 2 processes x 8 threads": lambda *a: boto3_processes(*a[:4], 16),
    "awscrt S3Client": lambda *a: awscrt_client(*a[:4], 8),
    "obstore, 8 threads": lambda *a: obstore_threads(*a[:4], 8),
}


def measure(endpoint: str, bucket: str, keys: list[tuple[str, str]], runs: int = 3) -> dict[str, dict[str, float]]:
    """files/s (median, min, max) and CPU seconds of this process (median) for each candidate that can be imported."""
    results: dict[str, dict[str, float]] = {}
    for name, candidate in CANDIDATES.items():
        rates: list[float] = []
        cpus: list[float] = []
        for _ in range(runs):
            folder = Path(tempfile.mkdtemp(prefix="bench-candidate-"))
            try:
                cpu, start = time.process_time(), time.perf_counter()
                try:
                    candidate(endpoint, bucket, keys, folder)
                except ImportError as exc:
                    results[name] = {"error": str(exc)}  # type: ignore[dict-item]
                    break
                elapsed = time.perf_counter() - start
                cpus.append(time.process_time() - cpu)
                rates.append(len(keys) / elapsed)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        if rates:
            results[name] = {"median": statistics.median(rates), "min": min(rates), "max": max(rates),
                             "cpu_ms_per_file": 1000 * statistics.median(cpus) / len(keys)}
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--prefix", default="small/")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=args.endpoint, aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET)
    keys = [(o["Key"], o["ETag"].strip('"')) for page in s3.get_paginator("list_objects_v2").paginate(Bucket=args.bucket, Prefix=args.prefix)
            for o in page.get("Contents", [])]
    print(json.dumps(measure(args.endpoint, args.bucket, keys, args.runs), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
