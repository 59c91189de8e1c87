"""kill -9 at random moments during a drain of 200 files, restarting the agent each time, for several seeds.

The agent runs as a real child process (`python -m agent run --headless`) and is killed with SIGKILL, so nothing
of its shutdown path runs. The queue's visibility timeout is short (3 s) so that messages the killed process held
come back quickly, and each seed uses a fresh queue (moto keeps serving a killed client's long poll).
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.aws import make_setup
from tests.helpers import ROOT, run_agent, wait_until, write_config
from tests.reliability.helpers import assert_final, random_files
from tests.reliability.proxy import FaultProxy

FILES = 200
KILLS_PER_SEED = 2


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_kill_9_at_random_moments_loses_and_doubles_nothing(moto_endpoint: str, proxy: FaultProxy, download_client: str,
                                                            tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    aws = make_setup(moto_endpoint, visibility_timeout=3)
    expected = random_files(FILES, f"kill{seed}", rng, low=500, high=30_000)
    for key, data in expected.items():
        aws.put(key, data)
    out = tmp_path / "out"
    # Slowed so that a kill lands mid-drain: boto3 by a bandwidth limit (which only boto3 serves), the CRT by latency.
    slow: dict[str, str] = {"max_bandwidth": "600KB/s"} if download_client == "boto3" else {}
    proxy.faults.latency = 0 if slow else 0.1
    config = write_config(tmp_path / "c.yaml", aws.config(str(out), concurrency=4, endpoint_url=proxy.url, **slow))
    killed_mid_drain = 0
    for kill in range(KILLS_PER_SEED):
        before = downloaded(out)
        process = subprocess.Popen([sys.executable, "-m", "agent", "run", "--headless", "--config", str(config)],
                                   cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if kill == 0:  # anywhere from start-up on: the agent is up in about half a second; a full drain takes about 5 s
            time.sleep(rng.uniform(0.6, 2.6))
        elif before < FILES - 1:  # after a random number of this run's files, however slowly a loaded machine gets there
            target = before + rng.randint(1, max(1, (FILES - before) // 2))
            wait_until(lambda target=target: downloaded(out) >= target, 90, f"the agent to write {target - before} files")
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        killed_mid_drain += 0 < downloaded(out) < FILES
    assert killed_mid_drain >= 1, "no kill landed in the middle of the drain"
    proxy.faults.latency = 0
    final = run_agent("run", "--headless", "--config", str(config), "--drain", timeout=180)
    assert final.returncode == 0, final.stderr[-3000:]
    assert_final(out, expected, aws)


def downloaded(out: Path) -> int:
    return len(list(out.rglob("*.wav"))) if out.exists() else 0
