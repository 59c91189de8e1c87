"""The message parsers, on real bodies of every form the agent accepts."""

from __future__ import annotations

import json
from datetime import UTC

import pytest

from agent.engine.messages import MalformedMessage, decode_key, parse_body

S3_BODY = {
    "Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-2",
        "eventTime": "2026-11-28T10:15:30.123Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDA"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "uploads",
               "bucket": {"name": "audio", "arn": "arn:aws:s3:::audio"},
               "object": {"key": "sessions/take+01+%2B+mix%C3%A9.wav", "size": 1024,
                          "eTag": "d41d8cd98f00b204e9800998ecf8427e", "versionId": "v1", "sequencer": "0055AED6DCD90281E5"}},
    }]
}


def body(data: object) -> str:
    return json.dumps(data)


def test_s3_notification_decodes_the_key_once() -> None:
    [event] = parse_body(body(S3_BODY), "m1")
    assert event.bucket == "audio"
    assert event.key == "sessions/take 01 + mixé.wav"
    assert (event.size, event.etag, event.version_id) == (1024, "d41d8cd98f00b204e9800998ecf8427e", "v1")
    assert event.event_time is not None and event.event_time.tzinfo is not None
    assert (event.source, event.message_id, event.event_name) == ("s3", "m1", "ObjectCreated:Put")


def test_every_record_in_a_message_is_handled() -> None:
    second = json.loads(json.dumps(S3_BODY["Records"][0]))
    second["s3"]["object"]["key"] = "other.wav"
    events = parse_body(body({"Records": [S3_BODY["Records"][0], second]}), "m")
    assert [e.key for e in events] == ["sessions/take 01 + mixé.wav", "other.wav"]


def test_sns_wrapped_notification() -> None:
    wrapped = {"Type": "Notification", "MessageId": "x", "TopicArn": "arn:aws:sns:us-east-2:1:t",
               "Message": body(S3_BODY), "Timestamp": "2026-11-28T10:15:31.000Z"}
    [event] = parse_body(body(wrapped), "m2")
    assert event.source == "sns" and event.key == "sessions/take 01 + mixé.wav"


def test_eventbridge_object_created() -> None:
    event_body = {"version": "0", "id": "17793124", "detail-type": "Object Created", "source": "aws.s3",
                  "account": "111122223333", "time": "2021-11-12T00:00:00Z", "region": "ca-central-1",
                  "resources": ["arn:aws:s3:::audio"],
                  "detail": {"version": "0", "bucket": {"name": "audio"},
                             "object": {"key": "a+b.wav", "size": 5, "etag": "b1946ac9", "version-id": "IYV3", "sequencer": "617f"},
                             "reason": "PutObject"}}
    [event] = parse_body(body(event_body), "m3")
    assert (event.bucket, event.key, event.size, event.etag, event.version_id) == ("audio", "a b.wav", 5, "b1946ac9", "IYV3")
    assert event.source == "eventbridge" and event.event_time.tzinfo == UTC


def test_test_event_holds_nothing() -> None:
    assert parse_body(body({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "audio"}), "m") == []


def test_non_create_records_are_ignored() -> None:
    removed = json.loads(body(S3_BODY))
    removed["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    assert parse_body(body(removed), "m") == []


@pytest.mark.parametrize("text", ["not json", "[]", "42", body({"hello": "world"}), "", "{" * 100_000])
def test_unknown_shapes_are_not_recognised(text: str) -> None:
    assert parse_body(text, "m") is None


@pytest.mark.parametrize("data", [
    {"Records": "nope"},
    {"Records": [{"eventName": "ObjectCreated:Put"}]},
    {"Type": "Notification", "Message": "{broken"},
    {"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {"name": "b"}, "object": {}}},
])
def test_known_shapes_that_are_broken_are_malformed(data: object) -> None:
    with pytest.raises(MalformedMessage):
        parse_body(body(data), "m")


@pytest.mark.parametrize("raw, decoded", [
    ("a+b", "a b"), ("a%2Bb", "a+b"), ("caf%C3%A9", "café"), ("a%2Fb", "a/b"), ("100%", "100%"), ("%zz", "%zz"),
])
def test_key_decoding(raw: str, decoded: str) -> None:
    assert decode_key(raw) == decoded


@pytest.mark.parametrize("raw", ["%ff%fe", "\ud800x", "", None])
def test_keys_that_cannot_decode_are_malformed(raw: object) -> None:
    with pytest.raises(MalformedMessage):
        decode_key(raw)
