"""connect's write of the bucket's notifications: refused when the configuration changed since the plan, and checked
afterwards against eventually consistent reads (a read just after the write may still show the old configuration)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from agent.aws import bucket_notifications as bn
from agent.aws.connect.kinds import Action, Resource
from agent.aws.connect.plan import ChangedMeanwhile, Facts, Step

BEFORE = {"QueueConfigurations": [{"Id": "legacy", "QueueArn": "arn:aws:sqs:us-east-1:1:legacy", "Events": ["s3:ObjectRemoved:*"]}]}
AFTER = {**BEFORE, "EventBridgeConfiguration": {}}


class Bucket:
    """The bucket's configuration behind connect's Calls: each read answers the next of `reads`, then the last write."""

    def __init__(self, *reads: dict[str, Any]) -> None:
        self.reads, self.written, self.count = list(reads), None, 0

    def call(self, service: str, operation: str, resource: str, **kwargs: Any) -> dict[str, Any]:
        if operation == "PutBucketNotificationConfiguration":
            self.written = kwargs["NotificationConfiguration"]
            return {}
        self.count += 1
        return self.reads.pop(0) if self.reads else dict(self.written or {})


def facts() -> Facts:
    return Facts(command="connect", profile=None, region="us-east-1", endpoint_url=None, account="1", partition="aws",
                 bucket="takes", config_path=Path("c.yaml"), config_changes={}, queue_name="q", queue_url=None, dlq_name=None,
                 dlq_url=None, mode="new", via="eventbridge", bucket_before=BEFORE, bucket_after=AFTER)


apply = importlib.import_module("agent.aws.connect.apply")  # the package exports a function of the same name
STEP = Step(Action.CHANGE, Resource.BUCKET_NOTIFICATIONS, "takes")


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apply, "READ_BACK_WAIT_SECONDS", 0, raising=False)


def test_a_stale_read_after_the_write_is_not_reported_as_someone_elses_change() -> None:
    """Regression: bucket settings read back eventually; the first read after the write could still show the old
    configuration, and connect reported "someone else is editing them"."""
    bucket = Bucket(BEFORE, BEFORE)  # the check before the write, then one stale read
    apply._write_bucket(bucket, facts(), STEP, None)  # type: ignore[arg-type]
    assert bucket.written == AFTER and bucket.count == 3


def test_a_write_that_never_reads_back_says_so_without_blaming_anyone() -> None:
    bucket = Bucket(BEFORE, *[BEFORE] * apply.READ_BACK_TRIES)
    with pytest.raises(ChangedMeanwhile, match="still do not read back as written"):
        apply._write_bucket(bucket, facts(), STEP, None)  # type: ignore[arg-type]


def test_a_change_before_the_write_is_never_overwritten() -> None:
    someone_elses = {**BEFORE, "TopicConfigurations": [{"Id": "new", "TopicArn": "t", "Events": ["s3:ObjectCreated:*"]}]}
    bucket = Bucket(someone_elses)
    with pytest.raises(ChangedMeanwhile, match="changed by someone else"):
        apply._write_bucket(bucket, facts(), STEP, None)  # type: ignore[arg-type]
    assert bucket.written is None and bn.canonical(someone_elses) != bn.canonical(BEFORE)
