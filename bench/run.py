"""`make bench`: the agent beside s5cmd, rclone and the AWS CLI against one local S3+SQS server, as a table."""

from __future__ import annotations

import argparse
import asyncio
import compileall
import concurrent.futures as cf
import contextlib
import datetime as dt
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.config import Config as BotoConfig

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DOC = ROOT / "docs" / "performance.md"
REGION = "us-east-1"
KEY_ID, SECRET = "bench", "bench"
KiB, MiB = 1024, 1024 * 1024
TABLE_START, TABLE_END = "<!-- bench:table:start -->", "<!-- bench:table:end -->"
AGENT = [sys.executable, "-m", "agent"]


# ------------------------------------------------------------------ small helpers

def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median, min and max of the runs."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": len(values)}


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))]


def log(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RCLONE_"))}
    env.update(AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET, AWS_DEFAULT_REGION=REGION, AWS_EC2_METADATA_DISABLED="true")
    env.update(extra)
    return env


def clients(endpoint: str) -> tuple[Any, Any]:
    config = BotoConfig(max_pool_connections=32, s3={"addressing_style": "path"}, retries={"mode": "standard", "max_attempts": 5})
    common = {"region_name": REGION, "endpoint_url": endpoint, "aws_access_key_id": KEY_ID, "aws_secret_access_key": SECRET, "config": config}
    return boto3.client("s3", **common), boto3.client("sqs", **common)


def files_in(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".s3-sqs-agent-")]


# ------------------------------------------------------------------ the server

class Ministack:
    """ministack (S3 + SQS, with S3 notifications) started from the tools venv on 127.0.0.1."""

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


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ------------------------------------------------------------------ a bucket announcing uploads on a queue

@dataclass
class Wired:
    """A bucket whose uploads are announced on a queue, and the bodies of the notifications captured so far."""

    endpoint: str
    bucket: str
    queue_url: str
    s3: Any
    sqs: Any
    bodies: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def create(cls, endpoint: str, name: str | None = None, notify: bool = True) -> Wired:
        s3, sqs = clients(endpoint)
        name = name or f"bench-{uuid.uuid4().hex[:10]}"
        queue_url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "120"})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        s3.create_bucket(Bucket=name)
        if notify:
            s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
        wired = cls(endpoint, name, queue_url, s3, sqs)
        wired.take_all()  # the test event S3 sends when notifications are set up
        return wired

    def notifications_off(self) -> None:
        self.s3.put_bucket_notification_configuration(Bucket=self.bucket, NotificationConfiguration={})

    def upload(self, keys: Sequence[str], data: bytes, threads: int = 16) -> None:
        with cf.ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda key: self.s3.put_object(Bucket=self.bucket, Key=key, Body=data), keys))

    def take_all(self, expected: int = 0, seconds: float = 60) -> list[str]:
        """Receive and delete every message on the queue (waiting for `expected` of them); returns their bodies."""
        bodies: list[str] = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            batch = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not batch:
                if len(bodies) >= expected:
                    return bodies
                time.sleep(0.1)
                continue
            bodies.extend(m["Body"] for m in batch)
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])
        raise TimeoutError(f"only {len(bodies)} of {expected} notifications arrived")

    def capture(self, label: str, keys: Sequence[str], data: bytes) -> None:
        """Upload `keys` and keep the S3 notifications announcing them, to announce them again for each run."""
        self.upload(keys, data)
        self.bodies[label] = [b for b in self.take_all(len(keys)) if '"Records"' in b]

    def announce(self, label: str) -> None:
        """Put the captured notifications back on the queue (send_message_batch, in parallel)."""
        bodies = self.bodies[label]
        chunks = [bodies[i:i + 10] for i in range(0, len(bodies), 10)]
        with cf.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda chunk: self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)]), chunks))

    def agent_config(self, folder: Path, endpoint: str | None = None, **extra: Any) -> dict[str, Any]:
        return {"aws_region": REGION, "sqs_queue_url": self.queue_url, "download_folder": str(folder),
                "s3_bucket_name": self.bucket, "endpoint_url": endpoint or self.endpoint, **extra}


# ------------------------------------------------------------------ running the agent

@contextlib.contextmanager
def agent_home(config: dict[str, Any]) -> Iterator[tuple[Path, dict[str, str]]]:
    """A config file and fresh XDG folders (so a fresh ledger and log) for one agent run."""
    home = Path(tempfile.mkdtemp(prefix="bench-agent-"))
    try:
        path = home / "config.yaml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        env = clean_env(XDG_DATA_HOME=str(home / "data"), XDG_STATE_HOME=str(home / "state"), XDG_CONFIG_HOME=str(home / "config"),
                        XDG_RUNTIME_DIR=str(home / "runtime"), PYTHONPATH=str(ROOT))
        (home / "runtime").mkdir(mode=0o700)
        yield path, env
    finally:
        shutil.rmtree(home, ignore_errors=True)


def run_agent_drain(wired: Wired, label: str, folder: Path, expected: int, **extra: Any) -> float:
    """Announce the captured uploads, then time `run --headless --drain` from launch to exit."""
    wired.announce(label)
    with agent_home(wired.agent_config(folder, **extra)) as (config, env):
        start = time.perf_counter()
        done = subprocess.run([*AGENT, "run", "--headless", "--config", str(config), "--drain", "--log-level", "WARNING"],
                              env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
        elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"the agent exited with {done.returncode}: {done.stderr[-2000:]}")
    got = len(files_in(folder))
    if got != expected:
        raise RuntimeError(f"the agent wrote {got} files, expected {expected}")
    return elapsed


# ------------------------------------------------------------------ the reference tools

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


def tool_command(tool: str, tools: Tools, endpoint: str, bucket: str, source: str, dest: Path, recursive: bool) -> tuple[list[str], dict[str, str]]:
    """The command line that copies s3://bucket/source (a prefix when `recursive`) into `dest`, and its environment."""
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
    command, env = tool_command(tool, tools, wired.endpoint, wired.bucket, source, dest, recursive)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{tool} exited with {done.returncode}: {done.stderr[-1500:]}")
    got = len(files_in(dest))
    if got != expected:
        raise RuntimeError(f"{tool} wrote {got} files, expected {expected}")
    return elapsed


def available_tools(tools: Tools) -> dict[str, str | None]:
    """Each reference tool and why it cannot run (None when it can)."""
    return {
        "s5cmd": None if tools.s5cmd.exists() else f"not installed in {tools.folder}",
        "rclone": None if Tools.rclone() else "not installed (apt-get install rclone)",
        "aws": None if tools.aws.exists() else f"not installed in {tools.folder}",
    }


# ------------------------------------------------------------------ server ceilings

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


# ------------------------------------------------------------------ counting requests

class CountingProxy:
    """A loopback TCP proxy in front of the server that counts the HTTP requests passing through it."""

    REQUEST = re.compile(rb"(?:^|\r\n)(?:GET|POST|PUT|HEAD|DELETE) /[^ \r\n]* HTTP/1\.[01]\r\n")
    LISTING = re.compile(rb"(?:^|\r\n)GET /[^/ ?\r\n]+/?(?:\?[^ \r\n]*)? HTTP/1\.[01]\r\n")  # a bucket, not an object (path style)

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.requests = 0
        self.listings = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="counting-proxy")
        self._thread.start()
        self._ready.wait(10)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", self.port))
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            for writer in self._writers:  # close the connections, and end their pipes, while their loop still runs
                writer.close()
            pending = asyncio.all_tasks(self._loop)
            for task in pending:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, count: bool) -> None:
            try:
                while data := await src.read(65536):
                    if count:
                        self.requests += len(self.REQUEST.findall(data))
                        self.listings += len(self.LISTING.findall(data))
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()
                self._writers.discard(dst)

        await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


# ------------------------------------------------------------------ workloads

@dataclass
class Bench:
    server: Ministack
    tools: Tools
    runs: int
    small_count: int
    small_size: int
    large_size: int
    latency_seconds: float
    latency_rate: float
    bucket_others: int
    bucket_notes: int
    idle_seconds: float
    work: Path
    results: dict[str, Any] = field(default_factory=dict)

    def fresh(self, name: str) -> Path:
        folder = self.work / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder

    def timed_runs(self, what: str, run: Callable[[Path], float]) -> list[float]:
        times = []
        for index in range(self.runs):
            folder = self.fresh(f"dest-{uuid.uuid4().hex[:6]}")
            try:
                times.append(run(folder))
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            log(f"  {what} run {index + 1}: {times[-1]:.2f} s")
        return times

    def small_files(self) -> None:
        n, size = self.small_count, self.small_size
        log(f"Workload 1: {n} objects of {size // KiB} KiB")
        wired = Wired.create(self.server.endpoint)
        keys = [f"small/{i:05d}.bin" for i in range(n)]
        wired.capture("small", keys, os.urandom(size))
        rows: dict[str, Any] = {}

        def add(name: str, times: list[float]) -> None:
            rows[name] = {"seconds": summary(times), "files_per_s": summary([n / t for t in times]),
                          "mib_per_s": summary([n * size / MiB / t for t in times])}

        add("agent", self.timed_runs("agent", lambda dest: run_agent_drain(wired, "small", dest, n)))
        self._startup(wired)
        for tool, why in available_tools(self.tools).items():
            if why:
                rows[tool] = {"error": why}
                continue
            add(tool, self.timed_runs(tool, lambda dest, tool=tool: run_tool(tool, self.tools, wired, "small/", dest, True, n)))
        ceilings = {
            "boto3 receive+delete loop, msg/s": summary([boto3_queue_ceiling(wired, "small") for _ in range(self.runs)]),
            "curl, 8 connections, files/s": summary([n / self._curl(wired, keys, 8) for _ in range(self.runs)]),
        }
        self.results["small"] = {"count": n, "size": size, "tools": rows, "ceilings": ceilings}

    def _startup(self, wired: Wired) -> None:
        """The agent's fixed cost in those wall times: `run --headless --drain` on an empty queue, launch to exit."""
        if "startup" not in self.results:
            wired.bodies["empty"] = []
            self.results["startup"] = summary(self.timed_runs("agent, empty queue", lambda dest: run_agent_drain(wired, "empty", dest, 0)))

    def _curl(self, wired: Wired, keys: Sequence[str], parallel: int) -> float:
        folder = self.fresh(f"curl-{uuid.uuid4().hex[:6]}")
        try:
            return curl_many(wired, keys, folder, parallel)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def large_file(self) -> None:
        size = self.large_size
        log(f"Workload 2: one object of {size // MiB} MiB")
        wired = Wired.create(self.server.endpoint)
        source = self.work / "large.bin"
        with open(source, "wb") as handle:
            block = os.urandom(MiB)
            for _ in range(size // MiB):
                handle.write(block)
        subprocess.run([str(self.tools.s5cmd), "--endpoint-url", wired.endpoint, "cp", str(source), f"s3://{wired.bucket}/large/large.bin"],
                       env=clean_env(), check=True, capture_output=True, timeout=600) if self.tools.s5cmd.exists() else \
            wired.s3.upload_file(str(source), wired.bucket, "large/large.bin")
        source.unlink()
        wired.bodies["large"] = [b for b in wired.take_all(1) if '"Records"' in b]
        rows: dict[str, Any] = {}

        def add(name: str, times: list[float]) -> None:
            rows[name] = {"seconds": summary(times), "mib_per_s": summary([size / MiB / t for t in times])}

        add("agent", self.timed_runs("agent", lambda dest: run_agent_drain(wired, "large", dest, 1)))
        self._startup(wired)
        for tool, why in available_tools(self.tools).items():
            if why:
                rows[tool] = {"error": why}
                continue
            add(tool, self.timed_runs(tool, lambda dest, tool=tool: run_tool(tool, self.tools, wired, "large/large.bin", dest, False, 1)))
        ceilings = {"curl, one stream, MiB/s": summary([size / MiB / self._curl(wired, ["large/large.bin"], 1) for _ in range(self.runs)])}
        self.results["large"] = {"size": size, "tools": rows, "ceilings": ceilings}

    def latency(self) -> None:
        log(f"Workload 3: latency, {self.latency_rate:g} uploads/s for {self.latency_seconds:g} s, {self.runs} runs")
        per_run: list[dict[str, float]] = []
        samples: list[float] = []
        for index in range(self.runs):
            wired = Wired.create(self.server.endpoint)
            folder = self.fresh(f"latency-{index}")
            with agent_home(wired.agent_config(folder)) as (config, env):
                agent = subprocess.Popen([*AGENT, "run", "--headless", "--config", str(config)], env=env, cwd=ROOT,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                try:
                    wait_for_line(agent, "Watching", 60)
                    time.sleep(1.0)  # the first long poll is out
                    times = upload_and_watch(wired, folder, self.latency_rate, self.latency_seconds)
                finally:
                    stop_process(agent)
            shutil.rmtree(folder, ignore_errors=True)
            samples.extend(times)
            per_run.append({"p50": percentile(times, 0.5), "p95": percentile(times, 0.95), "count": len(times)})
            log(f"  run {index + 1}: p50 {per_run[-1]['p50'] * 1000:.0f} ms, p95 {per_run[-1]['p95'] * 1000:.0f} ms over {len(times)} files")
        self.results["latency"] = {"rate": self.latency_rate, "seconds": self.latency_seconds,
                                   "p50": summary([r["p50"] for r in per_run]), "p95": summary([r["p95"] for r in per_run]),
                                   "all_p50": percentile(samples, 0.5), "all_p95": percentile(samples, 0.95)}

    def bucket_size(self) -> None:
        """Two buckets on the server at once, one also holding `others` objects, drained in turn (so a drift of the
        machine's load hits both alike); plus what the agent asked of the server, and the server's own GET time."""
        n, others = self.bucket_notes, self.bucket_others
        log(f"Workload 4: {n} notifications, bucket with 0 and {others} other objects")
        keys = [f"notes/{i:04d}.bin" for i in range(n)]
        buckets = {"empty": Wired.create(self.server.endpoint), "full": Wired.create(self.server.endpoint)}
        for wired in buckets.values():
            wired.capture("notes", keys, os.urandom(64 * KiB))
        buckets["full"].notifications_off()
        seed_objects(self, buckets["full"], "others/", others)
        times: dict[str, list[float]] = {"empty": [], "full": []}
        for index in range(max(self.runs, 5)):  # about a second each: more runs cost little and steady the ratio
            for label, wired in buckets.items():
                folder = self.fresh(f"dest-{uuid.uuid4().hex[:6]}")
                times[label].append(run_agent_drain(wired, "notes", folder, n))
                shutil.rmtree(folder, ignore_errors=True)
            log(f"  run {index + 1}: {times['empty'][-1]:.2f} s with no other objects, {times['full'][-1]:.2f} s with {others}")
        requests, server_get = {}, {}
        for label, wired in buckets.items():
            with contextlib.closing(CountingProxy(self.server.port)) as proxy:
                folder = self.fresh(f"dest-{uuid.uuid4().hex[:6]}")
                run_agent_drain(wired, "notes", folder, n, endpoint_url=proxy.endpoint)
                shutil.rmtree(folder, ignore_errors=True)
                requests[label] = {"all": proxy.requests, "listings": proxy.listings}
            server_get[label] = summary([timed_gets(wired, keys) for _ in range(self.runs)])
        self.results["bucket"] = {"notifications": n, "others": others, "runs": len(times["empty"]),
                                  "empty": summary(times["empty"]), "full": summary(times["full"]),
                                  "ratio": statistics.median(times["full"]) / statistics.median(times["empty"]),
                                  "requests": requests, "server_get_seconds": server_get,
                                  "server_ratio": server_get["full"]["median"] / server_get["empty"]["median"]}

    def idle(self) -> None:
        log(f"Workload 5: idle for {self.idle_seconds:g} s, headless and with the tray (side by side)")
        modes: dict[str, Any] = {}
        with contextlib.ExitStack() as stack:
            display = stack.enter_context(desktop_session())
            watched: list[tuple[str, subprocess.Popen[str], CountingProxy]] = []
            for mode in ("headless", "tray"):
                if mode == "tray" and isinstance(display, str):
                    modes[mode] = {"error": display}
                    continue
                wired = Wired.create(self.server.endpoint)
                proxy = CountingProxy(self.server.port)
                stack.callback(proxy.close)
                folder = self.fresh(f"idle-{mode}")
                config, env = stack.enter_context(agent_home(wired.agent_config(folder, endpoint=proxy.endpoint)))
                command = [*AGENT, "run", "--headless", "--config", str(config)] if mode == "headless" else [*AGENT, "tray", "--config", str(config)]
                if mode == "tray":
                    env.update(display)  # type: ignore[arg-type]
                agent = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                stack.callback(stop_process, agent)
                watched.append((mode, agent, proxy))
            time.sleep(8)  # start-up requests (queue settings, the first receive) are not idle
            before = {}
            for mode, agent, proxy in watched:
                if agent.poll() is not None:
                    modes[mode] = {"error": f"exited with {agent.returncode}: {(agent.stderr.read() if agent.stderr else '')[-300:]}"}
                    continue
                before[mode] = (process_cpu(agent.pid), proxy.requests)
            time.sleep(self.idle_seconds)
            for mode, agent, proxy in watched:
                if mode not in before or agent.poll() is not None:
                    modes.setdefault(mode, {"error": "exited during the measurement"})
                    continue
                cpu0, requests0 = before[mode]
                cpu = process_cpu(agent.pid) - cpu0
                modes[mode] = {"requests_per_min": (proxy.requests - requests0) * 60 / self.idle_seconds,
                               "cpu_percent": 100 * cpu / self.idle_seconds, "rss_mb": process_rss_mb(agent.pid)}
        self.results["idle"] = {"seconds": self.idle_seconds, "modes": modes}


def seed_objects(bench: Bench, wired: Wired, prefix: str, count: int) -> None:
    """`count` tiny objects, uploaded quickly (s5cmd from a local folder, else boto3 threads)."""
    if bench.tools.s5cmd.exists():
        local = bench.fresh("seed")
        for i in range(count):
            (local / f"{i:05d}.txt").write_bytes(b"x")
        subprocess.run([str(bench.tools.s5cmd), "--endpoint-url", wired.endpoint, "cp", f"{local}/", f"s3://{wired.bucket}/{prefix}"],
                       env=clean_env(), check=True, capture_output=True, timeout=600)
        shutil.rmtree(local, ignore_errors=True)
    else:
        wired.upload([f"{prefix}{i:05d}.txt" for i in range(count)], b"x", threads=32)
    listed = sum(page.get("KeyCount", 0) for page in wired.s3.get_paginator("list_objects_v2").paginate(Bucket=wired.bucket, Prefix=prefix))
    if listed != count:
        raise RuntimeError(f"seeded {listed} of {count} objects")


def wait_for_line(process: subprocess.Popen[str], text: str, seconds: float) -> None:
    """Read the process's stderr until a line contains `text`; keep draining it afterwards so it never blocks."""
    assert process.stderr is not None
    found = threading.Event()
    tail: list[str] = []

    def reader() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            tail.append(line)
            del tail[:-20]
            if text in line:
                found.set()

    threading.Thread(target=reader, daemon=True).start()
    deadline = time.monotonic() + seconds
    while not found.wait(0.1):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the agent did not say {text!r}: {''.join(tail)[-1500:]}")


def upload_and_watch(wired: Wired, folder: Path, rate: float, seconds: float) -> list[float]:
    """Upload one object every 1/rate s; for each, the time from its upload (the PUT's answer) to the file in place."""
    pending: dict[Path, float] = {}
    done: list[float] = []
    lock = threading.Lock()
    uploading = threading.Event()
    uploading.set()

    def watch() -> None:
        while uploading.is_set() or pending:
            now = time.perf_counter()
            with lock:
                items = list(pending.items())
            for path, started in items:
                if path.exists():
                    with lock:
                        pending.pop(path, None)
                    done.append(now - started)
                elif now - started > 30:
                    with lock:
                        pending.pop(path, None)
                    raise RuntimeError(f"{path.name} did not arrive within 30 s")
            time.sleep(0.002)

    watcher = cf.ThreadPoolExecutor(1)
    watching = watcher.submit(watch)
    data = os.urandom(64 * KiB)
    count = int(rate * seconds)
    start = time.perf_counter()
    try:
        for i in range(count):
            time.sleep(max(0.0, start + i / rate - time.perf_counter()))
            key = f"latency/{i:05d}.bin"
            wired.s3.put_object(Bucket=wired.bucket, Key=key, Body=data)
            with lock:
                pending[folder / key] = time.perf_counter()
    finally:
        uploading.clear()
        watching.result(timeout=60)
        watcher.shutdown()
    return done


def stop_process(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def desktop_session() -> Iterator[dict[str, str] | str]:
    """Xvfb, a session D-Bus and a tray host (trayer) for the tray's idle figure; a string saying why not, otherwise."""
    missing = [tool for tool in ("Xvfb", "dbus-daemon", "trayer") if not shutil.which(tool)]
    if missing:
        yield f"needs {', '.join(missing)} (make system-deps)"
        return
    processes: list[subprocess.Popen[Any]] = []
    read_fd, write_fd = os.pipe()
    try:
        processes.append(subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "640x480x24", "-nolisten", "tcp"],
                                          pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        os.close(write_fd)
        with os.fdopen(read_fd) as handle:
            display = f":{handle.readline().strip()}"
        bus = subprocess.Popen(["dbus-daemon", "--session", "--print-address", "--nofork"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
        processes.append(bus)
        assert bus.stdout is not None
        env = {"DISPLAY": display, "DBUS_SESSION_BUS_ADDRESS": bus.stdout.readline().strip(), "NO_AT_BRIDGE": "1"}
        processes.append(subprocess.Popen(["trayer", "--edge", "top"], env={**os.environ, **env},
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(1.0)
        yield env
    finally:
        for process in reversed(processes):
            stop_process(process)


# ------------------------------------------------------------------ the table

def fmt(stats: dict[str, float] | None, scale: float = 1.0, digits: int = 0) -> str:
    if not stats:
        return "n/a"
    return f"{stats['median'] * scale:.{digits}f} ({stats['min'] * scale:.{digits}f}–{stats['max'] * scale:.{digits}f})"


def ratio(row: dict[str, Any], best: float | None, metric: str) -> str:
    return f"{row[metric]['median'] / best:.2f}×" if best and metric in row else ""


def render(results: dict[str, Any]) -> str:
    """The markdown table: medians with (min–max) over the runs, and each target."""
    lines: list[str] = []
    meta = results.get("meta", {})
    lines.append(f"Taken {meta.get('date', '?')} on {meta.get('machine', '?')}; server {meta.get('server', '?')}; "
                 f"median (min–max) of {meta.get('runs', '?')} runs; load average at start {meta.get('load', '?')}.")
    lines.append("")
    if small := results.get("small"):
        tools = small["tools"]
        s5 = tools.get("s5cmd", {}).get("files_per_s", {}).get("median")
        lines += [f"**1. Many small files**: {small['count']} objects of {small['size'] // KiB} KiB, wall time from launch to exit.", "",
                  "| tool | files/s | MiB/s | seconds | vs s5cmd |", "|---|---|---|---|---|"]
        for name, row in tools.items():
            if "error" in row:
                lines.append(f"| {name} | n/a: {row['error']} | | | |")
                continue
            lines.append(f"| {name} | {fmt(row['files_per_s'])} | {fmt(row['mib_per_s'], digits=1)} | {fmt(row['seconds'], digits=2)} | "
                         f"{ratio(row, s5, 'files_per_s')} |")
        if startup := results.get("startup"):
            lines.append(f"| agent start-up and exit alone (empty queue), in each agent run above | | | {fmt(startup, digits=2)} | |")
        for name, stats in small["ceilings"].items():
            lines.append(f"| server ceiling: {name} | {fmt(stats)} | | | |")
        lines.append("")
    if large := results.get("large"):
        tools = large["tools"]
        best = max((tools[t]["mib_per_s"]["median"] for t in ("s5cmd", "rclone") if "mib_per_s" in tools.get(t, {})), default=None)
        lines += [f"**2. One large file**: {large['size'] // MiB} MiB.", "",
                  "| tool | MiB/s | seconds | vs best of s5cmd, rclone |", "|---|---|---|---|"]
        for name, row in tools.items():
            if "error" in row:
                lines.append(f"| {name} | n/a: {row['error']} | | |")
                continue
            lines.append(f"| {name} | {fmt(row['mib_per_s'])} | {fmt(row['seconds'], digits=2)} | {ratio(row, best, 'mib_per_s')} |")
        if startup := results.get("startup"):
            lines.append(f"| agent start-up and exit alone (empty queue), in each agent run above | | {fmt(startup, digits=2)} | |")
        for name, stats in large["ceilings"].items():
            lines.append(f"| server ceiling: {name} | {fmt(stats)} | | |")
        lines.append("")
    targets: list[tuple[str, str, str, str]] = []
    if small := results.get("small"):
        tools = small["tools"]
        if "files_per_s" in tools.get("agent", {}) and "files_per_s" in tools.get("s5cmd", {}):
            value = tools["agent"]["files_per_s"]["median"] / tools["s5cmd"]["files_per_s"]["median"]
            targets.append(("small files, vs s5cmd files/s", "≥ 1.0×", f"{value:.2f}×", "yes" if value >= 1.0 else "no"))
    if large := results.get("large"):
        tools = large["tools"]
        best = max((tools[t]["mib_per_s"]["median"] for t in ("s5cmd", "rclone") if "mib_per_s" in tools.get(t, {})), default=None)
        if best and "mib_per_s" in tools.get("agent", {}):
            value = tools["agent"]["mib_per_s"]["median"] / best
            targets.append(("large file, vs best of s5cmd and rclone", "≥ 0.9×", f"{value:.2f}×", "yes" if value >= 0.9 else "no"))
    if latency := results.get("latency"):
        p50, p95 = latency["p50"], latency["p95"]
        targets.append((f"latency p50 ({latency['rate']:g}/s for {latency['seconds']:g} s)", "≤ 0.5 s", f"{fmt(p50, 1000)} ms",
                        "yes" if p50["median"] <= 0.5 else "no"))
        targets.append(("latency p95", "≤ 2 s", f"{fmt(p95, 1000)} ms", "yes" if p95["median"] <= 2 else "no"))
    if bucket := results.get("bucket"):
        runs = f", {bucket['runs']} alternating runs" if "runs" in bucket else ""
        targets.append((f"bucket size: {bucket['notifications']} notifications, {bucket['others']} vs 0 other objects{runs}", "≤ 1.1",
                        f"{bucket['ratio']:.2f} ({fmt(bucket['full'], digits=2)} s vs {fmt(bucket['empty'], digits=2)} s)",
                        "yes" if bucket["ratio"] <= 1.1 else "no"))
        if "requests" in bucket:
            full, empty = bucket["requests"]["full"], bucket["requests"]["empty"]
            targets.append((f"bucket size: the agent's requests, {bucket['others']} vs 0 other objects", "no listing",
                            f"{full['all']} vs {empty['all']}, of which listings {full['listings']} vs {empty['listings']}",
                            "yes" if full["listings"] == empty["listings"] == 0 else "no"))
            targets.append(("bucket size: the server's own GET time for those objects (boto3, one at a time)", "",
                            (f"{bucket['server_ratio']:.2f} ({fmt(bucket['server_get_seconds']['full'], digits=2)} s vs "
                             f"{fmt(bucket['server_get_seconds']['empty'], digits=2)} s)"), ""))
    if idle := results.get("idle"):
        for mode, row in idle["modes"].items():
            if "error" in row:
                targets.append((f"idle, {mode}", "", f"n/a: {row['error']}", ""))
                continue
            targets.append((f"idle, {mode}: requests/min", "≤ 3", f"{row['requests_per_min']:.1f}", "yes" if row["requests_per_min"] <= 3 else "no"))
            targets.append((f"idle, {mode}: CPU", "< 0.5% of a core", f"{row['cpu_percent']:.2f}%", "yes" if row["cpu_percent"] < 0.5 else "no"))
            if mode == "headless":
                targets.append((f"idle, {mode}: RSS", "< 80 MB", f"{row['rss_mb']:.0f} MB", "yes" if row["rss_mb"] < 80 else "no"))
            else:  # the RSS target is the headless agent's; the tray's is shown for comparison
                targets.append((f"idle, {mode}: RSS", "(no target)", f"{row['rss_mb']:.0f} MB", ""))
    if targets:
        lines += ["**Targets** (3. latency, 4. bucket size, 5. idle, and the ratios above).", "",
                  "| target | goal | measured | met |", "|---|---|---|---|"]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in targets]
    return "\n".join(lines) + "\n"


def update_doc(table: str, doc: Path = DOC) -> None:
    """Put the table between the markers in docs/performance.md (appended when the markers are missing)."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Performance\n"
    block = f"{TABLE_START}\n{table}{TABLE_END}"
    if TABLE_START in text and TABLE_END in text:
        head, rest = text.split(TABLE_START, 1)
        text = head + block + rest.split(TABLE_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.write_text(text, encoding="utf-8")


def plot(results: dict[str, Any], path: Path) -> bool:
    """results.png: files/s and MiB/s per tool. An optional extra: skipped without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    panels = [(key, metric, title) for key, metric, title in (("small", "files_per_s", "Many small files: files/s"),
                                                              ("large", "mib_per_s", "One large file: MiB/s")) if key in results]
    if not panels:
        return False
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.5), squeeze=False)
    for axis, (key, metric, title) in zip(axes[0], panels, strict=True):
        rows = {name: row[metric] for name, row in results[key]["tools"].items() if metric in row}
        names = list(rows)
        medians = [rows[n]["median"] for n in names]
        errors = [[rows[n]["median"] - rows[n]["min"] for n in names], [rows[n]["max"] - rows[n]["median"] for n in names]]
        axis.bar(names, medians, yerr=errors, capsize=4, color=["tab:green" if n == "agent" else "tab:gray" for n in names])
        axis.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return True


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "?") \
        if Path("/proc/cpuinfo").exists() else platform.processor()
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tools", type=Path, default=BENCH / ".tools", help="the venv holding ministack, s5cmd and the AWS CLI")
    parser.add_argument("--port", type=int, default=14566, help="the server's port (below 32768, outside the ephemeral range)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--small", type=int, default=1000, help="objects in workload 1")
    parser.add_argument("--large-mib", type=int, default=512)
    parser.add_argument("--latency-seconds", type=float, default=20.0, help="per run; 3 runs of 20 s give 300 samples at 5/s")
    parser.add_argument("--latency-rate", type=float, default=5.0)
    parser.add_argument("--bucket-others", type=int, default=10_000)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--only", nargs="*", choices=["small", "large", "latency", "bucket", "idle"], help="run only these workloads")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/performance.md")
    args = parser.parse_args(argv)
    if not 1024 <= args.port < 32768:
        parser.error("--port must be below 32768 (the ephemeral range starts there)")
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    args.tools = args.tools.resolve()
    # An installed agent runs from the bytecode pip compiled at install time. This checkout is installed in editable
    # mode, and where PYTHONDONTWRITEBYTECODE is set each launch would compile every module of the agent again.
    compileall.compile_dir(ROOT / "agent", quiet=1)
    server = Ministack(args.tools, args.port)
    bench = Bench(server, Tools(args.tools), args.runs, args.small, 64 * KiB, args.large_mib * MiB, args.latency_seconds,
                  args.latency_rate, args.bucket_others, 200, args.idle_seconds, work)
    bench.results["meta"] = {"date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"), "machine": machine(),
                             "server": "ministack 1.5.33 on 127.0.0.1", "runs": args.runs,
                             "load": " ".join(f"{x:.2f}" for x in os.getloadavg()), "agent_fast_path": fast_path()}
    started = time.monotonic()
    try:
        for name in args.only or ["small", "large", "latency", "bucket", "idle"]:
            getattr(bench, {"small": "small_files", "large": "large_file", "bucket": "bucket_size"}.get(name, name))()
        bench.results["meta"]["server_cpu_seconds"] = server.cpu_seconds()
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    bench.results["meta"]["bench_seconds"] = time.monotonic() - started
    (BENCH / "results.json").write_text(json.dumps(bench.results, indent=2), encoding="utf-8")
    table = render(bench.results)
    print(table)
    if not args.no_doc:
        update_doc(table)
    if plot(bench.results, BENCH / "results.png"):
        log("Wrote bench/results.png")
    log(f"Done in {time.monotonic() - started:.0f} s; bench/results.json" + ("" if args.no_doc else ", docs/performance.md"))
    return 0


def fast_path() -> str:
    """Which S3 client the agent's downloads use here."""
    try:
        import awscrt  # noqa: F401
    except ImportError:
        return "boto3"
    return "awscrt"


if __name__ == "__main__":
    raise SystemExit(main())
