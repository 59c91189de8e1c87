"""The command line: every command has --help, and config commands say where and what."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent import __version__
from tests.helpers import ROOT, run_agent

COMMANDS = [[], ["run"], ["config"], ["config", "path"], ["config", "show"], ["config", "validate"], ["status"],
            ["failed"], ["failed", "list"], ["failed", "retry"], ["doctor"], ["setup"], ["connect"], ["disconnect"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_every_command_has_help(command: list[str]) -> None:
    result = run_agent(*command, "--help")
    assert result.returncode == 0 and "usage: s3-sqs-agent" in result.stdout


def test_every_command_is_in_the_readme() -> None:
    import argparse

    from agent.cli import build_parser

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    missing = [name for name in commands if f"s3-sqs-agent {name}" not in readme]
    assert not missing, f"README.md never shows: {', '.join(f's3-sqs-agent {n}' for n in missing)}"


def test_run_help_says_what_drain_does_when_the_endpoint_never_answers() -> None:
    text = " ".join(run_agent("run", "--help").stdout.split())
    assert "1 if the agent was held up for --drain-timeout seconds" in text
    assert "--drain-timeout SECONDS" in text and "the endpoint cannot be reached or does not answer" in text
    assert "Default: 120; 0 waits as long as it takes" in text
    bad = run_agent("run", "--headless", "--drain", "--drain-timeout", "soon")
    assert bad.returncode == 2 and "expected a number of seconds, 0 or more, such as 120, got 'soon'" in bad.stderr


@pytest.mark.parametrize("command", [["setup"], ["connect", "--bucket", "b", "--dry-run"]], ids=["setup", "connect"])
@pytest.mark.parametrize("value", ["", "localhost:4566"], ids=["empty", "no-scheme"])
def test_a_bad_endpoint_url_is_a_usage_error_that_says_why(command: list[str], value: str) -> None:
    result = run_agent(*command, "--endpoint-url", value)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "argument --endpoint-url: expected an http:// or https:// URL such as http://127.0.0.1:5000" in result.stderr


def test_drain_without_headless_is_refused_instead_of_starting_a_tray_that_never_ends() -> None:
    result = run_agent("run", "--drain")
    assert result.returncode == 2 and "--drain needs --headless" in result.stderr, result.stderr


def test_version() -> None:
    result = run_agent("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"s3-sqs-agent {__version__}"


def test_python_dash_m_is_the_same_command() -> None:
    assert run_agent("--help").stdout.startswith("usage: s3-sqs-agent")


def test_config_path_follows_xdg(private_home: Path) -> None:
    assert run_agent("config", "path").stdout.strip() == str(private_home / "config" / "s3-sqs-agent" / "config.yaml")


def test_validate_and_show(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("sqs_queue_url: https://sqs.eu-west-1.amazonaws.com/123456789012/q\ndownload_folder: in\n")
    result = run_agent("config", "validate", str(good))
    assert result.returncode == 0 and "valid" in result.stdout
    shown = run_agent("config", "show", str(good))
    assert "aws_region: eu-west-1" in shown.stdout and f"download_folder: {tmp_path / 'in'}" in shown.stdout
    assert "concurrency: 8" in shown.stdout and "restore_archived: null" in shown.stdout
    good.write_text(good.read_text() + "restore_archived: {days: 2, tier: bulk}\n")
    assert "restore_archived:\n  days: 2\n  tier: Bulk\n" in run_agent("config", "show", str(good)).stdout

    bad = tmp_path / "bad.yaml"
    bad.write_text("sqs_queue_url: nope\nretry_max_seconds: -1\n")
    result = run_agent("config", "validate", str(bad))
    assert result.returncode == 2
    assert "bad.yaml:1: sqs_queue_url: expected an SQS queue URL" in result.stderr
    assert "bad.yaml:2: retry_max_seconds" in result.stderr
    assert "download_folder: is required" in result.stderr


def test_status_on_an_empty_ledger() -> None:
    result = run_agent("status")
    assert result.returncode == 0 and "Recent files (0)" in result.stdout and "Failed messages kept in the ledger: 0" in result.stdout
