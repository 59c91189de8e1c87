"""A brownout: S3 answers every GET with 503 SlowDown for a while. Many objects failing with the server's own error
at once is the server's fault, not the objects': the agent holds downloads as when offline and spends no attempts,
so nothing is given up, and everything arrives once the server recovers."""

from __future__ import annotations

import random
import time
from pathlib import Path

from agent.engine.events import Failed, Retrying, State
from tests.aws import make_setup
from tests.reliability.helpers import assert_final, random_files, start_engine, wait_for
from tests.reliability.proxy import FaultProxy


def test_a_brownout_holds_downloads_without_spending_attempts(moto_endpoint: str, proxy: FaultProxy, tmp_path: Path) -> None:
    """On both GET paths (conftest.py): the CRT reports a 503 as its own error (AWS_ERROR_S3_SLOW_DOWN), boto3 as SlowDown."""
    aws = make_setup(moto_endpoint)
    expected = random_files(12, "brownout", random.Random(5), low=2_000, high=30_000)
    for key, data in expected.items():
        aws.put(key, data)
    proxy.faults.busy = {"GetObject"}
    out = tmp_path / "out"
    # Two attempts and 1 s backoffs: without the brownout rule, every object would be given up within seconds.
    run = start_engine(aws.config(str(out), endpoint_url=proxy.url, max_attempts=2, concurrency=4,
                                  retry_base_seconds=1, retry_max_seconds=1), tmp_path, drain=True)
    try:
        wait_for(lambda: run.engine.status().state is State.OFFLINE, 60, what="the brownout seen as the server's problem")
        refused_before = proxy.count("GetObject")
        time.sleep(6)  # the brownout goes on: the agent probes now and then, one message at a time
        probes = proxy.count("GetObject") - refused_before
        proxy.faults.busy = set()
        assert run.engine.wait(120), "the drain did not finish after the brownout"
    finally:
        run.stop()
    assert not run.of(Failed), [f.reason for f in run.of(Failed)]
    assert len(run.of(Retrying)) < BROWNOUT_LIMIT, "attempts were spent object by object"
    assert 1 <= probes <= 30, f"{probes} GETs in 6 s of brownout: not backing off"  # botocore may retry each probe
    assert State.ATTENTION not in run.states(), "a brownout is not something the user must fix"
    assert run.log.count("Back to normal") >= 1
    assert_final(out, expected, aws)


BROWNOUT_LIMIT = 3  # the objects that fail before the brownout is recognised (hold.BROWNOUT_OBJECTS)
