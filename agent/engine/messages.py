"""Turns queue message bodies into object events: S3 notifications, sent directly, through SNS or EventBridge."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from agent.api import MalformedMessage, ObjectEvent

log = logging.getLogger(__name__)
_SURROGATE = re.compile("[\ud800-\udfff]")


def load_json(body: str) -> Any:
    """The body as JSON, or None when it is not JSON at all."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def decode_key(raw: Any) -> str:
    """Decode a notification key exactly once: `+` is a space, `%2B` a plus. Never use this on listed keys."""
    if not isinstance(raw, str) or not raw:
        raise MalformedMessage(f"the object key is missing or not a string ({raw!r:.80})")
    try:
        key = unquote_plus(raw, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise MalformedMessage(f"the object key {raw!r:.200} does not decode to UTF-8") from None
    if _SURROGATE.search(key):
        raise MalformedMessage(f"the object key {raw!r:.200} holds invalid Unicode")
    return key


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 event times; a time without a zone (moto sends those) is taken as UTC."""
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
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _etag(value: Any) -> str | None:
    return value.strip('"') if isinstance(value, str) and value.strip('"') else None


def is_test_event(data: Any) -> bool:
    """S3 sends `s3:TestEvent` when notifications are first configured."""
    return isinstance(data, dict) and data.get("Event") == "s3:TestEvent"


def parse_s3_records(data: Any, message_id: str, source: str = "s3") -> list[ObjectEvent] | None:
    """An S3 event notification: `{"Records": [...]}`. Returns None when the data is not one."""
    if is_test_event(data):
        return []
    if not isinstance(data, dict) or "Records" not in data:
        return None
    records = data["Records"]
    if not isinstance(records, list):
        raise MalformedMessage("'Records' is not a list")
    events = []
    for index, record in enumerate(records):
        if not isinstance(record, dict) or not isinstance(record.get("s3"), dict):
            raise MalformedMessage(f"record {index} is not an S3 event record")
        name = record.get("eventName")
        if not isinstance(name, str):
            raise MalformedMessage(f"record {index} has no eventName")
        if not name.startswith("ObjectCreated:"):
            log.info("Ignoring %s event in message %s: only ObjectCreated events download files", name, message_id)
            continue
        bucket = record["s3"].get("bucket")
        obj = record["s3"].get("object")
        if not isinstance(bucket, dict) or not isinstance(bucket.get("name"), str) or not isinstance(obj, dict):
            raise MalformedMessage(f"record {index} has no bucket name or object")
        events.append(ObjectEvent(
            bucket=bucket["name"],
            key=decode_key(obj.get("key")),
            size=_size(obj.get("size")),
            etag=_etag(obj.get("eTag")),
            version_id=obj.get("versionId") or None,
            event_time=parse_time(record.get("eventTime")),
            event_name=name,
            source=source,
            message_id=message_id,
        ))
    return events


def parse_sns(data: Any, message_id: str) -> list[ObjectEvent] | None:
    """An SNS notification whose `Message` string holds an S3 notification."""
    if not isinstance(data, dict) or data.get("Type") != "Notification" or "Message" not in data:
        return None
    inner = data["Message"]
    inner_data = load_json(inner) if isinstance(inner, str) else None
    if inner_data is None:
        raise MalformedMessage("the SNS notification's Message is not JSON")
    events = parse_s3_records(inner_data, message_id, source="sns")
    if events is None:
        raise MalformedMessage("the SNS notification's Message is not an S3 event notification")
    return events


def parse_eventbridge(data: Any, message_id: str) -> list[ObjectEvent] | None:
    """An EventBridge event from S3: `{"source": "aws.s3", "detail-type": "Object Created", ...}`."""
    if not isinstance(data, dict) or data.get("source") != "aws.s3" or "detail-type" not in data:
        return None
    kind = data["detail-type"]
    if kind != "Object Created":
        log.info("Ignoring EventBridge %r event in message %s: only Object Created events download files", kind, message_id)
        return []
    detail = data.get("detail")
    if not isinstance(detail, dict):
        raise MalformedMessage("the EventBridge event has no detail")
    bucket = detail.get("bucket")
    obj = detail.get("object")
    if not isinstance(bucket, dict) or not isinstance(bucket.get("name"), str):
        raise MalformedMessage("the EventBridge event has no bucket name")
    if not isinstance(obj, dict) or "key" not in obj:
        raise MalformedMessage("the EventBridge event has no object key")
    reason = detail.get("reason")
    return [ObjectEvent(
        bucket=bucket["name"],
        key=decode_key(obj.get("key")),
        size=_size(obj.get("size")),
        etag=_etag(obj.get("etag")),
        version_id=obj.get("version-id") or None,
        event_time=parse_time(data.get("time")),
        event_name=f"ObjectCreated:{reason}" if isinstance(reason, str) else "ObjectCreated",
        source="eventbridge",
        message_id=message_id,
    )]


def parse_body(body: str, message_id: str) -> list[ObjectEvent] | None:
    """Every built-in format, in turn. None when no format recognises the body."""
    data = load_json(body)
    if data is None:
        return None
    for parser in (parse_s3_records, parse_sns, parse_eventbridge):
        events = parser(data, message_id)
        if events is not None:
            return events
    return None
