"""A commit that make_durable() returns from is on the disk: the ledger's WAL is synced at each commit (synchronous=FULL),
not only at the next checkpoint, so a power cut cannot roll back the rows of files whose messages were deleted."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

SCRIPT = """
import os, sys
from pathlib import Path
from agent.engine.ledger import FileRecord, Ledger
ledger = Ledger(Path(sys.argv[1]))
ledger.set_state("opened", "1")
os.path.exists(sys.argv[1] + ".MARK")
for i in range(3):
    ledger.record_file(FileRecord("b", f"k{i}", "e", None, 1, Path(f"/x/k{i}"), f"/x/k{i}", 0, False, 0.0, "/x", None))
    ledger.make_durable(ledger.batches_of_this_thread())  # what the consumer calls before it deletes a batch's messages
    os.path.exists(sys.argv[1] + ".MARK")
ledger.close()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("strace") is None, reason="strace (Linux)")
def test_every_commit_before_a_delete_syncs_the_ledgers_write_ahead_log(tmp_path: Path) -> None:
    """Regression: with synchronous=NORMAL the WAL was synced only at checkpoints: make_durable() returned, the
    messages were deleted, and a power cut then could still roll the rows back."""
    trace = tmp_path / "trace"
    ledger = tmp_path / "ledger.sqlite3"
    result = subprocess.run(["strace", "-f", "-e", "trace=fsync,fdatasync,newfstatat,stat", "-o", str(trace), sys.executable,
                             "-c", SCRIPT, str(ledger)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    if result.returncode != 0 and "ptrace" in result.stderr:
        pytest.skip(f"strace cannot trace here: {result.stderr.strip()[:200]}")
    assert result.returncode == 0, result.stderr
    steps = trace.read_text().split(".MARK")[1:]  # what happened after the first mark, between each later one
    assert len(steps) == 4
    assert all("fsync(" in step or "fdatasync(" in step for step in steps[:3]), "a commit returned before its WAL was synced"
