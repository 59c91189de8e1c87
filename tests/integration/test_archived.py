"""Archived objects against moto (StorageClass=GLACIER, RestoreObject): reported once and kept for `failed list`
without restore_archived; restored once and downloaded when readable with it, by a HEAD now and then or by S3's
ObjectRestore:Completed notification. No attempt is ever spent on them."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.engine import archive
from agent.engine.events import Retrying
from tests.aws import Setup
from tests.helpers import drain, files_under, run_agent, wait_until, write_config
from tests.reliability.helpers import start_engine

DATA = b"an old session, archived" * 40


def put_archived(aws: Setup, key: str) -> None:
    aws.s3.put_object(Bucket=aws.bucket, Key=key, Body=DATA, StorageClass="GLACIER")


@pytest.fixture
def slow_restores(moto_endpoint: str) -> Iterator[None]:
    """moto restores at once by default; here a restore completes only after a few requests touch the object."""
    def transition(path: str, body: dict[str, object]) -> None:
        request = urllib.request.Request(f"{moto_endpoint}/moto-api/state-manager/{path}", json.dumps(body).encode(), method="POST")
        urllib.request.urlopen(request, timeout=10).close()

    transition("set-transition", {"model_name": "s3::keyrestore", "transition": {"progression": "manual", "times": 6}})
    yield
    transition("unset-transition", {"model_name": "s3::keyrestore"})


def test_without_restore_archived_it_is_reported_once_and_kept_for_failed_list(aws: Setup, tmp_path: Path) -> None:
    put_archived(aws, "sessions/take 07.wav")
    aws.put("plain.wav", b"readable")
    out = tmp_path / "out"
    config = write_config(tmp_path / "c.yaml", aws.config(str(out), dead_letter_queue_url=aws.dlq_url))
    result = drain(config)
    assert result.returncode == 3, result.stderr  # something was given up
    assert files_under(out) == {"plain.wav": b"readable"}
    assert "Retrying" not in result.stderr, "attempts were spent on an archived object"
    assert "take 07.wav is archived in Glacier Flexible Retrieval; restore it" in result.stderr
    assert aws.dlq_messages() == [], "an archived object waits for the user in the ledger, not in the dead-letter queue"
    assert aws.counts() == (0, 0)
    listed = run_agent("failed", "list")
    assert "sessions/take 07.wav" in listed.stdout and "set restore_archived" in listed.stdout

    # The user restores it, then retries: it downloads.
    aws.s3.restore_object(Bucket=aws.bucket, Key="sessions/take 07.wav", RestoreRequest={"Days": 1})
    assert run_agent("failed", "retry", "--config", str(config)).returncode == 0
    result = drain(config)
    assert result.returncode == 0, result.stderr
    assert files_under(out) == {"plain.wav": b"readable", "sessions/take 07.wav": DATA}
    assert "0 failed messages" in run_agent("failed", "list").stderr


def test_with_restore_archived_it_is_restored_once_and_downloaded_when_readable(
        aws: Setup, tmp_path: Path, slow_restores: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "TICK_SECONDS", 0.2)
    monkeypatch.setattr(archive, "CHECK_SECONDS", dict.fromkeys(archive.CHECK_SECONDS, 0.2))
    put_archived(aws, "archive/take 08.wav")
    out = tmp_path / "out"
    run = start_engine(aws.config(str(out), restore_archived={"days": 2, "tier": "Expedited"}), tmp_path)
    try:
        wait_until(lambda: files_under(out) if out.exists() else None, 60, "the restored object on disk")
        wait_until(lambda: aws.counts() == (0, 0), 30, "the message deleted")
        # The restore is crossed off just after the file is in place (archive.RestoreWatcher.check).
        wait_until(lambda: run.engine.ledger.restores() == [], 30, "the restore crossed off the ledger")
    finally:
        run.stop()
    assert files_under(out) == {"archive/take 08.wav": DATA}
    assert run.log.count("asked S3 to restore it for 2 days (Expedited retrieval)") == 1
    assert run.log.count("is still being restored") >= 1  # checked while S3 was still restoring it
    assert run.of(Retrying) == [] and run.engine.given_up == 0
    head = aws.s3.head_object(Bucket=aws.bucket, Key="archive/take 08.wav")
    assert 'ongoing-request="false"' in head["Restore"]


def test_the_restore_completed_notification_downloads_it(aws: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "TICK_SECONDS", 3600.0)  # no HEAD checks: only the notification can bring it
    aws.s3.put_bucket_notification_configuration(Bucket=aws.bucket, NotificationConfiguration={"QueueConfigurations": [
        {"QueueArn": aws.queue_arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRestore:Completed"]}]})
    put_archived(aws, "archive/take 09.wav")
    out = tmp_path / "out"
    run = start_engine(aws.config(str(out), restore_archived={"days": 1, "tier": "Bulk"}), tmp_path)
    try:
        wait_until(run.engine.ledger.restores, 30, "the object waiting for its restore")
        aws.s3.head_object(Bucket=aws.bucket, Key="archive/take 09.wav")  # hours later, S3 finishes the restore
        wait_until(lambda: files_under(out) if out.exists() else None, 30, "the restored object on disk")
        wait_until(lambda: not run.engine.ledger.restores(), 30, "the waiting list emptied")
    finally:
        run.stop()
    assert files_under(out) == {"archive/take 09.wav": DATA}
    assert run.log.count("asked S3 to restore it for 1 day (Bulk retrieval)") == 1
