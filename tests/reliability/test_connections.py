"""Slow and broken connections, through a loopback proxy: latency, a stall longer than the visibility timeout,
bodies cut mid-way or cleanly truncated. Nothing partial is ever renamed into place; nothing is delivered twice."""

from __future__ import annotations

import random
from pathlib import Path

from agent.engine.events import Downloaded, Retrying, State
from tests.aws import make_setup
from tests.reliability.helpers import assert_final, random_files, start_engine, wait_for
from tests.reliability.proxy import FaultProxy


def test_latency_cuts_and_truncated_bodies_are_retried(moto_endpoint: str, proxy: FaultProxy, tmp_path: Path) -> None:
    aws = make_setup(moto_endpoint)
    expected = random_files(24, "cut", random.Random(7), low=5_000, high=60_000)
    for key, data in expected.items():
        aws.put(key, data)
    proxy.faults.latency = 0.03
    proxy.faults.cut_bodies = 3
    proxy.faults.truncate_bodies = 3
    out = tmp_path / "out"
    run = start_engine(aws.config(str(out), endpoint_url=proxy.url, max_attempts=8, concurrency=4), tmp_path, drain=True)
    try:
        assert run.engine.wait(120), "the drain did not finish"
    finally:
        run.stop()
    assert proxy.faults.cut_bodies == 0 and proxy.faults.truncate_bodies == 0, "the faults were not all injected"
    retried = run.of(Retrying)
    assert len(retried) >= 6
    assert any("broke off" in r.reason for r in retried), [r.reason for r in retried]
    assert any("got " in r.reason and "bytes" in r.reason for r in retried), [r.reason for r in retried]  # the size check
    assert all("broke off" in r.reason or "damaged in transit" in r.reason for r in retried), [r.reason for r in retried]
    assert sorted(d.event.key for d in run.of(Downloaded)) == sorted(expected)  # each exactly once
    assert_final(out, expected, aws)


def test_a_stall_longer_than_the_visibility_timeout_is_not_delivered_twice(moto_endpoint: str, proxy: FaultProxy, tmp_path: Path) -> None:
    """The proxy holds the second half of one body for 7 s against a 2 s visibility timeout."""
    aws = make_setup(moto_endpoint, visibility_timeout=2)
    expected = {"stall/slow.wav": random.Random(3).randbytes(300_000)}
    aws.put("stall/slow.wav", expected["stall/slow.wav"])
    proxy.faults.stall_bodies = 1
    proxy.faults.stall_seconds = 7
    out = tmp_path / "out"
    run = start_engine(aws.config(str(out), endpoint_url=proxy.url), tmp_path, drain=True)
    try:
        assert run.engine.wait(60)
    finally:
        run.stop()
    assert proxy.faults.stall_bodies == 0
    assert proxy.count("GetObject") == 1, "the stalled object was fetched again"
    assert proxy.count("ChangeMessageVisibilityBatch") >= 2, "no heartbeat extended the message"
    assert run.downloaded() == 1 and run.log.count("duplicate notification") == 0
    assert_final(out, expected, aws)


def test_receives_cut_without_an_answer_mean_offline_not_attention(moto_endpoint: str, proxy: FaultProxy, tmp_path: Path) -> None:
    """Regression: a long poll cut by the network used to show "needs attention", as if the user had to act."""
    aws = make_setup(moto_endpoint)
    expected = {"drop/a.wav": b"a" * 5000}
    aws.put("drop/a.wav", expected["drop/a.wav"])
    proxy.faults.drop = {"ReceiveMessage": 12}  # more than botocore's own three tries per call
    out = tmp_path / "out"
    run = start_engine(aws.config(str(out), endpoint_url=proxy.url), tmp_path)
    try:
        wait_for(lambda: run.downloaded() == 1, 90, what="the download after the dropped receives")
    finally:
        run.stop()
    assert proxy.faults.drop["ReceiveMessage"] == 0
    states = run.states()
    assert State.OFFLINE in states and State.ATTENTION not in states, states
    assert_final(out, expected, aws)
