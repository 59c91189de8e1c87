"""A timed pause against moto: the engine resumes by itself at the chosen moment, also after a restart."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from agent import config as config_module
from agent.engine.engine import Engine
from agent.engine.events import State
from agent.engine.ledger import Ledger
from agent.plugins.manager import PluginHost
from tests.aws import Setup
from tests.helpers import run_agent, wait_until, write_config


def make_engine(aws: Setup, tmp_path: Path) -> Engine:
    config = config_module.load(write_config(tmp_path / "config.yaml", aws.config(str(tmp_path / "out"))))
    return Engine(config, Ledger(tmp_path / "ledger.sqlite3"), hooks=PluginHost)


def test_a_timed_pause_holds_downloads_then_resumes_by_itself(aws: Setup, tmp_path: Path) -> None:
    engine = make_engine(aws, tmp_path)
    engine.start()
    try:
        until = datetime.now().astimezone() + timedelta(seconds=4)
        engine.pause(until)
        status = engine.status()
        assert status.state is State.PAUSED and status.paused_until == until and engine.paused_by_user
        aws.put("held.wav", b"held")
        wait_until((tmp_path / "out" / "held.wav").exists, 60, "the download once the pause is over")
        assert datetime.now().astimezone() >= until, "downloaded before the pause was over"
        assert not engine.paused_by_user and engine.status().paused_until is None
        assert engine.ledger.get_state("paused") == "0"
    finally:
        engine.stop()
        engine.ledger.close()


def test_a_timed_pause_survives_a_restart_and_then_ends_by_itself(aws: Setup, tmp_path: Path) -> None:
    first = make_engine(aws, tmp_path)
    first.start()
    until = datetime.now().astimezone().replace(microsecond=0) + timedelta(seconds=6)
    first.pause(until)
    first.stop()
    first.ledger.close()

    second = make_engine(aws, tmp_path)
    assert second.paused_by_user and second.paused_until == until
    second.start(paused=second.paused_by_user)
    try:
        assert second.status().state is State.PAUSED and second.status().paused_until == until
        aws.put("after-restart.wav", b"x")
        wait_until((tmp_path / "out" / "after-restart.wav").exists, 60, "the download once the pause is over")
        assert datetime.now().astimezone() >= until
        wait_until(lambda: second.status().state is State.IDLE, 30, "the idle state")
    finally:
        second.stop()
        second.ledger.close()


def test_a_pause_that_ended_while_the_agent_was_off_is_over(aws: Setup, tmp_path: Path) -> None:
    engine = make_engine(aws, tmp_path)
    engine.ledger.set_state("paused", "1")
    engine.ledger.set_state("paused_until", str((datetime.now() - timedelta(minutes=5)).timestamp()))
    engine.ledger.close()
    engine = make_engine(aws, tmp_path)
    assert not engine.paused_by_user and engine.paused_until is None
    engine.ledger.close()


def test_status_shows_the_pause_and_when_it_ends(tmp_path: Path, private_home: Path) -> None:
    ledger = Ledger(private_home / "data" / "s3-sqs-agent" / "ledger.sqlite3")
    assert "Paused: no" in run_agent("status").stdout
    until = datetime.now().astimezone().replace(second=0, microsecond=0) + timedelta(hours=3)
    ledger.set_state("paused", "1")
    ledger.set_state("paused_until", str(until.timestamp()))
    output = run_agent("status").stdout
    assert f"Paused: until {until:%H:%M}" in output or f"Paused: until tomorrow {until:%H:%M}" in output, output
    assert f"({until:%Y-%m-%d %H:%M}" in output and "it resumes by itself" in output
    ledger.set_state("paused_until", "")
    assert "Paused: yes, until you resume it" in run_agent("status").stdout
    ledger.close()
