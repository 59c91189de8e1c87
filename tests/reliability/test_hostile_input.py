"""The hostile message corpus (tests/corpus/messages) through a real drain: each body gets exactly its outcome,
the agent stays up, and nothing is written outside download_folder. Plus symlinks planted in the folder."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.aws import Setup, make_setup
from tests.helpers import files_under, run_agent, write_config
from tests.reliability.helpers import start_engine, wait_for

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "messages"
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the expected paths are those of a case-sensitive Linux file system")


def load_corpus(bucket: str) -> list[dict[str, Any]]:
    """Every case with its body, the bucket filled in."""
    cases = yaml.safe_load((CORPUS / "manifest.yaml").read_text(encoding="utf-8"))
    for case in cases:
        if "file" in case:
            case["body"] = (CORPUS / case["file"]).read_text(encoding="utf-8").replace("{{bucket}}", bucket)
        elif case["generate"] == "256kb-of-garbage":
            case["body"] = "x" * (256 * 1024 - 100)
        elif case["generate"] == "256kb-of-delete-records":
            record = {"eventName": "ObjectRemoved:Delete", "s3": {"bucket": {"name": bucket}, "object": {"key": "gone.wav"}}}
            count = (256 * 1024 - 200) // (len(json.dumps(record)) + 2)
            case["body"] = json.dumps({"Records": [record] * count})
        case["name"] = case.get("file") or case["generate"]
    return cases


def content(key: str) -> bytes:
    return ("object " + key).encode("utf-8", "surrogatepass")


def test_the_corpus_is_large_enough() -> None:
    cases = load_corpus("b")
    assert len(cases) >= 40
    assert {c["outcome"] for c in cases} == {"downloaded", "skipped", "dead-lettered"}
    assert all(len(c["body"].encode()) <= 256 * 1024 for c in cases)


@linux_only
def test_every_hostile_body_gets_its_exact_outcome(moto_endpoint: str, tmp_path: Path) -> None:
    aws = make_setup(moto_endpoint, notify=False)
    cases = load_corpus(aws.bucket)
    for case in cases:
        if "object" in case:
            aws.put(case["object"], content(case["object"]))
    for case in cases:
        aws.send(case["body"])
    box = tmp_path / "box"
    out = box / "out"
    run = start_engine(aws.config(str(out), dead_letter_queue_url=aws.dlq_url, exclude=["*.tmp"], concurrency=4), tmp_path, drain=True)
    try:
        assert run.engine.wait(180), "the drain did not finish"
        alive = [t.name for t in run.engine._pipeline.consumer._workers if t.is_alive()]
    finally:
        run.stop()
    assert len(alive) == 4

    dead = {m["Body"]: m["MessageAttributes"]["s3_sqs_agent.reason"]["StringValue"] for m in aws.dlq_messages()}
    expected_files = {c["path"]: content(c["object"]) for c in cases if c["outcome"] == "downloaded"}
    wrong: list[str] = []
    for case in cases:
        reason = dead.get(case["body"])
        if case["outcome"] == "dead-lettered":
            if reason is None or case["reason"] not in reason:
                wrong.append(f"{case['name']}: expected dead-lettered with {case['reason']!r}, got {reason!r}")
        elif reason is not None:
            wrong.append(f"{case['name']}: expected {case['outcome']}, but it was dead-lettered: {reason}")
    assert wrong == []
    assert len(dead) == sum(c["outcome"] == "dead-lettered" for c in cases)
    assert files_under(out) == expected_files
    assert aws.counts() == (0, 0)
    assert sorted(p.name for p in box.iterdir()) == ["out"], "something was written beside the download folder"
    assert not (tmp_path / "escape.wav").exists() and not Path("/etc/abs.wav").exists() and not Path("/escape.wav").exists()


@linux_only
def test_planted_symlinks_never_lead_outside(aws: Setup, tmp_path: Path) -> None:
    """`folder/sub -> outside`, a link to a file outside, and a dangling link: keys through them stay inside."""
    out = tmp_path / "out"
    outside = tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (outside / "victim.wav").write_bytes(b"do not touch")
    os.symlink(outside, out / "sub")
    os.symlink(outside / "victim.wav", out / "victim.wav")
    os.symlink(tmp_path / "nowhere", out / "dangling")
    os.symlink("/etc", out / "etc")
    keys = {"sub/x.wav": b"1", "victim.wav": b"2", "dangling/y.wav": b"3", "dangling": b"4", "etc/passwd": b"5", "sub/deeper/z.wav": b"6"}
    for key, data in keys.items():
        aws.put(key, data)
    config = write_config(tmp_path / "c.yaml", aws.config(str(out), dead_letter_queue_url=aws.dlq_url))
    result = run_agent("run", "--headless", "--config", str(config), "--drain")
    assert result.returncode == 3, result.stderr
    assert sorted(p.name for p in outside.iterdir()) == ["victim.wav"] and (outside / "victim.wav").read_bytes() == b"do not touch"
    assert not (tmp_path / "nowhere").exists()
    reasons = [m["MessageAttributes"]["s3_sqs_agent.reason"]["StringValue"] for m in aws.dlq_messages()]
    assert len(reasons) == 4 and all("symbolic link" in r or "outside the download folder" in r for r in reasons), reasons
    found = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file() and not p.is_symlink()}
    # The links to files were replaced by nothing: the file link is kept aside as a conflict, never written through.
    assert set(found.values()) <= {b"2", b"4"}
    assert aws.counts() == (0, 0)


@linux_only
def test_a_folder_swapped_for_a_link_after_the_check_cannot_redirect_the_write(aws: Setup, tmp_path: Path,
                                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression (the race SECURITY.md named): the folder was checked by path, then the temporary file created and
    renamed by path, so `sub` swapped for a link to a folder outside between the check and the write sent the file
    there. Now the folder is held open from the check on: the file lands in the folder that was checked."""
    from agent.engine.download import Downloader

    out, outside = tmp_path / "out", tmp_path / "outside"
    (out / "sub").mkdir(parents=True)
    outside.mkdir()
    real_fetch = Downloader.fetch

    def swap_then_fetch(self: Downloader, event: Any, folder: Any, *args: Any) -> Any:
        os.rename(out / "sub", out / "sub-checked")  # after the check, before the temporary file is made
        os.symlink(outside, out / "sub")
        return real_fetch(self, event, folder, *args)

    monkeypatch.setattr(Downloader, "fetch", swap_then_fetch)
    aws.put("sub/take.wav", b"the take")
    run = start_engine(aws.config(str(out)), tmp_path)
    try:
        wait_for(lambda: run.downloaded() == 1, 60, what="the download")
    finally:
        run.stop()
    assert list(outside.iterdir()) == [], "the write followed a link out of the download folder"
    assert (out / "sub-checked" / "take.wav").read_bytes() == b"the take"


@linux_only
def test_a_file_saved_under_the_name_at_the_moment_of_the_rename_is_never_overwritten(aws: Setup, tmp_path: Path,
                                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: between the look that found the name free and os.replace, a file the user saved under that name
    was overwritten. Now the name is given only if it is free (a hard link, then the temporary name removed): the
    user's file stays, and the download goes beside it as a conflict copy."""
    from agent.engine import folders
    from agent.engine.events import Conflict

    out = tmp_path / "out"
    out.mkdir()
    with folders.open_target_folder(out, ()) as probe:  # closed: a descriptor folder holds the folder open
        folder_class = type(probe)
    real_place = folder_class.place

    def user_saves_first(self: Any, temp: str, name: str) -> None:
        if name == "take.wav":
            (self.path / name).write_bytes(b"the user's own edit")  # after the agent looked, before it renamed
        real_place(self, temp, name)

    monkeypatch.setattr(folder_class, "place", user_saves_first)
    aws.put("take.wav", b"the download")
    run = start_engine(aws.config(str(out)), tmp_path)
    try:
        wait_for(lambda: run.of(Conflict) and run.downloaded() == 1, 60, what="the download set beside the user's file")
    finally:
        run.stop()
    assert (out / "take.wav").read_bytes() == b"the user's own edit"
    copies = [p for p in out.iterdir() if p.name.startswith("take (conflict ")]
    assert len(copies) == 1 and copies[0].read_bytes() == b"the download"
    assert [p.name for p in out.iterdir() if p.name.startswith(".s3-sqs-agent-")] == []
