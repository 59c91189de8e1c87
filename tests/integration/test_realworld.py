"""Notifications as S3 and its routes really send them, against moto: versions that arrive out of order, a changed
download folder, and keys written in the other encoding. Each runs the headless agent as a user would."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

from tests.aws import Setup, eventbridge_body, make_setup, s3_event_body
from tests.helpers import drain, files_under, run_agent, write_config


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def versioned(moto_endpoint: str) -> Setup:
    aws = make_setup(moto_endpoint, notify=False)  # the notifications are sent by the test, in the order it chooses
    aws.s3.put_bucket_versioning(Bucket=aws.bucket, VersioningConfiguration={"Status": "Enabled"})
    return aws


def put_versions(aws: Setup, key: str, *contents: bytes) -> list[str]:
    return [aws.s3.put_object(Bucket=aws.bucket, Key=key, Body=data)["VersionId"] for data in contents]


def deliver_in_turn(aws: Setup, config: Path, *bodies: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """Send each body and drain it before the next: the order the test chooses is the order of arrival."""
    for body in bodies:
        aws.send(body)
        result = drain(config)
        assert result.returncode == 0, result.stderr
    return result


def test_a_late_notification_for_an_older_version_never_replaces_the_newer_file(moto_endpoint: str, tmp_path: Path) -> None:
    aws = versioned(moto_endpoint)
    v1, v2 = b"first take" * 10, b"second take, the keeper" * 10
    id1, id2 = put_versions(aws, "take 07.wav", v1, v2)
    result = deliver_in_turn(aws, write_config(tmp_path / "c.yaml", aws.config(str(tmp_path / "out"))),
                             s3_event_body(aws.bucket, "take+07.wav", len(v2), md5(v2), version_id=id2, sequencer="0061A1B2C3D4E5F6B0"),
                             s3_event_body(aws.bucket, "take+07.wav", len(v1), md5(v1), version_id=id1, sequencer="0061A1B2C3D4E5F6A0"))
    assert files_under(tmp_path / "out") == {"take 07.wav": v2}
    assert "Skipping take 07.wav: this notification (sequencer 0061A1B2C3D4E5F6A0) is older than the version on disk" in result.stderr
    assert aws.counts() == (0, 0)


def test_without_sequencers_the_bucket_s_current_version_wins(moto_endpoint: str, tmp_path: Path) -> None:
    """Some S3-compatible servers send no sequencer: LastModified, then the current version, order them."""
    aws = versioned(moto_endpoint)
    v1, v2 = b"older" * 10, b"newer" * 10
    id1, id2 = put_versions(aws, "takes/mix.wav", v1, v2)
    result = deliver_in_turn(aws, write_config(tmp_path / "c.yaml", aws.config(str(tmp_path / "out"))),
                             s3_event_body(aws.bucket, "takes/mix.wav", len(v2), md5(v2), version_id=id2),
                             s3_event_body(aws.bucket, "takes/mix.wav", len(v1), md5(v1), version_id=id1))
    assert files_under(tmp_path / "out") == {"takes/mix.wav": v2}
    assert "Skipping takes/mix.wav:" in result.stderr


def test_a_newer_version_still_replaces_the_older_file(moto_endpoint: str, tmp_path: Path) -> None:
    aws = versioned(moto_endpoint)
    v1, v2 = b"demo" * 10, b"album version" * 10
    id1, id2 = put_versions(aws, "song.wav", v1, v2)
    deliver_in_turn(aws, write_config(tmp_path / "c.yaml", aws.config(str(tmp_path / "out"))),
                    s3_event_body(aws.bucket, "song.wav", len(v1), md5(v1), version_id=id1, sequencer="0061A1B2C3D4E5F6A0"),
                    s3_event_body(aws.bucket, "song.wav", len(v2), md5(v2), version_id=id2, sequencer="0061A1B2C3D4E5F6B0"))
    assert files_under(tmp_path / "out") == {"song.wav": v2}


def test_a_download_folder_reached_through_a_link_gets_new_versions_in_place(aws: Setup, tmp_path: Path) -> None:
    """/home -> /var/home (Fedora Silverblue), a folder on a linked drive: the new version replaces the file."""
    real = tmp_path / "var-home" / "out"
    real.mkdir(parents=True)
    (tmp_path / "linked").symlink_to(tmp_path / "var-home", target_is_directory=True)
    config = write_config(tmp_path / "c.yaml", aws.config(str(tmp_path / "linked" / "out")))
    aws.put("takes/song.wav", b"first take" * 20)
    assert drain(config).returncode == 0
    aws.put("takes/song.wav", b"second take" * 20)
    result = drain(config)
    assert result.returncode == 0, result.stderr
    assert files_under(real) == {"takes/song.wav": b"second take" * 20}


def test_a_new_download_folder_gets_the_files_that_the_old_one_has(aws: Setup, tmp_path: Path) -> None:
    data = b"session audio" * 50
    aws.put("sessions/take 01.wav", data)
    old, new = tmp_path / "old", tmp_path / "new"
    config = write_config(tmp_path / "c.yaml", aws.config(str(old)))
    assert drain(config).returncode == 0
    assert files_under(old) == {"sessions/take 01.wav": data}

    write_config(config, aws.config(str(new)))  # the user chose another folder
    duplicate = s3_event_body(aws.bucket, "sessions/take+01.wav", len(data), md5(data))
    aws.send(duplicate)
    result = drain(config)
    assert result.returncode == 0, result.stderr
    assert files_under(new) == {"sessions/take 01.wav": data}, "a file downloaded into the old folder hid it from the new one"
    assert files_under(old) == {"sessions/take 01.wav": data}

    aws.send(duplicate)  # a duplicate for a file that is in the current folder is still recognised
    result = drain(config)
    assert "Already downloaded sessions/take 01.wav (duplicate notification)" in result.stderr
    (new / "sessions" / "take 01.wav").unlink()  # the user deleted it from the current folder
    aws.send(duplicate)
    result = drain(config)
    assert result.returncode == 0, result.stderr
    assert files_under(new) == {}, "a duplicate notification brought back a file the user deleted"
    assert aws.counts() == (0, 0)


def test_an_eventbridge_key_is_taken_as_written(aws: Setup, tmp_path: Path) -> None:
    data = b"video and data"
    aws.put("video+data.mp4", data)
    aws.put("clips/10:15:30 take.wav", data)
    aws.sqs.purge_queue(QueueUrl=aws.queue_url)  # the test sends the EventBridge events itself
    aws.send(eventbridge_body(aws.bucket, "video+data.mp4", len(data), md5(data)))
    aws.send(eventbridge_body(aws.bucket, "clips/10:15:30 take.wav", len(data), md5(data)))
    result = drain(write_config(tmp_path / "c.yaml", aws.config(str(tmp_path / "out"))))
    assert result.returncode == 0, result.stderr
    assert files_under(tmp_path / "out") == {"video+data.mp4": data, "clips/10:15:30 take.wav": data}
    assert "was not found" not in result.stderr  # each key was right the first time: no second reading was needed


def test_a_key_in_the_other_encoding_gets_one_more_try_under_the_other_reading(aws: Setup, tmp_path: Path) -> None:
    """A route we have not seen: an EventBridge event whose key is form-encoded, and a direct notification whose
    key is not. Each is found under the other reading, with the same ETag, and the log says which was right."""
    data = b"found the second time"
    aws.put("take 01 + overdub.wav", data)
    aws.put("a+b.wav", data)
    aws.sqs.purge_queue(QueueUrl=aws.queue_url)
    aws.send(eventbridge_body(aws.bucket, "take+01+%2B+overdub.wav", len(data), md5(data)))
    aws.send(s3_event_body(aws.bucket, "a+b.wav", len(data), md5(data)))  # not encoded: a + meant a plus here
    result = drain(write_config(tmp_path / "c.yaml", aws.config(str(tmp_path / "out"))))
    assert result.returncode == 0, result.stderr
    assert files_under(tmp_path / "out") == {"take 01 + overdub.wav": data, "a+b.wav": data}
    assert "'take+01+%2B+overdub.wav' was not found, but 'take 01 + overdub.wav' was" in result.stderr
    assert "'a b.wav' was not found, but 'a+b.wav' was" in result.stderr


def good_and_bad(aws: Setup, data: bytes) -> dict[str, Any]:
    """Three records: two good ones around one without a bucket; and an event name nobody documents, on its own."""
    body = s3_event_body(aws.bucket, "batch/one.wav", len(data), md5(data))
    two = s3_event_body(aws.bucket, "batch/two.wav", len(data), md5(data))["Records"][0]
    bad = {"eventVersion": "2.1", "eventName": "ObjectCreated:Put", "s3": {"object": {"key": "batch/no-bucket.wav"}}}
    unknown = s3_event_body(aws.bucket, "batch/annotated.wav", len(data), md5(data), event_name="ObjectAnnotated:Put")["Records"][0]
    body["Records"] += [bad, two, unknown]
    return body


def test_one_bad_record_goes_alone_to_the_dead_letter_queue_and_the_good_ones_download(aws: Setup, tmp_path: Path) -> None:
    data = b"good audio"
    for key in ("batch/one.wav", "batch/two.wav"):
        aws.put(key, data)
    aws.sqs.purge_queue(QueueUrl=aws.queue_url)
    body = good_and_bad(aws, data)
    aws.send(body)
    result = drain(write_config(tmp_path / "c.yaml", aws.config(str(tmp_path / "out"), dead_letter_queue_url=aws.dlq_url)))
    assert result.returncode == 3, result.stderr
    assert files_under(tmp_path / "out") == {"batch/one.wav": data, "batch/two.wav": data}
    dead = {m["Body"]: m["MessageAttributes"]["s3_sqs_agent.reason"]["StringValue"] for m in aws.dlq_messages()}
    assert dead == {json.dumps({"Records": [body["Records"][1]]}): "record 1 has no bucket name or object",
                    json.dumps({"Records": [body["Records"][3]]}): dead.get(json.dumps({"Records": [body["Records"][3]]}), "")}
    assert "an event the agent does not know ('ObjectAnnotated:Put')" in dead[json.dumps({"Records": [body["Records"][3]]})]
    assert "holds an event the agent does not know, 'ObjectAnnotated:Put'" in result.stderr  # a warning, with the name
    assert aws.counts() == (0, 0), "the message was not deleted once its good records were down"


def test_without_a_dead_letter_queue_the_bad_record_alone_is_kept_in_the_ledger(aws: Setup, tmp_path: Path) -> None:
    data = b"good audio"
    for key in ("batch/one.wav", "batch/two.wav"):
        aws.put(key, data)
    aws.sqs.purge_queue(QueueUrl=aws.queue_url)
    aws.send(good_and_bad(aws, data))
    result = drain(write_config(tmp_path / "c.yaml", aws.config(str(tmp_path / "out"))))
    assert result.returncode == 3, result.stderr
    assert files_under(tmp_path / "out") == {"batch/one.wav": data, "batch/two.wav": data}
    listed = run_agent("failed", "list")
    assert "2 failed messages" in listed.stderr
    assert "record 1 has no bucket name or object" in listed.stdout and "batch/annotated.wav" in listed.stdout
    assert aws.counts() == (0, 0)
