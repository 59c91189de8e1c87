"""The benchmark harness's own pieces on a tiny workload against moto, so `make bench` does not rot between runs."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.aws import start_moto

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server, url = start_moto()
    yield url
    server.stop()


def test_agent_drain_replayed_notifications_and_the_table(bench: Any, endpoint: str, tmp_path: Path) -> None:
    wired = bench.Wired.create(endpoint)
    keys = [f"small/{i:02d}.bin" for i in range(5)]
    wired.capture("small", keys, b"x" * 1000)
    assert len(wired.bodies["small"]) == 5
    for run in range(2):  # the same notifications announced again for each run
        folder = tmp_path / f"dest{run}"
        folder.mkdir()
        assert bench.run_agent_drain(wired, "small", folder, 5) > 0
        assert sorted(p.relative_to(folder).as_posix() for p in bench.files_in(folder)) == keys
    results = {"meta": {"date": "today", "machine": "here", "server": "moto", "runs": 2, "load": "0"},
               "small": {"count": 5, "size": 64 * 1024, "ceilings": {"curl": bench.summary([10.0, 12.0])}, "tools": {
                   "agent": {"files_per_s": bench.summary([5, 6]), "mib_per_s": bench.summary([1, 2]), "seconds": bench.summary([1, 1])},
                   "s5cmd": {"files_per_s": bench.summary([5, 5]), "mib_per_s": bench.summary([1, 1]), "seconds": bench.summary([1, 1])},
                   "rclone": {"error": "not installed"}}},
               "startup": bench.summary([0.5, 0.6]),
               "bucket": {"notifications": 5, "others": 10, "runs": 5, "empty": bench.summary([1.0]), "full": bench.summary([1.05]),
                          "ratio": 1.05, "requests": {"empty": {"all": 20, "listings": 0}, "full": {"all": 21, "listings": 1}},
                          "server_get_seconds": {"empty": bench.summary([0.4]), "full": bench.summary([0.5])}, "server_ratio": 1.25},
               "idle": {"seconds": 1, "modes": {"headless": {"requests_per_min": 3, "cpu_percent": 0.1, "rss_mb": 60},
                                                "tray": {"requests_per_min": 3, "cpu_percent": 0.1, "rss_mb": 150}}}}
    table = bench.render(results)
    assert "| agent | 6 (5–6) |" in table and "1.10×" in table and "n/a: not installed" in table
    assert "start-up and exit alone (empty queue), in each agent run above | | | 0.55 (0.50–0.60) |" in table
    assert "5 alternating runs | ≤ 1.1 | 1.05" in table
    assert "| no listing | 21 vs 20, of which listings 1 vs 0 | no |" in table  # a listing fails the target
    assert "| idle, tray: RSS | (no target) | 150 MB |  |" in table and "| idle, headless: RSS | < 80 MB | 60 MB | yes |" in table
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Performance\n\nbefore\n\n{bench.TABLE_START}\nold\n{bench.TABLE_END}\n\nafter\n")
    bench.update_doc(table, doc)
    text = doc.read_text()
    assert "old" not in text and "before" in text and "after" in text and "| agent |" in text


def test_counting_proxy_counts_requests(bench: Any, endpoint: str) -> None:
    proxy = bench.CountingProxy(int(endpoint.rsplit(":", 1)[1]))
    try:
        s3, sqs = bench.clients(proxy.endpoint)
        s3.list_buckets()
        sqs.list_queues()
        s3.list_buckets()
        assert proxy.requests == 3 and proxy.listings == 0
        s3.create_bucket(Bucket="listed")
        s3.put_object(Bucket="listed", Key="a/b.bin", Body=b"z")
        s3.get_object(Bucket="listed", Key="a/b.bin")["Body"].read()
        assert proxy.listings == 0
        s3.list_objects_v2(Bucket="listed", Prefix="a/")
        assert proxy.listings == 1
    finally:
        proxy.close()


def test_helpers(bench: Any) -> None:
    assert bench.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5) == 5
    assert bench.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95) == 10
    assert bench.summary([3, 1, 2]) == {"median": 2, "min": 1, "max": 3, "runs": 3}
    command, env = bench.tool_command("s5cmd", bench.Tools(Path("/t")), "http://127.0.0.1:1", "b", "small/", Path("/d"), True)
    assert command[-2:] == ["s3://b/small/*", "/d/"] and env["AWS_ACCESS_KEY_ID"] == bench.KEY_ID


def test_s5cmd_against_moto(bench: Any, endpoint: str, tmp_path: Path) -> None:
    tools = bench.Tools(ROOT / "bench" / ".tools")
    if not tools.s5cmd.exists():
        pytest.skip("s5cmd is installed by `make bench` (bench/.tools)")
    wired = bench.Wired.create(endpoint, notify=False)
    wired.upload([f"small/{i}.bin" for i in range(3)], b"y" * 100)
    assert bench.run_tool("s5cmd", tools, wired, "small/", tmp_path, True, 3) > 0
