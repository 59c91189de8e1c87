"""`run --headless --drain` when the endpoint never answers: a script gets exit code 1 and the reason once the agent
has been held up for --drain-timeout seconds, never a command that hangs; a short outage is still waited out, and
nothing held is lost (the messages stay in the queue for the next run)."""

from __future__ import annotations

import random
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from tests.aws import Setup, make_setup
from tests.helpers import ROOT, drain, files_under, write_config
from tests.reliability.helpers import assert_final, random_files, wait_for
from tests.reliability.proxy import FaultProxy


def _config(aws: Setup, tmp_path: Path, endpoint: str, **extra: object) -> Path:
    return write_config(tmp_path / "config.yaml", aws.config(str(tmp_path / "out"), endpoint_url=endpoint, **extra))


def _last_line(result: subprocess.CompletedProcess[str]) -> str:
    return result.stderr.strip().splitlines()[-1]


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A server that accepts connections and never answers: every request waits for botocore's read timeout."""
    with closing(socket.socket()) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)  # the kernel completes each handshake; nothing ever reads or replies
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_nothing_listening_gives_up_with_exit_1_and_the_reason(aws: Setup, tmp_path: Path) -> None:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{probe.getsockname()[1]}"  # bound, not listening: connections are refused
        result = drain(_config(aws, tmp_path, nowhere), "--drain-timeout", "3", timeout=90)
    assert result.returncode == 1, result.stderr
    assert "Cannot reach the endpoint" in result.stderr and "Traceback" not in result.stderr
    last = _last_line(result)
    assert "Gave up after being held up for 3 s (--drain-timeout): Offline: Cannot reach the endpoint" in last, last
    assert "Retrying by itself" not in last and "run again once this is fixed" in last


def test_a_server_that_never_answers_cannot_hold_the_drain_past_its_timeout(aws: Setup, tmp_path: Path, silent_endpoint: str) -> None:
    """botocore would wait 30 s per try, three tries per call: the drain's own clock ends it first."""
    result = drain(_config(aws, tmp_path, silent_endpoint), "--drain-timeout", "3", timeout=60)
    assert result.returncode == 1, result.stderr
    last = _last_line(result)
    assert "held up for 3 s (--drain-timeout): the queue" in last and "has not answered yet" in last, last


def test_an_outage_mid_drain_ends_it_and_the_next_run_finishes_the_work(moto_endpoint: str, proxy: FaultProxy, tmp_path: Path) -> None:
    out, aws = tmp_path / "out", make_setup(moto_endpoint, visibility_timeout=5)
    expected = random_files(30, "gone", random.Random(3), low=20_000, high=40_000)
    for key, data in expected.items():
        aws.put(key, data)
    config = _config(aws, tmp_path, proxy.url, max_bandwidth="200KB/s", concurrency=2)  # slow: the outage comes mid-drain
    process = subprocess.Popen([sys.executable, "-m", "agent", "run", "--headless", "--config", str(config), "--drain",
                                "--drain-timeout", "3"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: len(files_under(out)) >= 3 if out.exists() else False, 90, what="three downloads before the outage")
        proxy.down()
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1, stderr
    assert "Gave up after being held up for 3 s (--drain-timeout): Offline" in stderr.strip().splitlines()[-1], stderr
    assert len(files_under(out)) < len(expected), "the outage came too late to test anything"
    proxy.up()
    second = drain(config, timeout=180)
    assert second.returncode == 0, second.stderr
    assert_final(out, expected, aws)


def test_a_short_outage_at_start_is_waited_out(moto_endpoint: str, proxy: FaultProxy, tmp_path: Path) -> None:
    """The endpoint is down when the drain starts and back a little later: within --drain-timeout, nothing fails."""
    aws = make_setup(moto_endpoint)
    aws.put("take.wav", b"RIFF take")
    proxy.down()
    process = subprocess.Popen([sys.executable, "-m", "agent", "run", "--headless", "--config", str(_config(aws, tmp_path, proxy.url)),
                                "--drain", "--drain-timeout", "300"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    try:
        assert process.stderr is not None
        wait_for(lambda: lines.append(process.stderr.readline()) or "Cannot reach the endpoint" in lines[-1], 90,
                 what="the agent to find the endpoint down")
        proxy.up()
        _, rest = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, "".join(lines) + rest
    assert files_under(tmp_path / "out") == {"take.wav": b"RIFF take"}
