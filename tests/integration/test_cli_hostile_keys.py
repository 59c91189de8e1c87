"""The terminal commands print a key as the log writes it: its controls, ANSI escapes and bidi overrides escaped."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

from tests.aws import Setup, s3_event_body
from tests.helpers import drain, run_agent, write_config

HOSTILE = "evil\x1b[2J\u202egnp.wav"  # clears the terminal, then reads as "evilvaw.png"
ESCAPED = "evil\\x1b[2J\\u202egnp.wav"


def test_failed_list_and_status_escape_a_hostile_key(aws: Setup, tmp_path: Path) -> None:
    aws.send(s3_event_body(aws.bucket, urllib.parse.quote_plus(HOSTILE), size=4))  # never uploaded: kept as failed
    assert drain(write_config(tmp_path / "c.yaml", aws.config(str(tmp_path / "out"), max_attempts=1))).returncode == 3
    listed, status = run_agent("failed", "list").stdout, run_agent("status").stdout
    for output in (listed, status):
        assert ESCAPED in output and "\x1b" not in output and "\u202e" not in output, output
    assert listed.count("\n") == 1  # one line for the one failure
