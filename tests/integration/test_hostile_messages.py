"""Messages written by someone other than the bucket (a queue can be written by more parties than the bucket), through
the real agent against moto: forged sequencers, sizes and fields of the wrong type, keys that disguise their names."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from agent.engine.events import Downloaded, Retrying
from tests.aws import Setup, eventbridge_body, s3_event_body
from tests.helpers import drain, files_under, write_config
from tests.reliability.helpers import start_engine, wait_for


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def test_a_forged_sequencer_never_freezes_a_key(quiet_aws: Setup, tmp_path: Path) -> None:
    """Regression: a message with no eTag and a sequencer of 64 Fs downloaded the current version and recorded that
    sequencer; every later genuine upload of the key was then skipped as "older than the version on disk" and its
    message deleted: the disk kept v1 while the bucket held v2. A forged sequencer with the right eTag did the same."""
    aws = quiet_aws
    config = write_config(tmp_path / "c.yaml", aws.config(str(tmp_path / "out")))

    def upload_and_announce(data: bytes, **fields: str) -> None:
        aws.put("take.wav", data)
        aws.send(s3_event_body(aws.bucket, "take.wav", len(data), **fields))  # type: ignore[arg-type]
        result = drain(config)
        assert result.returncode == 0, result.stderr

    upload_and_announce(b"v1" * 50, sequencer="F" * 64)  # no eTag: a HEAD fills it in
    upload_and_announce(b"v2" * 50, etag=md5(b"v2" * 50), sequencer="617f08299329d189")
    assert files_under(tmp_path / "out") == {"take.wav": b"v2" * 50}
    upload_and_announce(b"v3" * 50, etag=md5(b"v3" * 50), sequencer="F" * 32)  # the right eTag, within the length bound
    upload_and_announce(b"v4" * 50, etag=md5(b"v4" * 50), sequencer="617f08299329d18a")
    assert files_under(tmp_path / "out") == {"take.wav": b"v4" * 50}
    assert aws.counts() == (0, 0) and aws.dlq_messages() == []


def test_fields_of_the_wrong_shape_are_never_retried(quiet_aws: Setup, tmp_path: Path) -> None:
    """Regression: `"size": "²"` (isdigit passes, int fails), a 5,000-digit size and a list as EventBridge's
    detail-type raised inside the parser, so the message was retried, and after max_attempts dead-lettered whole,
    good records included. Now a size that is no plain number is unknown (a HEAD says it), and a field of the wrong
    type gives up its record at once."""
    aws = quiet_aws
    for key in ("good.wav", "superscript.wav", "huge.wav"):
        aws.put(key, key.encode() * 10)
    records = []
    for key, size in (("good.wav", 80), ("superscript.wav", "²"), ("huge.wav", "9" * 5000)):
        records += s3_event_body(aws.bucket, key, size)["Records"]  # type: ignore[arg-type]
    aws.send({"Records": records})
    listed = eventbridge_body(aws.bucket, "good.wav", 80, md5(b"good.wav" * 10))
    listed["detail-type"] = ["Object Created"]
    aws.send(listed)
    out = tmp_path / "out"
    run = start_engine(aws.config(str(out), dead_letter_queue_url=aws.dlq_url, max_attempts=3), tmp_path)
    try:
        wait_for(lambda: len(run.of(Downloaded)) == 3 and aws.counts() == (0, 0), 60, what="the three files and an empty queue")
    finally:
        run.stop()
    assert files_under(out) == {key: key.encode() * 10 for key in ("good.wav", "superscript.wav", "huge.wav")}
    assert run.of(Retrying) == []
    [dead] = aws.dlq_messages()
    assert json.loads(dead["Body"])["detail-type"] == ["Object Created"]
    attributes = {name: value["StringValue"] for name, value in dead["MessageAttributes"].items()}
    assert attributes["s3_sqs_agent.receive_count"] == "1", "given up at its first receive"
    assert "detail-type is not text" in attributes["s3_sqs_agent.reason"]


def test_a_key_that_disguises_its_name_gets_a_plain_one_and_an_escaped_log_line(aws: Setup, tmp_path: Path) -> None:
    """Regression: keys kept bidirectional overrides and C1 controls, so `evil\u202egnp.wav` showed as `evilvaw.png`,
    and a key could forge log lines or rewrite a terminal."""
    keys = {"evil\u202egnp.wav": "evil_gnp.wav", "bell\x85\u200bname.wav": "bell__name.wav",
            "clear\x1b[2J\x9b31mred.wav": "clear_[2J_31mred.wav",  # an ANSI escape, and the C1 form of one
            "نامه\u200cها.wav": "نامه\u200cها.wav"}  # the zero-width non-joiner spells Persian words: kept
    for key in keys:
        aws.put(key, key.encode())
    result = drain(write_config(tmp_path / "c.yaml", aws.config(str(tmp_path / "out"))))
    assert result.returncode == 0, result.stderr
    assert files_under(tmp_path / "out") == {name: key.encode() for key, name in keys.items()}
    assert not any(char in result.stderr for char in "\u202e\x85\u200b\x1b\x9b"), "a hidden character reached the log"
    assert "Downloaded evil\\u202egnp.wav" in result.stderr and "Downloaded clear\\x1b[2J\\x9b31mred.wav" in result.stderr


def test_a_body_the_dead_letter_queue_refuses_is_kept_in_the_ledger_and_deleted(quiet_aws: Setup, tmp_path: Path) -> None:
    """Regression: a dead-letter queue that refused a message (too large: on real SQS the agent's attributes count
    toward its size limit) made the give-up a HOLD, as if the server were down: 21 receives in 40 s, forever."""
    from agent.engine.events import Failed

    aws = quiet_aws
    small_dlq = aws.sqs.create_queue(QueueName=f"{aws.bucket}-small-dlq", Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    aws.send({"not": "a notification", "padding": "x" * 2000})
    good = s3_event_body(aws.bucket, "fine.wav", 40)["Records"]
    broken = [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": aws.bucket}, "object": {"key": "%FF" + "y" * 1500}}}]
    aws.put("fine.wav", b"f" * 40)
    aws.send({"Records": good + broken})  # one record given up alone: its own body is refused too
    out = tmp_path / "out"
    run = start_engine(aws.config(str(out), dead_letter_queue_url=small_dlq, max_attempts=2), tmp_path)
    try:
        wait_for(lambda: aws.counts() == (0, 0) and len(run.of(Failed)) == 2, 60, what="both given up and the queue empty")
        failures = run.engine.ledger.pending_failures()
    finally:
        run.stop()
    assert files_under(out) == {"fine.wav": b"f" * 40}
    assert run.needs_user() == [] and run.of(Retrying) == []
    assert all("local ledger" in f.disposition for f in run.of(Failed))
    assert len(failures) == 2 and sorted(len(f.body) > 1024 for f in failures) == [True, True]
    assert run.log.count("The dead-letter queue refused") == 2 and run.log.count("Message must be shorter than 1024 bytes") == 2
    assert aws.sqs.receive_message(QueueUrl=small_dlq, WaitTimeSeconds=0).get("Messages", []) == []
