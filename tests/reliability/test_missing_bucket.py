"""A bucket that is gone (deleted, or a name mistyped where the notifications come from): the agent says "Bucket not
found" and waits for the user, on both download paths, and spends no attempt: the message is never given up for it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from agent.engine.events import Failed, State
from tests.aws import Setup, s3_event_body
from tests.reliability.helpers import start_engine, wait_for


def _delete_bucket(aws: Setup) -> None:
    for item in aws.s3.list_objects_v2(Bucket=aws.bucket).get("Contents", []):
        aws.s3.delete_object(Bucket=aws.bucket, Key=item["Key"])
    aws.s3.delete_bucket(Bucket=aws.bucket)


@pytest.mark.parametrize("announced", ["size and eTag", "no eTag"])
def test_a_deleted_bucket_is_named_and_waited_for_never_given_up(quiet_aws: Setup, tmp_path: Path, announced: str) -> None:
    """Regression: a HEAD of an object in a missing bucket answers a bare 404 (a HEAD has no body to say
    NoSuchBucket), which read as "the object is not readable yet": every message spent its attempts and was given up,
    with a reason that pointed at the object instead of the bucket."""
    aws = quiet_aws
    data = b"take" * 100
    aws.put("take.wav", data)
    _delete_bucket(aws)
    etag = hashlib.md5(data, usedforsecurity=False).hexdigest() if announced == "size and eTag" else None
    aws.send(s3_event_body(aws.bucket, "take.wav", len(data), etag=etag))
    run = start_engine(aws.config(str(tmp_path / "out"), max_attempts=2), tmp_path)
    try:
        held = wait_for(lambda: [n for n in run.needs_user() if n.title == "Bucket not found"], 60, what="a Bucket not found notice")
        assert aws.bucket in held[0].message, held[0].message
        wait_for(lambda: run.engine.status().state is State.ATTENTION, 30, what="the attention state")
        attempts = run.log.count("Bucket not found") + run.log.count("does not exist")
        wait_for(lambda: run.log.count("Bucket not found") + run.log.count("does not exist") > attempts, 30,
                 what="a later try, still waiting")
        assert run.of(Failed) == [], "the message was given up for a missing bucket"
    finally:
        run.stop()
    assert sum(aws.counts()) == 1 and aws.dlq_messages() == [], "the message must stay on the queue"
    assert not (tmp_path / "out" / "take.wav").exists()
