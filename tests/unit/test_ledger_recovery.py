"""A damaged ledger is kept aside and replaced (files already on disk are recognised by content); one that cannot
be opened at all is a clear error, not a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent import dirs
from agent.engine.ledger import Ledger
from agent.errors import LedgerError
from tests.helpers import run_agent


def test_a_damaged_ledger_is_kept_aside_and_replaced(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    path.write_bytes(os.urandom(4096))
    ledger = Ledger(path)
    ledger.set_state("x", "1")
    assert ledger.get_state("x") == "1"
    ledger.close()
    [aside] = [p for p in tmp_path.iterdir() if ".damaged-" in p.name and not p.name.endswith(("-wal", "-shm"))]
    assert aside.stat().st_size == 4096
    if os.name != "nt":
        assert path.stat().st_mode & 0o777 == 0o600


def test_a_ledger_that_cannot_be_opened_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    path.mkdir()
    with pytest.raises(LedgerError, match="Cannot open the ledger"):
        Ledger(path)


def test_the_command_line_reports_it_without_a_traceback() -> None:
    dirs.ledger_file().parent.mkdir(parents=True, exist_ok=True)
    dirs.ledger_file().mkdir()
    result = run_agent("status")
    assert result.returncode == 1
    assert "Cannot open the ledger" in result.stderr and "Traceback" not in result.stderr
    damaged = run_agent("failed", "list")
    assert damaged.returncode == 1 and "Traceback" not in damaged.stderr
