"""The benchmark harness's own pieces on tiny workloads against moto, so `make bench` does not rot between runs."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench import agent, report, tools
from bench.common import ROOT, KiB, MiB, clients, files_in, percentile, summary
from bench.proxy import CountingProxy
from bench.tools import Tools
from bench.wired import Wired
from bench.workloads import Context
from bench.workloads.copy import copy
from bench.workloads.startup import first_receive
from bench.workloads.warm import warm
from tests.aws import start_moto


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server, url = start_moto()
    yield url
    server.stop()


class MotoServer:
    """What the workloads need of the bench's server, served by moto."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.port = int(endpoint.rsplit(":", 1)[1])


def context(endpoint: str, tmp_path: Path) -> Context:
    no_tools = Tools(tmp_path / "no-tools")
    return Context(MotoServer(endpoint), no_tools, 1, tmp_path / "work", argparse.Namespace())  # type: ignore[arg-type]  # moto serves


def test_agent_drain_replayed_notifications(endpoint: str, tmp_path: Path) -> None:
    wired = Wired.create(endpoint)
    keys = [f"small/{i:02d}.bin" for i in range(5)]
    wired.capture("small", keys, b"x" * 1000)
    assert len(wired.bodies["small"]) == 5
    for run in range(2):  # the same notifications announced again for each run
        folder = tmp_path / f"dest{run}"
        folder.mkdir()
        result = agent.drain(wired, "small", folder, 5)
        assert result.seconds > 0 and result.cpu > 0
        assert sorted(p.relative_to(folder).as_posix() for p in files_in(folder)) == keys


def test_workloads_fill_in_their_figures(endpoint: str, tmp_path: Path) -> None:
    bench = context(endpoint, tmp_path)
    copy(bench, "small", 4, 2 * KiB)
    first_receive(bench)
    warm(bench, "small", 3, KiB)
    small = bench.results["copy"]["small"]
    assert small["tools"]["agent"]["files_per_s"]["median"] > 0 and "error" in small["tools"]["s5cmd"]
    assert bench.results["startup"]["cpu_seconds"]["median"] > 0
    assert 0 < bench.results["cold_start"]["first_receive"]["median"] < bench.results["cold_start"]["exit"]["median"]
    assert bench.results["warm"]["small"]["files_per_s"]["median"] > 0
    assert small["disk"]["files_per_s"]["median"] > 0  # the disk's durable ceiling
    table = report.render(bench.results)
    assert "**1. Many small files**: 4 objects of 2 KiB" in table and "cold start: launch to first receive" in table
    assert f"| {report.DISK_CEILING} |" in table and "vs the disk's durable ceiling" in table


def results() -> dict[str, Any]:
    def copy_row(agent_rate: float, s5cmd_rate: float, count: int, size: int, agent_cpu: float = 2.0) -> dict[str, Any]:
        return {"count": count, "size": size, "ceilings": {"curl": summary([10.0, 12.0])}, "tools": {
            "agent": {"files_per_s": summary([agent_rate]), "mib_per_s": summary([1, 2]), "seconds": summary([1, 1]),
                      "cpu_seconds": summary([agent_cpu])},
            "s5cmd": {"files_per_s": summary([s5cmd_rate]), "mib_per_s": summary([1, 1]), "seconds": summary([1, 1])},
            "s5cmd+fsync": {"files_per_s": summary([s5cmd_rate * 0.75]), "mib_per_s": summary([1, 1]), "seconds": summary([1, 1])},
            "rclone": {"error": "not installed"}},
            "disk": {"files_per_s": summary([2 * s5cmd_rate]), "mib_per_s": summary([1, 1]), "seconds": summary([1, 1])}}

    return {"meta": {"date": "today", "machine": "here", "server": "moto", "runs": 2, "load": "0", "download_path": "boto3 (test)"},
            "copy": {"small": copy_row(900, 1000, 1000, 64 * KiB, agent_cpu=1.5), "audio8": copy_row(110, 100, 200, 8 * MiB)},
            "startup": {"seconds": summary([0.5, 0.6]), "cpu_seconds": summary([0.6])},
            "cold_start": {"first_receive": summary([0.25]), "exit": summary([0.5]), "cpu_seconds": summary([0.4])},
            "warm": {"small": {"count": 1000, "size": 64 * KiB, "seconds": summary([2.0]), "files_per_s": summary([500]),
                               "mib_per_s": summary([31])}},
            "cores": {"count": 1000, "size": 64 * KiB, "one": summary([300]), "two": summary([400])},
            "growth": {"count": 10_000, "size": 4096, "start_mb": 60.0, "end_mb": 63.0, "max_mb": 64.0, "warm_files": 100},
            "bucket": {"notifications": 5, "others": 10, "runs": 5, "empty": summary([1.0]), "full": summary([1.05]),
                       "ratio": 1.05, "requests": {"empty": {"all": 20, "listings": 0}, "full": {"all": 21, "listings": 1}},
                       "server_get_seconds": {"empty": summary([0.4]), "full": summary([0.5])}, "server_ratio": 1.25},
            "idle": {"seconds": 1, "modes": {"headless": {"requests_per_min": 3, "cpu_percent": 0.1, "rss_mb": 60},
                                             "tray": {"requests_per_min": 3, "cpu_percent": 0.1, "rss_mb": 150}}}}


def test_the_targets_table_says_met_or_not(tmp_path: Path) -> None:
    table = report.render(results())
    assert "| agent | 900 (900–900) |" in table and "0.90×" in table and "n/a: not installed" in table
    assert "| 1000 × 64 KiB, vs s5cmd files/s | ≥ 0.7× | 0.90× | yes |" in table
    assert "| 200 × 8 MiB, vs s5cmd files/s | ≥ 0.8× | 1.10× | yes |" in table
    assert "| 1000 × 64 KiB, vs s5cmd with its files fsynced | ≥ 1.0× | 1.20× | yes |" in table
    assert "| 200 × 8 MiB, vs s5cmd with its files fsynced | ≥ 1.0× | 1.47× | yes |" in table
    assert "| 1000 × 64 KiB, vs the disk's durable ceiling (written and fsynced, no network) | (reported) | 0.45× (900 vs 2000 files/s) |" in table
    assert "| ≤ 1.0 ms | 0.90 ms | yes |" in table  # (1.5 s - 0.6 s) / 1000 files
    assert "| cold start: launch to first receive | ≤ 0.2 s | 250 (250–250) ms | no |" in table
    assert "| RSS over a 10000-file drain: at the end against after 100 files | flat (≤ 1.1) | 1.05 (60 MB → 63 MB, 64 MB at most) | yes |" in table
    assert "throughput on one core against two (1000 × 64 KiB) | (reported) | 0.75" in table
    assert "5 alternating runs | ≤ 1.1 | 1.05" in table
    assert "| no listing | 21 vs 20, of which listings 1 vs 0 | no |" in table  # a listing fails the target
    assert "| idle, tray: RSS | (reported) | 150 MB |  |" in table and "| idle, headless: RSS | < 80 MB | 60 MB | yes |" in table
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Performance\n\nbefore\n\n{report.TABLE_START}\nthe previous table\n{report.TABLE_END}\n\nafter\n")
    report.update_doc(table, doc)
    text = doc.read_text()
    assert "the previous table" not in text and "before" in text and "after" in text and "| agent |" in text


def test_counting_proxy_counts_requests_and_notes_the_first_receive(endpoint: str) -> None:
    with contextlib.closing(CountingProxy(int(endpoint.rsplit(":", 1)[1]))) as proxy:
        s3, sqs = clients(proxy.endpoint)
        s3.list_buckets()
        queue = sqs.create_queue(QueueName="counted")["QueueUrl"]
        assert proxy.requests == 2 and proxy.listings == 0 and proxy.first_receive is None
        sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0)
        assert proxy.first_receive is not None
        s3.create_bucket(Bucket="listed")
        s3.put_object(Bucket="listed", Key="a/b.bin", Body=b"z")
        s3.get_object(Bucket="listed", Key="a/b.bin")["Body"].read()
        assert proxy.listings == 0
        s3.list_objects_v2(Bucket="listed", Prefix="a/")
        assert proxy.listings == 1


def test_helpers() -> None:
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5) == 5
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95) == 10
    assert summary([3, 1, 2]) == {"median": 2, "min": 1, "max": 3, "runs": 3}
    command, env = tools.tool_command("s5cmd", Tools(Path("/t")), "http://127.0.0.1:1", "b", "small/", Path("/d"), True)
    assert command[-2:] == ["s3://b/small/*", "/d/"] and env["AWS_ACCESS_KEY_ID"] == "bench"


def test_s5cmd_against_moto(endpoint: str, tmp_path: Path) -> None:
    installed = Tools(ROOT / "bench" / ".tools")
    if not installed.s5cmd.exists():
        pytest.skip("s5cmd is installed by `make test` and `make bench` (bench/.tools)")
    wired = Wired.create(endpoint, notify=False)
    wired.upload([f"small/{i}.bin" for i in range(3)], b"y" * 100)
    assert tools.run_tool("s5cmd", installed, wired, "small/", tmp_path, True, 3) > 0
