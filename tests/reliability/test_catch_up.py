"""Catch-up after notifications were lost: every object arrives exactly once, keys are never decoded twice,
filters and prefixes are respected, and a start after a long absence offers (never starts) a catch-up."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent import config as config_module
from agent.engine.consumer import LAST_RUN_STATE
from agent.engine.engine import Engine
from agent.engine.events import CatchUpSuggested
from agent.engine.ledger import Ledger
from agent.plugins.manager import PluginHost
from tests.aws import Setup
from tests.helpers import files_under, run_agent, write_config
from tests.reliability.helpers import wait_for

TRICKY = ["lost/a+b.wav", "lost/100%.wav", "lost/a%2Bb.wav", "lost/with space.wav", "lost/café.wav", "lost/x+y z%41.wav"]


def _drain(config: Path) -> None:
    result = run_agent("run", "--headless", "--config", str(config), "--drain")
    assert result.returncode == 0, result.stderr


def test_catch_up_after_lost_notifications_brings_every_object_once(aws: Setup, tmp_path: Path) -> None:
    out = tmp_path / "out"
    config = write_config(tmp_path / "c.yaml", aws.config(str(out), exclude=["*.tmp"]))
    first = {"seen/1.wav": os.urandom(4000), "seen/2.wav": os.urandom(5000)}
    for key, data in first.items():
        aws.put(key, data)
    _drain(config)
    # The agent is off: more uploads, and their notifications are lost.
    later = {key: os.urandom(3000 + i) for i, key in enumerate(TRICKY)}
    later["lost/big.wav"] = os.urandom(17 * 1024 * 1024 + 5)  # ranged GETs
    for key, data in later.items():
        aws.put(key, data)
    aws.put("lost/skip.tmp", b"filtered out")
    aws.sqs.purge_queue(QueueUrl=aws.queue_url)
    (out / "seen/1.wav").unlink()  # the user deleted a file they did not want: catch-up leaves it deleted

    result = run_agent("catch-up", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "Catch-up: 10 listed, 1 already here, 7 downloaded, 2 skipped, 0 failed" in result.stderr, result.stderr
    expected = {"seen/2.wav": first["seen/2.wav"], **later}
    assert files_under(out) == expected  # each once, under its exact key: nothing decoded twice

    again = run_agent("catch-up", "--config", str(config))
    assert again.returncode == 0 and "0 downloaded" in again.stderr, again.stderr
    # Notifications that do arrive late are recognised as duplicates.
    for key in TRICKY[:2]:
        aws.put(key, later[key])
    _drain(config)
    assert files_under(out) == expected


def test_catch_up_adopts_files_already_in_the_folder(aws: Setup, tmp_path: Path) -> None:
    """Files fetched by the old script (no ledger) are compared by content, not downloaded as second copies."""
    out = tmp_path / "out"
    data = os.urandom(2000)
    aws.put("old/take.wav", data)
    aws.put("old/changed.wav", b"new content")
    (out / "old").mkdir(parents=True)
    (out / "old/take.wav").write_bytes(data)
    (out / "old/changed.wav").write_bytes(b"my edit")
    config = write_config(tmp_path / "c.yaml", aws.config(str(out)))
    result = run_agent("catch-up", "--config", str(config))
    assert result.returncode == 0, result.stderr
    found = files_under(out)
    assert found.pop("old/take.wav") == data and found.pop("old/changed.wav") == b"my edit"
    assert list(found.values()) == [b"new content"]  # written beside the user's file


def test_prefix_and_since(aws: Setup, tmp_path: Path) -> None:
    out = tmp_path / "out"
    aws.put("a/1.wav", b"1")
    aws.put("b/2.wav", b"2")
    config = write_config(tmp_path / "c.yaml", aws.config(str(out)))
    assert run_agent("catch-up", "--config", str(config), "--prefix", "a/").returncode == 0
    assert files_under(out) == {"a/1.wav": b"1"}
    tomorrow = (datetime.now() + timedelta(days=1)).strftime("%Y-%m-%d")
    assert run_agent("catch-up", "--config", str(config), "--since", tomorrow).returncode == 0
    assert files_under(out) == {"a/1.wav": b"1"}
    bad = run_agent("catch-up", "--config", str(config), "--since", "last tuesday")
    assert bad.returncode == 2 and "expected a date" in bad.stderr


def test_catch_up_needs_the_bucket_name(aws: Setup, tmp_path: Path) -> None:
    data = aws.config(str(tmp_path / "out"))
    del data["s3_bucket_name"]
    result = run_agent("catch-up", "--config", str(write_config(tmp_path / "c.yaml", data)))
    assert result.returncode == 1 and "s3_bucket_name" in result.stderr


def _start(aws: Setup, tmp_path: Path, last_run: float | None) -> list[object]:
    config = config_module.load(write_config(tmp_path / "c.yaml", aws.config(str(tmp_path / "out"))))
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    if last_run is not None:
        ledger.set_state(LAST_RUN_STATE, str(last_run))
    engine = Engine(config, ledger, hooks=PluginHost)
    events: list[object] = []
    engine.subscribe(events.append)
    aws.send({"Event": "s3:TestEvent"})  # something to receive at once, rather than a 20 s long poll
    engine.start()
    try:
        wait_for(lambda: float(ledger.get_state(LAST_RUN_STATE) or 0) > time.time() - 30, 30, what="the receive time noted")
        engine.bus.flush()
    finally:
        engine.stop()
        ledger.close()
    return [e for e in events if isinstance(e, CatchUpSuggested)]


def test_a_start_after_longer_than_the_retention_offers_catch_up(aws: Setup, tmp_path: Path) -> None:
    retention = 345_600  # the queue's default, 4 days
    [suggested] = _start(aws, tmp_path / "away", time.time() - retention - 3600)
    assert suggested.retention_seconds == retention
    assert suggested.last_run < datetime.now(UTC) - timedelta(seconds=retention)
    assert _start(aws, tmp_path / "recent", time.time() - 3600) == []
    assert _start(aws, tmp_path / "first", None) == []


def test_stopping_a_catch_up_leaves_nothing_partial_and_a_second_run_finishes(aws: Setup, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    from tests.helpers import ROOT
    from tests.reliability.helpers import temp_files

    expected = {f"many/{i:02d}.wav": os.urandom(200_000) for i in range(30)}
    for key, data in expected.items():
        aws.put(key, data)
    aws.sqs.purge_queue(QueueUrl=aws.queue_url)
    out = tmp_path / "out"
    slow = write_config(tmp_path / "slow.yaml", aws.config(str(out), max_bandwidth="400KB/s", concurrency=2))
    process = subprocess.Popen([sys.executable, "-m", "agent", "catch-up", "--config", str(slow)], cwd=ROOT,
                               stderr=subprocess.PIPE, text=True)
    wait_for(lambda: out.exists() and temp_files(out), 60, what="a download in progress")
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stderr
    assert "Stopping the catch-up" in stderr
    assert temp_files(out) == []
    partial = files_under(out)
    assert 0 < len(partial) < len(expected) and all(expected[k] == v for k, v in partial.items())
    fast = write_config(tmp_path / "fast.yaml", aws.config(str(out)))
    result = run_agent("catch-up", "--config", str(fast))
    assert result.returncode == 0, result.stderr
    assert files_under(out) == expected
