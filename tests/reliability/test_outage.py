"""The S3 + SQS endpoint goes away for about 20 s in the middle of a drain and comes back on the same port.

moto keeps its state in memory, so stopping its process would lose the data; instead the fault proxy in front
of it closes its listening socket and every open connection: for the agent this is exactly a stopped server
(connections refused, long polls cut), and when the proxy listens again the same data is behind it.

A refused connection never reaches the proxy, so the requests made during the outage are counted from the
engine's side: each failed attempt (receive or download) logs one "Cannot reach the endpoint" line, and botocore
adds at most its own three tries to each. A busy loop would log thousands in 20 s; backoff logs a handful.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from agent.engine.events import State
from tests.aws import make_setup
from tests.reliability.helpers import assert_final, random_files, start_engine, wait_for
from tests.reliability.proxy import FaultProxy

OUTAGE_SECONDS = 20


def test_outage_mid_drain_goes_offline_backs_off_and_recovers(moto_endpoint: str, proxy: FaultProxy, tmp_path: Path) -> None:
    aws = make_setup(moto_endpoint, visibility_timeout=5)
    expected = random_files(60, "outage", random.Random(11), low=20_000, high=60_000)
    for key, data in expected.items():
        aws.put(key, data)
    out = tmp_path / "out"
    # A bandwidth limit keeps the drain going long enough for the outage to land in its middle.
    run = start_engine(aws.config(str(out), endpoint_url=proxy.url, max_bandwidth="400KB/s", concurrency=4,
                                  retry_base_seconds=1, retry_max_seconds=8), tmp_path)
    try:
        wait_for(lambda: run.downloaded() >= 10, 60, what="ten downloads before the outage")
        proxy.down()
        down_at = time.monotonic()
        wait_for(lambda: run.engine.status().state is State.OFFLINE, 30, what="the offline state")
        before = run.log.count("Cannot reach the endpoint")
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))
        during = run.log.count("Cannot reach the endpoint") - before
        proxy.up()
        # Every file is down before every message is gone: a delete the outage cut comes back once its visibility
        # times out, and the running agent finds the file already there and deletes it then.
        wait_for(lambda: run.downloaded() >= len(expected) and run.engine.status().state is State.IDLE and aws.counts() == (0, 0),
                 120, what="every file, every message deleted, and the idle state after the outage")
    finally:
        run.stop()
    states = run.states()
    offline = states.index(State.OFFLINE)
    assert State.SYNCING in states[offline:] or State.IDLE in states[offline:], states
    assert State.ATTENTION not in states, f"an outage is not something the user must fix: {states}"
    # Backoff, no busy loop: with holds growing to 8 s, twenty seconds hold a handful of failed attempts.
    assert 1 <= during <= 12, f"{during} failed attempts logged in {OUTAGE_SECONDS} s"
    assert run.log.count("Back to normal") >= 1
    assert_final(out, expected, aws)


def test_started_while_offline_the_heartbeat_still_matches_the_queue(moto_endpoint: str, proxy: FaultProxy, tmp_path: Path) -> None:
    """Regression: started while the endpoint was down, the agent assumed a 30 s visibility timeout it never
    checked again; on a 2 s queue a download longer than 2 s was delivered a second time."""
    aws = make_setup(moto_endpoint, visibility_timeout=2)
    data = random.Random(4).randbytes(200_000)
    aws.put("late/slow.wav", data)
    proxy.down()
    out = tmp_path / "out"
    run = start_engine(aws.config(str(out), endpoint_url=proxy.url, retry_base_seconds=1, retry_max_seconds=2), tmp_path)
    try:
        wait_for(lambda: run.engine.status().state is State.OFFLINE, 30, what="the offline state")
        proxy.faults.stall_bodies = 1
        proxy.faults.stall_seconds = 6
        proxy.up()
        wait_for(lambda: run.downloaded() == 1, 60, what="the download")
        time.sleep(3)  # a second delivery would come within a visibility timeout or two
    finally:
        run.stop()
    assert proxy.count("GetObject") == 1 and run.log.count("duplicate notification") == 0
    assert_final(out, {"late/slow.wav": data}, aws)
