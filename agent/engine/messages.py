"""Turns queue message bodies into object events.

S3 notifications sent directly or through SNS, and S3's EventBridge events, straight or through SNS. Each record that
can never be used becomes a RejectedRecord."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from agent.api import MalformedMessage, ObjectEvent, RejectedRecord

log = logging.getLogger(__name__)
_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_SEQUENCER_DIGITS = 32
"""Every sequencer S3 has published has 16 to 18 hex digits; twice the most leaves room for a longer format, and no
more: a longer one is dropped (the event then orders by LastModified and the current version, as without one)."""
_HEX = re.compile(f"[0-9A-Fa-f]{{1,{MAX_SEQUENCER_DIGITS}}}")
MAX_OBJECT_SIZE = 2**50
"""1 PiB, far above S3's largest object: an announced size beyond it (or one that is not a plain number) is dropped,
and a HEAD says the real size."""

Item = ObjectEvent | RejectedRecord
"""What a parser finds in a message: an object to download, or a record to give up on its own."""

# S3 event names (the `s3:` prefix, which MinIO and others send, removed), by family: the part before the first
# colon. ObjectCreated downloads; ObjectRestore:Completed downloads the restored copy; these need nothing.
_IGNORED_FAMILIES = frozenset({
    "TestEvent", "ObjectRemoved", "ObjectRestore", "LifecycleExpiration", "LifecycleDelMarkerExpiration",
    "LifecycleTransition", "IntelligentTiering", "ObjectTagging", "ObjectAcl", "Replication",
    "ReducedRedundancyLostObject",
    "ObjectAccessed", "ObjectTransition", "Scanner", "BucketCreated", "BucketRemoved",  # MinIO's own
})
_S3_OPERATIONS = {"Put": "put", "Post": "post", "Copy": "copy", "CompleteMultipartUpload": "multipart"}
RESTORE_COMPLETED = "ObjectRestore:Completed"

# EventBridge's detail-types for S3 (its `reason` says how an object was created).
_EVENTBRIDGE_CREATED = "Object Created"
_EVENTBRIDGE_RESTORED = "Object Restore Completed"
_EVENTBRIDGE_IGNORED = frozenset({
    "Object Deleted", "Object Restore Initiated", "Object Restore Expired", "Object Storage Class Changed",
    "Object Access Tier Changed", "Object ACL Updated", "Object Tags Added", "Object Tags Deleted",
})
_EVENTBRIDGE_OPERATIONS = {"PutObject": "put", "POST Object": "post", "CopyObject": "copy",
                           "CompleteMultipartUpload": "multipart"}


def load_json(body: str) -> Any:
    """The body as JSON, or None when it is not JSON at all."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def decode_key(raw: Any) -> str:
    """Decode a notification key exactly once: `+` is a space, `%2B` a plus. Never use this on listed keys."""
    key = _key_text(raw)
    try:
        key = unquote_plus(key, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise MalformedMessage(f"the object key {raw!r:.200} does not decode to UTF-8") from None
    return _checked_unicode(key, raw)


def literal_key(raw: Any) -> str:
    """An EventBridge key: S3 writes it there as it is, not form-encoded (a `+` is a plus, `%3A` is three characters)."""
    return _checked_unicode(_key_text(raw), raw)


def _key_text(raw: Any) -> str:
    if not isinstance(raw, str) or not raw:
        raise MalformedMessage(f"the object key is missing or not a string ({raw!r:.80})")
    return raw


def _checked_unicode(key: str, raw: Any) -> str:
    if _SURROGATE.search(key):
        raise MalformedMessage(f"the object key {raw!r:.200} holds invalid Unicode")
    return key


def other_reading(event: ObjectEvent) -> str | None:
    """The key as the other encoding would read it (the raw text, or its form-decoding), when that differs.

    S3 form-encodes keys in direct and SNS notifications, and writes them as they are in EventBridge events. A
    route we have not seen may do either: a key that is not found gets one more try under this reading."""
    raw = event.raw_key
    if not raw:
        return None
    try:
        decoded = unquote_plus(raw, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        decoded = raw
    for reading in (raw, decoded):
        if reading != event.key and not _SURROGATE.search(reading):
            return reading
    return None


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 event times (a time without a zone, as moto sends, is UTC), or seconds since the epoch."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _size(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 16:  # not "²", nor 5,000 digits
        value = int(value)
    return value if isinstance(value, int) and 0 <= value <= MAX_OBJECT_SIZE else None


def _etag(value: Any) -> str | None:
    return value.strip('"') if isinstance(value, str) and value.strip('"') else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value and value != "null" else None


def _name(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _sequencer(value: Any, etag: str | None) -> str | None:
    """The event's sequencer, when it can be trusted to order this version. Only with an eTag: a message without one
    downloads whatever version is current (a HEAD fills the eTag in), so its sequencer would be recorded against a
    version it may not describe, and a forged 'FFFF…' would then make every later upload of the key look older."""
    return value if etag and isinstance(value, str) and _HEX.fullmatch(value) else None


def is_test_event(data: Any) -> bool:
    """S3 sends `s3:TestEvent` when notifications are first configured."""
    return isinstance(data, dict) and data.get("Event") in ("s3:TestEvent", "TestEvent")


def s3_event_action(name: str) -> tuple[str, str] | None:
    """What an S3 event name asks for: ("download", operation), ("ignore", ""), or None for a name the agent
    does not know. Accepts the names with and without the `s3:` prefix."""
    bare = name.removeprefix("s3:")
    family, _, detail = bare.partition(":")
    if family == "ObjectCreated":
        return "download", _S3_OPERATIONS.get(detail, "other")
    if bare == RESTORE_COMPLETED:
        return "download", "restore"
    if family in _IGNORED_FAMILIES:
        return "ignore", ""
    return None


def parse_s3_records(data: Any, message_id: str, source: str = "s3") -> list[Item] | None:
    """An S3 event notification: `{"Records": [...]}`. Returns None when the data is not one. A record that can
    never be used becomes a RejectedRecord; the message's other records are unaffected."""
    if is_test_event(data):
        return []
    if not isinstance(data, dict) or "Records" not in data:
        return None
    records = data["Records"]
    if not isinstance(records, list):
        raise MalformedMessage("'Records' is not a list")
    items: list[Item] = []
    for index, record in enumerate(records):
        try:
            event = _s3_record(record, index, message_id, source)
        except MalformedMessage as exc:
            items.append(_rejected(record, str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 - a shape no rule above foresaw: this record alone is malformed
            items.append(_rejected(record, f"record {index} cannot be read ({type(exc).__name__})"))
            continue
        if event is not None:
            items.append(event)
    return items


def _s3_record(record: Any, index: int, message_id: str, source: str) -> ObjectEvent | None:
    if not isinstance(record, dict) or not isinstance(record.get("s3"), dict):
        raise MalformedMessage(f"record {index} is not an S3 event record")
    name = record.get("eventName")
    if not isinstance(name, str):
        raise MalformedMessage(f"record {index} has no eventName")
    action = s3_event_action(name)
    if action is None:
        log.warning("Message %s holds an event the agent does not know, %r: giving that record up so that someone "
                    "can look at it", message_id, name)
        raise MalformedMessage(f"record {index} is an event the agent does not know ({name!r:.100}); only "
                               "ObjectCreated and ObjectRestore:Completed events download files")
    if action[0] == "ignore":
        log.info("Ignoring %s event in message %s: it needs no download", name, message_id)
        return None
    bucket = record["s3"].get("bucket")
    obj = record["s3"].get("object")
    if not isinstance(bucket, dict) or not _name(bucket.get("name")) or not isinstance(obj, dict):
        raise MalformedMessage(f"record {index} has no bucket name or object")
    raw_key = obj.get("key")
    etag = _etag(obj.get("eTag"))
    return ObjectEvent(
        bucket=bucket["name"],
        key=decode_key(raw_key),
        size=_size(obj.get("size")),
        etag=etag,
        version_id=_text(obj.get("versionId")),
        event_time=parse_time(record.get("eventTime")),
        event_name=name,
        source=source,
        message_id=message_id,
        operation=action[1],
        sequencer=_sequencer(obj.get("sequencer"), etag),
        raw_key=raw_key,
    )


def _rejected(record: Any, reason: str) -> RejectedRecord:
    """A record given up on its own, as a one-record notification that could be sent again."""
    s3 = record.get("s3") if isinstance(record, dict) else None
    bucket = s3.get("bucket") if isinstance(s3, dict) else None
    obj = s3.get("object") if isinstance(s3, dict) else None
    name = bucket.get("name") if isinstance(bucket, dict) else None
    key = obj.get("key") if isinstance(obj, dict) else None
    try:
        body = json.dumps({"Records": [record]})
    except (ValueError, RecursionError):  # nested about as deep as json.loads allows
        body = json.dumps({"Records": ["(a record too deeply nested to keep)"]})
    return RejectedRecord(reason, body, name if isinstance(name, str) else None, key if isinstance(key, str) else None)


def parse_sns(data: Any, message_id: str) -> list[Item] | None:
    """An SNS notification whose `Message` string holds an S3 notification or an EventBridge event (a rule that
    targets an SNS topic). Standard and FIFO topics wrap messages alike."""
    if not isinstance(data, dict):
        return None
    kind, topic = data.get("Type"), str(data.get("TopicArn", "a topic"))[:200]
    if kind == "SubscriptionConfirmation" and "TopicArn" in data:
        raise MalformedMessage(f"SNS asks to confirm this queue's subscription to {topic}: open the SubscribeURL in this "
                               "message, or confirm the subscription in the SNS console; no notification arrives until then")
    if kind == "UnsubscribeConfirmation" and "TopicArn" in data:
        raise MalformedMessage(f"SNS says this queue was unsubscribed from {topic}; subscribe it again to receive uploads")
    if kind != "Notification" or "Message" not in data:
        return None
    inner = data["Message"]
    inner_data = load_json(inner) if isinstance(inner, str) else None
    if inner_data is None:
        raise MalformedMessage("the SNS notification's Message is not JSON")
    items = parse_s3_records(inner_data, message_id, source="sns")
    if items is None:
        items = parse_eventbridge(inner_data, message_id)
    if items is None:
        raise MalformedMessage("the SNS notification's Message is not an S3 event notification or an EventBridge event")
    return items


def parse_eventbridge(data: Any, message_id: str) -> list[Item] | None:
    """An EventBridge event from S3: `{"source": "aws.s3", "detail-type": "Object Created", ...}`."""
    if not isinstance(data, dict) or data.get("source") != "aws.s3" or "detail-type" not in data:
        return None
    kind = data["detail-type"]
    if not isinstance(kind, str):
        raise MalformedMessage(f"the EventBridge event's detail-type is not text ({type(kind).__name__})")
    if kind in _EVENTBRIDGE_IGNORED:
        log.info("Ignoring EventBridge %r event in message %s: it needs no download", kind, message_id)
        return []
    if kind not in (_EVENTBRIDGE_CREATED, _EVENTBRIDGE_RESTORED):
        log.warning("Message %s is an EventBridge event the agent does not know, %r: giving it up so that someone "
                    "can look at it", message_id, kind)
        return [RejectedRecord(f"an EventBridge event the agent does not know ({kind!r:.100}); only Object Created and "
                               "Object Restore Completed events download files", json.dumps(data))]
    detail = data.get("detail")
    if not isinstance(detail, dict):
        raise MalformedMessage("the EventBridge event has no detail")
    bucket = detail.get("bucket")
    obj = detail.get("object")
    if not isinstance(bucket, dict) or not _name(bucket.get("name")):
        raise MalformedMessage("the EventBridge event has no bucket name")
    if not isinstance(obj, dict) or "key" not in obj:
        raise MalformedMessage("the EventBridge event has no object key")
    reason = detail.get("reason")
    operation = _EVENTBRIDGE_OPERATIONS.get(reason, "other") if isinstance(reason, str) else "other"
    if kind == _EVENTBRIDGE_RESTORED:
        operation = "restore"
    raw_key = obj.get("key")
    etag = _etag(obj.get("etag", obj.get("eTag")))
    return [ObjectEvent(
        bucket=bucket["name"],
        key=literal_key(raw_key),
        size=_size(obj.get("size")),
        etag=etag,
        version_id=_text(obj.get("version-id")),
        event_time=parse_time(data.get("time")),
        event_name=kind,
        source="eventbridge",
        message_id=message_id,
        operation=operation,
        sequencer=_sequencer(obj.get("sequencer"), etag),
        raw_key=raw_key,
    )]


def parse_body(body: str, message_id: str) -> list[Item] | None:
    """Every built-in format, in turn. None when no format recognises the body. Raises MalformedMessage, and nothing
    else, whatever the body holds (a property test feeds it any JSON): an error no rule foresaw is a malformed
    message too, given up at once instead of retried until max_attempts."""
    data = load_json(body)
    if data is None:
        return None
    try:
        for parser in (parse_s3_records, parse_sns, parse_eventbridge):
            items = parser(data, message_id)
            if items is not None:
                return items
    except MalformedMessage:
        raise
    except Exception as exc:  # noqa: BLE001 - see above
        raise MalformedMessage(f"the message cannot be read ({type(exc).__name__}: {str(exc)[:200]})") from None
    return None


def record_body(event: ObjectEvent) -> str:
    """One object event as a one-record S3 notification: what is dead-lettered when that object alone of a
    message is given up, and what parses back into the same object."""
    obj: dict[str, Any] = {"key": quote_plus(event.key, safe="/")}
    for name, value in (("size", event.size), ("eTag", event.etag), ("versionId", event.version_id),
                        ("sequencer", event.sequencer)):
        if value is not None:
            obj[name] = value
    name = event.event_name if s3_event_action(event.event_name) else _S3_NAMES.get(event.operation, "ObjectCreated")
    record: dict[str, Any] = {"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": name,
                              "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": event.bucket}, "object": obj}}
    if event.event_time is not None:
        record["eventTime"] = event.event_time.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return json.dumps({"Records": [record]})


_S3_NAMES = {"put": "ObjectCreated:Put", "post": "ObjectCreated:Post", "copy": "ObjectCreated:Copy",
             "multipart": "ObjectCreated:CompleteMultipartUpload", "restore": RESTORE_COMPLETED}
