"""The message parsers, on real bodies of every form the agent accepts."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC

import pytest

from agent.api import ObjectEvent, RejectedRecord
from agent.engine.messages import MalformedMessage, decode_key, other_reading, parse_body, record_body, s3_event_action

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
    assert isinstance(event, ObjectEvent)
    # EventBridge writes keys as they are: a + is a plus (a form-decoding would look for "a b.wav" and never find it).
    assert (event.bucket, event.key, event.size, event.etag, event.version_id) == ("audio", "a+b.wav", 5, "b1946ac9", "IYV3")
    assert (event.sequencer, event.operation, event.event_name) == ("617f", "put", "Object Created")
    assert event.source == "eventbridge" and event.event_time is not None and event.event_time.tzinfo == UTC
    assert other_reading(event) == "a b.wav"


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


def test_a_broken_record_is_rejected_alone_and_the_others_are_kept() -> None:
    good = S3_BODY["Records"][0]
    items = parse_body(body({"Records": [good, {"eventName": "ObjectCreated:Put"}, good]}), "m")
    assert items is not None
    assert [type(item) for item in items] == [ObjectEvent, RejectedRecord, ObjectEvent]
    rejected = items[1]
    assert isinstance(rejected, RejectedRecord) and rejected.reason == "record 1 is not an S3 event record"
    assert json.loads(rejected.body) == {"Records": [{"eventName": "ObjectCreated:Put"}]}


@pytest.mark.parametrize("name, action", [
    ("ObjectCreated:Put", ("download", "put")), ("s3:ObjectCreated:Put", ("download", "put")),
    ("ObjectCreated:Post", ("download", "post")), ("s3:ObjectCreated:Copy", ("download", "copy")),
    ("ObjectCreated:CompleteMultipartUpload", ("download", "multipart")), ("s3:ObjectCreated:PutRetention", ("download", "other")),
    ("ObjectRestore:Completed", ("download", "restore")), ("s3:ObjectRestore:Completed", ("download", "restore")),
    ("ObjectRestore:Post", ("ignore", "")), ("s3:ObjectRemoved:Delete", ("ignore", "")), ("LifecycleTransition", ("ignore", "")),
    ("Replication:OperationFailedReplication", ("ignore", "")), ("s3:ObjectAccessed:Get", ("ignore", "")),
    ("ObjectCreatedButNotReally", None), ("ObjectAnnotated:Put", None), ("", None),
])
def test_event_names_with_and_without_the_s3_prefix(name: str, action: tuple[str, str] | None) -> None:
    assert s3_event_action(name) == action


def test_an_unknown_event_name_is_rejected_with_its_name(caplog: pytest.LogCaptureFixture) -> None:
    record = json.loads(body(S3_BODY["Records"][0]))
    record["eventName"] = "ObjectAnnotated:Put"
    [rejected] = parse_body(body({"Records": [record]}), "m9")
    assert isinstance(rejected, RejectedRecord) and "'ObjectAnnotated:Put'" in rejected.reason
    assert any(r.levelname == "WARNING" and "ObjectAnnotated:Put" in r.getMessage() for r in caplog.records)


def test_eventbridge_through_sns() -> None:
    event_body = {"source": "aws.s3", "detail-type": "Object Created", "time": "2026-11-28T10:00:00Z",
                  "detail": {"bucket": {"name": "audio"}, "object": {"key": "x:y+z.wav", "size": 3, "etag": "e"},
                             "reason": "CopyObject"}}
    wrapped = {"Type": "Notification", "TopicArn": "arn:aws:sns:us-east-2:1:t", "Message": body(event_body)}
    [event] = parse_body(body(wrapped), "m")
    assert isinstance(event, ObjectEvent)
    assert (event.key, event.operation, event.source) == ("x:y+z.wav", "copy", "eventbridge")


def test_an_sns_subscription_confirmation_says_what_to_do() -> None:
    with pytest.raises(MalformedMessage, match="confirm this queue's subscription to arn:aws:sns:us-east-2:1:t: open the SubscribeURL"):
        parse_body(body({"Type": "SubscriptionConfirmation", "TopicArn": "arn:aws:sns:us-east-2:1:t", "SubscribeURL": "https://x"}), "m")


@pytest.mark.parametrize("key", ["take 01 + mixé.wav", "a:b/c%d.wav", "録音.wav"])
def test_one_event_as_a_record_parses_back_into_the_same_object(key: str) -> None:
    [event] = parse_body(body(S3_BODY), "m")
    assert isinstance(event, ObjectEvent)
    event = replace(event, key=key)
    [again] = parse_body(record_body(event), "m")
    assert isinstance(again, ObjectEvent)
    fields = ("bucket", "key", "size", "etag", "version_id", "sequencer", "operation", "event_name", "event_time")
    assert [getattr(again, f) for f in fields] == [getattr(event, f) for f in fields]


def test_other_reading_of_a_key() -> None:
    [event] = parse_body(body(S3_BODY), "m")
    assert isinstance(event, ObjectEvent)
    assert other_reading(event) == "sessions/take+01+%2B+mix%C3%A9.wav"  # the raw text, had the sender not encoded it
    assert other_reading(replace(event, raw_key="plain.wav", key="plain.wav")) is None
    assert other_reading(replace(event, raw_key=None)) is None


def test_an_error_no_rule_foresaw_gives_up_that_record_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """The net under the rules: an exception inside one record's parsing makes that record malformed (given up at
    once, alone), not the whole message a retry until max_attempts."""
    from agent.engine import messages

    real = messages.parse_time

    def fragile(value: object) -> object:
        if value == "boom":
            raise TypeError("a shape nobody foresaw")
        return real(value)

    monkeypatch.setattr(messages, "parse_time", fragile)
    good = S3_BODY["Records"][0]
    items = parse_body(body({"Records": [good, {**good, "eventTime": "boom"}]}), "m")
    assert items is not None and [type(item) for item in items] == [ObjectEvent, RejectedRecord]
    assert items[1].reason == "record 1 cannot be read (TypeError)"  # type: ignore[union-attr]
    with pytest.raises(MalformedMessage, match="cannot be read"):
        parse_body(json.dumps({"version": "0", "source": "aws.s3", "detail-type": "Object Created", "time": "boom",
                               "detail": {"bucket": {"name": "b"}, "object": {"key": "k"}}}), "m")


@pytest.mark.parametrize("size, parsed", [(12, 12), ("12", 12), ("²", None), ("9" * 5000, None), (-1, None), (True, None),
                                          (2**60, None), ("０１", None), (12.0, None)])
def test_an_announced_size_is_a_plain_non_negative_number_or_unknown(size: object, parsed: int | None) -> None:
    record = {**S3_BODY["Records"][0]}
    record["s3"] = {**record["s3"], "object": {**record["s3"]["object"], "size": size}}
    [event] = parse_body(body({"Records": [record]}), "m") or []
    assert isinstance(event, ObjectEvent) and event.size == parsed


def test_a_sequencer_counts_only_beside_an_etag_and_within_its_length() -> None:
    record = S3_BODY["Records"][0]
    obj = record["s3"]["object"]
    for fields, kept in (({"eTag": "abc", "sequencer": "0055AED6DCD90281E5"}, "0055AED6DCD90281E5"),
                         ({"sequencer": "0055AED6DCD90281E5"}, None), ({"eTag": "abc", "sequencer": "F" * 33}, None),
                         ({"eTag": "abc", "sequencer": "F" * 32}, "F" * 32)):
        object_ = {key: value for key, value in obj.items() if key not in ("eTag", "sequencer")} | fields
        [event] = parse_body(body({"Records": [{**record, "s3": {**record["s3"], "object": object_}}]}), "m") or []
        assert isinstance(event, ObjectEvent) and event.sequencer == kept, fields
