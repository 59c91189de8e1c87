"""Several workstations, each wired by `s3-sqs-agent connect`, then running as real agent processes side by side.

- Own copy: two agents, two workstation queues on the bucket's topic; 100 uploads; both folders end with all 100
  files, byte-identical.
- Share: two agents on the one shared queue; 200 uploads end as exactly 200 files across both folders, none in both.
- Share with one agent killed by SIGKILL halfway: the other finishes the work; every file is complete in at least one
  folder; a file in both folders is one the killed agent had placed but whose message it had not deleted yet
  (delivery is at least once), and those doubles are counted; no folder holds a partial file once the killed agent
  has started again (it removes its temporary files at start).

The moto server is tests/moto_server.py in a child process, with its SQS queue changes serialised behind one lock
(long polls wait outside it). Stock moto 5.2 changes a queue's message list without a lock: with two agents and
their workers on one queue it delivers some messages twice and brings deleted ones back as in flight, so doubles
here would be moto's, not the agent's. A server safe under concurrency without that fix (ElasticMQ) needs a JVM and
sends no S3 events.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from agent import config as config_module
from agent.engine.paths import is_temp_name
from tests.aws import client, connect, safe_moto
from tests.helpers import ROOT, wait_until
from tests.reliability.helpers import random_files, temp_files

CONCURRENCY = 4


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with safe_moto() as url:
        yield url


def placed(folder: Path) -> dict[str, bytes]:
    """The files the agent placed under `folder` (its hidden temporary files left out)."""
    if not folder.exists():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not is_temp_name(p.name)}


@dataclass
class Workstation:
    """One computer: its own config, ledger and folders (private XDG folders), and its agent process."""

    name: str
    home: Path
    process: subprocess.Popen[str] | None = None
    log: IO[str] | None = None

    @property
    def config(self) -> Path:
        return self.home / "config.yaml"

    @property
    def folder(self) -> Path:
        return self.home / "out"

    def env(self) -> dict[str, str]:
        env = os.environ.copy()
        for variable, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_STATE_HOME", "state"), ("XDG_CACHE_HOME", "cache")):
            env[variable] = str(self.home / sub)
        return env

    def prepare(self, max_bandwidth: str) -> None:
        self.home.mkdir(parents=True)
        self.config.write_text(f"# {self.name}\nsqs_queue_url: ''\ndownload_folder: '{self.folder}'\n"
                               f"concurrency: {CONCURRENCY}\nmax_bandwidth: {max_bandwidth}\n", encoding="utf-8")

    def start(self) -> None:
        self.log = open(self.home / "agent.log", "w+", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([sys.executable, "-m", "agent", "run", "--headless", "--config", str(self.config)],
                                        cwd=ROOT, env=self.env(), stdout=subprocess.DEVNULL, stderr=self.log, text=True)

    def output(self) -> str:
        return (self.home / "agent.log").read_text(encoding="utf-8", errors="replace")

    def wait_ready(self) -> None:
        wait_until(lambda: "Watching " in self.output(), 60, what=f"{self.name}'s agent to start")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(60)
        if self.log is not None:
            self.log.close()
        return code


@pytest.fixture
def workstations(tmp_path: Path) -> Iterator[list[Workstation]]:
    stations = [Workstation(name, tmp_path / name) for name in ("studio-a", "studio-b")]
    yield stations
    for station in stations:
        if station.process is not None and station.process.poll() is None:
            station.stop(signal.SIGKILL)


def new_bucket(endpoint: str) -> str:
    name = f"takes-{uuid.uuid4().hex[:10]}"
    client("s3", endpoint).create_bucket(Bucket=name)
    return name


def upload(endpoint: str, bucket: str, files: dict[str, bytes]) -> None:
    s3 = client("s3", endpoint)
    for key, data in files.items():
        s3.put_object(Bucket=bucket, Key=key, Body=data)


def queue_counts(endpoint: str, url: str) -> tuple[int, int]:
    attributes = client("sqs", endpoint).get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def connect_all(endpoint: str, bucket: str, stations: list[Workstation], *args: str, max_bandwidth: str) -> list[str]:
    """Each workstation runs connect for itself, as its user would; returns the queue URL each config names."""
    urls = []
    for station in stations:
        station.prepare(max_bandwidth)
        result = connect(endpoint, bucket, station.config, *args, "--yes", env=station.env())
        assert result.returncode == 0, result.stdout + result.stderr
        urls.append(config_module.load(station.config).sqs_queue_url)
    return urls


def start_all(stations: list[Workstation]) -> None:
    for station in stations:
        station.start()
    for station in stations:
        station.wait_ready()


def test_own_copy_every_workstation_gets_every_file(endpoint: str, workstations: list[Workstation]) -> None:
    bucket = new_bucket(endpoint)
    expected = random_files(100, "session", random.Random(15), low=500, high=20_000)
    urls = [connect_all(endpoint, bucket, [station], "--queue-name", f"{station.name}-{bucket}", max_bandwidth="4MB/s")[0]
            for station in workstations]
    assert len(set(urls)) == 2, "each workstation has its own queue"
    start_all(workstations)
    upload(endpoint, bucket, expected)

    def done() -> bool:
        return all(len(placed(s.folder)) == len(expected) for s in workstations) and all(
            queue_counts(endpoint, url) == (0, 0) for url in urls)

    wait_until(done, 240, what="both workstations to hold all 100 files and both queues to empty", interval=0.5)
    assert [station.stop() for station in workstations] == [0, 0]
    for station in workstations:
        assert placed(station.folder) == expected, f"{station.name} differs"
        assert temp_files(station.folder) == []


def test_share_each_file_lands_on_exactly_one_workstation(endpoint: str, workstations: list[Workstation]) -> None:
    bucket = new_bucket(endpoint)
    expected = random_files(200, "farm", random.Random(16), low=500, high=30_000)
    urls = connect_all(endpoint, bucket, workstations, "--mode", "share", max_bandwidth="1MB/s")
    assert urls[0] == urls[1] and urls[0].endswith(f"/s3-sqs-agent-{bucket}-shared")
    start_all(workstations)
    upload(endpoint, bucket, expected)

    def done() -> bool:
        return sum(len(placed(s.folder)) for s in workstations) >= len(expected) and queue_counts(endpoint, urls[0]) == (0, 0)

    wait_until(done, 240, what="200 files across the two workstations and an empty queue", interval=0.5)
    assert [station.stop() for station in workstations] == [0, 0]
    first, second = (placed(s.folder) for s in workstations)
    assert set(first) & set(second) == set(), "a file landed on both workstations"
    assert {**first, **second} == expected
    assert first and second, f"one workstation did all the work ({len(first)} and {len(second)} files)"
    assert temp_files(workstations[0].folder) == temp_files(workstations[1].folder) == []


def test_share_with_one_workstation_killed_halfway(endpoint: str, workstations: list[Workstation]) -> None:
    bucket = new_bucket(endpoint)
    expected = random_files(200, "farm", random.Random(17), low=2_000, high=40_000)
    urls = connect_all(endpoint, bucket, workstations, "--mode", "share", max_bandwidth="300KB/s")
    # The killed agent's messages come back once their visibility runs out: an administrator's 10 s instead of
    # connect's 60 keeps the test short (each agent reads the queue's timeout when it starts).
    client("sqs", endpoint).set_queue_attributes(QueueUrl=urls[0], Attributes={"VisibilityTimeout": "10"})
    killed, survivor = workstations
    start_all(workstations)
    upload(endpoint, bucket, expected)
    wait_until(lambda: sum(len(placed(s.folder)) for s in workstations) >= len(expected) // 2, 240,
               what="half the files to be downloaded", interval=0.2)
    assert killed.stop(signal.SIGKILL) == -signal.SIGKILL
    killed_had = placed(killed.folder)
    assert 0 < len(killed_had) < len(expected), "the kill did not land halfway through the killed agent's work"

    def done() -> bool:
        return set(placed(survivor.folder)) | set(killed_had) >= set(expected) and queue_counts(endpoint, urls[0]) == (0, 0)

    wait_until(done, 300, what="the surviving workstation to finish the work", interval=0.5)
    assert survivor.stop() == 0
    theirs, mine = placed(killed.folder), placed(survivor.folder)
    assert theirs == killed_had, "nothing changed in the killed agent's folder after it died"
    for folder in (theirs, mine):
        wrong = [key for key, data in folder.items() if expected.get(key) != data]
        assert wrong == [], f"partial or unexpected files: {wrong[:5]}"
    assert set(theirs) | set(mine) == set(expected), "a file is missing from both folders"
    doubles = set(theirs) & set(mine)
    # Only a message the killed agent held at the moment of the kill can come back: its downloads in progress, the
    # batch it had received ahead of them, and the placed files whose deletes were still being batched.
    assert len(doubles) <= 2 * CONCURRENCY + 20, f"{len(doubles)} files in both folders"
    print(f"killed agent placed {len(theirs)} files, the survivor {len(mine)}; {len(doubles)} in both (at least once)")

    # The killed workstation starts again later: it removes the temporary files it left behind.
    killed.start()
    killed.wait_ready()
    wait_until(lambda: temp_files(killed.folder) == [], 60, what="the restarted agent to remove its temporary files")
    assert killed.stop() == 0
    assert placed(killed.folder) == theirs
